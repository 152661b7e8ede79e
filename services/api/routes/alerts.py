"""Who is on the hook and what they were told: incident owners, the DPO duty rota, and the
escalation alerts (listed, acknowledged)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response

from events.alerts import Alert, DutyRota
from services.access.permissions import Permission
from services.alerts.commands import ScheduleDuty
from services.http.auth import Caller, require
from services.http.requests import context, tag
from services.http.runtime import runtime_of
from services.incidents.commands import AssignOwner
from services.incidents.presentation import incident_document

router = APIRouter(tags=["alerts"])

Reader = Annotated[Caller, Depends(require(Permission.ALERT_READ))]
Acknowledger = Annotated[Caller, Depends(require(Permission.ALERT_ACK))]
Assigner = Annotated[Caller, Depends(require(Permission.OWNER_ASSIGN))]
DutyManager = Annotated[Caller, Depends(require(Permission.DUTY_MANAGE))]


def alert_document(alert: Alert) -> dict[str, Any]:
    """An alert as a JSON-ready mapping."""
    return {"id": str(alert.id), "version": alert.version, **alert.state.model_dump(mode="json")}


def rota_document(request: Request, rota: DutyRota | None = None) -> dict[str, Any]:
    """The duty rota and who is on duty now."""
    rt = runtime_of(request)
    state = rota.state if rota is not None else rt.app.alerts.rota()
    return {
        "on_duty": rt.app.alerts.on_duty(rt.app.core.clock.now()),
        "shifts": [s.model_dump(mode="json") for s in state.shifts],
    }


@router.get("/alerts", summary="List escalation alerts")
def list_alerts(
    request: Request,
    caller: Reader,
    mine: Annotated[bool, Query(description="Only alerts addressed to the caller.")] = False,
    unread: Annotated[bool, Query(description="Only the caller's unacknowledged.")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    """The alerts raised, newest first; ``mine`` or ``unread``: those addressed to the
    caller, each with the caller's ``acknowledged_at``. ``unread`` counts the caller's
    unacknowledged alerts (the dashboard's bell)."""
    rt = runtime_of(request)
    me = caller.username
    items = (
        rt.alerts.of(me, unread_only=unread, limit=limit)
        if mine or unread
        else rt.alerts.rows(limit=limit)
    )
    return {"items": items, "unread": rt.alerts.unread(me)}


@router.post("/alerts/{alert_id}/ack", summary="Acknowledge an alert")
def acknowledge(alert_id: UUID, request: Request, response: Response, caller: Acknowledger) -> Any:
    """Acknowledge an alert addressed to the caller (once; a second time is refused)."""
    rt = runtime_of(request)
    alert = rt.gateway.run(rt.app.alerts.acknowledge, alert_id, context(request, caller, alert_id))
    tag(response, alert.version)
    return alert_document(alert)


@router.put("/incidents/{incident_id}/owner", summary="Assign an incident's owner")
def assign_owner(
    incident_id: UUID, body: AssignOwner, request: Request, response: Response, caller: Assigner
) -> Any:
    """Give the incident to an owner (a user), or remove its owner with ``owner: null``."""
    rt = runtime_of(request)
    data = body.model_dump(include=body.model_fields_set)
    incident = rt.gateway.run(
        rt.app.incidents.assign_owner, incident_id, data, context(request, caller, incident_id)
    )
    tag(response, incident.version)
    return incident_document(incident)


@router.get("/duty-rota", summary="Show the DPO duty rota")
def show_rota(request: Request, caller: Reader) -> Any:
    """The shifts of the DPO duty rota and who is on duty now."""
    return rota_document(request)


@router.post("/duty-rota/shifts", summary="Put a user on the DPO duty rota", status_code=201)
def schedule(body: ScheduleDuty, request: Request, caller: DutyManager) -> Any:
    """Add a shift: a user on duty as DPO from ``starts_at`` until ``ends_at``."""
    rt = runtime_of(request)
    rota = rt.gateway.run(rt.app.alerts.schedule_duty, body, context(request, caller))
    return rota_document(request, rota)


@router.delete("/duty-rota/shifts/{shift_id}", summary="Take a shift off the DPO duty rota")
def cancel(shift_id: str, request: Request, caller: DutyManager) -> Any:
    """Remove a shift from the rota."""
    rt = runtime_of(request)
    rota = rt.gateway.run(
        rt.app.alerts.cancel_duty, {"shift_id": shift_id}, context(request, caller)
    )
    return rota_document(request, rota)
