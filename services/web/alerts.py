"""The user's escalation alerts on the dashboard: the page listing those addressed to them
and the form acknowledging one."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from services.access.permissions import Permission
from services.application.errors import ServiceError
from services.http.auth import Caller
from services.http.runtime import runtime_of
from services.web.access import (
    Posted,
    changer,
    parse_id,
    request_context,
    viewer,
)
from services.web.render import page

router = APIRouter(include_in_schema=False)


def alerts_page(
    request: Request, caller: Caller, *, error: str | None = None, status: int = 200
) -> Response:
    """The caller's alerts, newest first (with a refused acknowledgement's reason, if any)."""
    rt = runtime_of(request)
    return page(
        request,
        "alerts.html",
        caller=caller,
        status=status,
        rows=rt.alerts.of(caller.username),
        error=error,
    )


@router.get("/alerts")
def show(request: Request) -> Response:
    """The alerts addressed to the signed-in user, acknowledged or not."""
    caller = viewer(request, Permission.ALERT_READ)
    return alerts_page(request, caller)


@router.post("/alerts/{alert_id}/ack")
def acknowledge(request: Request, alert_id: str, form: Posted) -> Response:
    """Acknowledge an alert addressed to the caller, then back to the alerts page."""
    caller = changer(request, form, Permission.ALERT_ACK)
    target = parse_id(alert_id, "alert")
    rt = runtime_of(request)
    try:
        rt.gateway.run(rt.app.alerts.acknowledge, target, request_context(request, caller, target))
    except ServiceError as e:
        return alerts_page(request, caller, error=f"{e.field}: {e.reason}", status=e.http_status)
    return RedirectResponse(f"/alerts?ok=acknowledged#alert-{target}", status_code=303)
