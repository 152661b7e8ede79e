"""Mounting the web dashboard on the HTTP application."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from services.http.auth import Caller
from services.web import (
    alerts,
    assessment,
    board,
    campaigns,
    incident,
    mailbox,
    people,
    signin,
    stats,
    tasks,
    users,
    webhooks,
)
from services.web.access import WebRedirect, WebRefusal
from services.web.render import STATIC_DIR, page
from services.web.signin import PendingChanges


def routers() -> list[APIRouter]:
    """Every router of the dashboard."""
    modules = (
        signin,
        board,
        incident,
        assessment,
        tasks,
        campaigns,
        mailbox,
        users,
        people,
        alerts,
        webhooks,
        stats,
    )
    return [module.router for module in modules]


def install(app: FastAPI) -> None:
    """Add the dashboard's pages and static files to ``app`` (whose state holds the
    runtime, whose clock dates pending password changes)."""
    app.state.web_pending = PendingChanges(app.state.runtime.app.core.clock)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in routers():
        app.include_router(router)

    async def redirect(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, WebRedirect)
        return RedirectResponse(exc.location, status_code=303)

    async def refusal(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, WebRefusal)
        cached = getattr(request.state, "caller", None)
        caller = cached if isinstance(cached, Caller) else None
        return page(
            request,
            "error.html",
            caller=caller,
            status=exc.status,
            title=exc.title,
            detail=exc.detail,
        )

    app.add_exception_handler(WebRedirect, redirect)
    app.add_exception_handler(WebRefusal, refusal)
