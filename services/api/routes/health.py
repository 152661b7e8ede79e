"""Liveness and readiness, unauthenticated and free of data."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from services.http.problems import Problem
from services.http.runtime import runtime_of

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> Any:
    """The process answers (on the event loop itself: no worker thread is needed, so it
    answers while every worker thread is busy)."""
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness")
def readyz(request: Request) -> Any:
    """The store answers and the views are not far behind the log."""
    rt = runtime_of(request)
    try:
        if rt.pipeline is not None:
            lag = max(rt.pipeline.lag()["views"].values(), default=0)
        else:
            lag = max(rt.views.lag().values(), default=0)
    except Exception as e:
        raise Problem(503, "Not ready", f"store: {type(e).__name__}") from None
    return {"status": "ready", "views_behind": lag}
