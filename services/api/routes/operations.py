"""Operations: where each view (read model) stands in the log, rebuilding every view from
the whole log, and checking that a rebuild would equal the live views."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from services.access.permissions import Permission
from services.http.auth import Caller, require
from services.http.runtime import runtime_of
from services.operations.audit import check_views

router = APIRouter(prefix="/views", tags=["operations"])

Operator = Annotated[Caller, Depends(require(Permission.OPERATIONS))]


@router.get("", summary="Views and how far behind the log each is")
def status(request: Request, caller: Operator) -> Any:
    """Each view's position in the log, the head of the log, and how far behind it is."""
    rt = runtime_of(request)
    head = rt.feed.head()
    items = [
        {"view": name, "position": head - lag, "head": head, "behind": lag}
        for name, lag in sorted(rt.views.lag().items())
    ]
    return {"head": head, "items": items}


@router.post("/rebuild", summary="Rebuild every view from the log")
def rebuild(request: Request, caller: Operator) -> Any:
    """Drop every view and build it again from the whole log; answers how many views, the
    events in the log, and the events applied (summed over the views). Nothing is appended
    to the log."""
    rt = runtime_of(request)
    head = rt.feed.head()
    applied = rt.views.rebuild()
    return {"views": len(rt.views.workers), "events": head, "applied": applied}


@router.get("/check", summary="Check the views against a rebuild")
def check(request: Request, caller: Operator) -> Any:
    """Rebuild every view in a scratch store and compare it with the live one, changing
    nothing; ``differences`` names each table that differs, with the rows missing from and
    extra in the live view."""
    differences = check_views(runtime_of(request))
    return {"equal": not differences, "differences": differences}
