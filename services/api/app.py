"""The HTTP application: the JSON API under ``/api/v1`` and the web UI, on one runtime.

:func:`create_app` is the one place the HTTP edge is wired: routers, problem responses, the
body limit and security headers. It does no work until a request arrives.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable

import structlog
from fastapi import APIRouter, FastAPI, Request, Response

from services.api import problems
from services.api.limits import BodyLimit
from services.api.routes import (
    assessment,
    audit,
    containment,
    health,
    incidents,
    intake,
    notifications,
    operations,
    people,
    users,
)
from services.bootstrap import Runtime
from services.web.setup import install as install_web

API_PREFIX = "/api/v1"
log = structlog.get_logger()

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "Cache-Control": "no-store",
}


def api_routers() -> list[APIRouter]:
    """Every API router, mounted under :data:`API_PREFIX`."""
    return [
        incidents.router,
        assessment.router,
        containment.router,
        people.router,
        notifications.router,
        audit.router,
        intake.router,
        users.router,
        operations.router,
    ]


def locked_settle(rt: Runtime) -> Callable[[], None]:
    """``rt.settle`` run by one request thread at a time."""
    lock = threading.Lock()

    def settle() -> None:
        with lock:
            rt.settle()

    return settle


def create_app(rt: Runtime, *, settle: Callable[[], None] | None = None) -> FastAPI:
    """The HTTP application over ``rt``. ``settle`` brings views up to date after a change
    (default: run policies, views and the audit chain in the request's thread)."""
    settings = rt.settings
    app = FastAPI(
        title="breachledger",
        summary="Incident and personal-data-breach response ledger",
        version="1",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.runtime = rt
    app.state.settle = settle or locked_settle(rt)
    problems.install(app)
    for router in api_routers():
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(health.router)
    install_web(app)

    @app.middleware("http")
    async def headers_and_log(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        route = request.scope.get("route")
        log.info(
            "http.request",
            method=request.method,
            route=getattr(route, "path", "unmatched"),
            status=response.status_code,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return response

    app.add_middleware(
        BodyLimit,
        default=settings.http_max_body,
        overrides={"/people": settings.import_max_bytes},
    )
    return app
