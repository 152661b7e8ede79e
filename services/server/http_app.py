"""The HTTP application: the JSON API under ``/api/v1`` and the web UI, on one runtime.

:func:`create_app` is the one place the HTTP edge is wired: routers, problem responses, the
body limit and security headers. It does no work until a request arrives.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from services.api.routes import (
    alerts,
    assessment,
    audit,
    containment,
    health,
    incidents,
    intake,
    metrics,
    notifications,
    operations,
    people,
    stats,
    users,
    webhooks,
)
from services.bootstrap import Runtime
from services.http import problems, threads
from services.http.limits import BodyLimit
from services.http.middleware import EdgeMiddleware
from services.operations.board_replays import BoardReplays
from services.server.api_docs import install_docs
from services.web.setup import install as install_web

API_PREFIX = "/api/v1"
IMPORT_ROUTES = (
    f"{API_PREFIX}/incidents/{{incident_id}}/people",
    "/incidents/{incident_id}/people",
)
"""The routes that take a people file (POST), the API's and the dashboard's: the only ones
where an importer's body may reach ``BREACH_IMPORT_MAX_BYTES``."""


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
        webhooks.router,
        alerts.router,
        stats.router,
    ]


def create_app(rt: Runtime) -> FastAPI:
    """The HTTP application over ``rt`` (its routes run commands through ``rt.gateway``)."""
    settings = rt.settings
    app = FastAPI(
        title="breachledger",
        summary="Incident and personal-data-breach response ledger",
        version="1",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = rt
    threads.install(app.state)
    app.state.board_replays = BoardReplays(settings.replay_concurrency)
    problems.install(app)
    for router in api_routers():
        app.include_router(router, prefix=API_PREFIX)
    install_docs(app, API_PREFIX)
    app.include_router(health.router)
    app.include_router(metrics.router)
    install_web(app)

    app.add_middleware(
        BodyLimit,
        anonymous=settings.http_max_anonymous_body,
        authenticated=settings.http_max_body,
        imports=settings.import_max_bytes,
        import_routes=IMPORT_ROUTES,
    )
    app.add_middleware(EdgeMiddleware)
    return app
