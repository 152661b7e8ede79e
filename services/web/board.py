"""The incident board, reporting an incident, the demo, and obligations across incidents."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from events.values import IncidentStatus, IncidentType, Severity, SourceChannel
from services.access.permissions import Permission, own_incidents_only
from services.application.errors import InvalidInput, ServiceError
from services.bootstrap import Runtime
from services.demo import run_demo
from services.http.auth import Caller
from services.http.pagination import decode_cursor, paged
from services.http.problems import Problem
from services.http.runtime import runtime_of
from services.incidents.presentation import contained
from services.timefmt import parse_time
from services.web.access import (
    Posted,
    WebRedirect,
    WebRefusal,
    changer,
    forbidden,
    request_context,
    signed_in,
    text,
    viewer,
)
from services.web.render import as_moment, left_text, page, urgency_class

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
MOMENTS = ("occurred_at", "discovered_at", "aware_at", "determined_at")


def _choice(value: str | None, allowed: type[Any]) -> str | None:
    if not value:
        return None
    try:
        return str(allowed(value).value)
    except ValueError:
        return None


def countdown(deadline: datetime | str | None, now: datetime, due_soon: float) -> dict[str, Any]:
    """What a countdown shows initially: text, class and the deadline for the script."""
    moment = as_moment(deadline)
    if moment is None:
        return {"deadline": None, "text": "", "cls": ""}
    left = (moment - now).total_seconds()
    return {"deadline": moment, "text": left_text(left), "cls": urgency_class(left, due_soon)}


@router.get("/")
def board(
    request: Request,
    status: str | None = None,
    severity: str | None = None,
    incident_type: Annotated[str | None, Query(alias="type")] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """The incident board: newest first, containment progress and the next deadline."""
    caller = signed_in(request)
    if not (caller.may(Permission.INCIDENT_READ) or caller.may(Permission.INCIDENT_READ_OWN)):
        if caller.may(Permission.USERS_ADMIN):
            raise WebRedirect("/users")
        raise forbidden(caller, (Permission.INCIDENT_READ, Permission.INCIDENT_READ_OWN))
    rt = runtime_of(request)
    filters = {
        "status": _choice(status, IncidentStatus),
        "severity": _choice(severity, Severity),
        "type": _choice(incident_type, IncidentType),
    }
    error = None
    try:
        after = decode_cursor(cursor, str, str) if cursor else None
    except Problem:
        after, error = None, "cursor: not a page this board gave; showing the newest"
    own = own_incidents_only(caller.permissions, caller.username)
    fetched = rt.board.page(
        after=(str(after[0]), str(after[1])) if after else None,
        limit=PAGE_SIZE + 1,
        status=filters["status"],
        severity=filters["severity"],
        incident_type=filters["type"],
        reported_by=own,
    )
    result = paged(fetched, PAGE_SIZE, ["reported_at", "incident_id"])
    now = rt.app.core.clock.now()
    due_soon = rt.settings.due_soon_hours * 3600
    rows = [
        {**r, "contained": contained(r), "clock": countdown(r["next_deadline"], now, due_soon)}
        for r in result.items
    ]
    empty = not rows and after is None and rt.board.count() == 0
    return page(
        request,
        "board.html",
        caller=caller,
        rows=rows,
        filters=filters,
        next_cursor=result.next_cursor,
        paging=cursor is not None,
        own_only=own is not None,
        offer_demo=empty and caller.may(Permission.DEMO),
        empty=empty,
        statuses=list(IncidentStatus),
        severities=list(Severity),
        types=list(IncidentType),
        error=error,
    )


@router.post("/demo")
def demo(request: Request, form: Posted) -> Response:
    """Record the demo incident on an empty ledger."""
    changer(request, form, Permission.DEMO)
    rt = runtime_of(request)
    if rt.board.count() > 0:
        raise WebRefusal(409, "Refused", "The ledger already holds incidents; no demo added.")
    incident = rt.gateway.run(run_demo, rt.app)
    return RedirectResponse(f"/incidents/{incident.id}?ok=demo", status_code=303)


def _report_page(
    request: Request,
    caller: Caller,
    values: dict[str, str],
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    return page(
        request,
        "new_incident.html",
        caller=caller,
        status=status,
        values=values,
        error=error,
        sources=list(SourceChannel),
        types=list(IncidentType),
    )


@router.get("/incidents/new")
def report_form(request: Request) -> Response:
    """The form to report an incident (discovery defaults to now)."""
    caller = viewer(request, Permission.INCIDENT_REPORT)
    rt = runtime_of(request)
    now = rt.app.core.clock.now().astimezone(rt.settings.zone).strftime("%Y-%m-%dT%H:%M")
    values = {
        "title": "",
        "description": "",
        "reporter": "",
        "source": SourceChannel.EMPLOYEE.value,
        "incident_type": IncidentType.OTHER.value,
        "occurred_at": "",
        "discovered_at": now,
        "aware_at": "",
        "determined_at": "",
    }
    return _report_page(request, caller, values)


def report_data(rt: Runtime, form: FormData, caller: Caller) -> dict[str, Any]:
    """The report command's input from the form (moments read in the configured zone)."""
    zone, now = rt.settings.zone, rt.app.core.clock.now()
    data: dict[str, Any] = {
        "title": text(form, "title"),
        "description": text(form, "description"),
        "reporter": text(form, "reporter").strip() or caller.username,
        "source": text(form, "source") or SourceChannel.EMPLOYEE.value,
        "incident_type": text(form, "incident_type") or IncidentType.OTHER.value,
    }
    for name in MOMENTS:
        raw = text(form, name).strip()
        if raw:
            data[name] = parse_time(name, raw, zone, now=now)
    if "discovered_at" not in data:
        raise InvalidInput("discovered_at", "is required")
    return data


@router.post("/incidents/new")
def report(request: Request, form: Posted) -> Response:
    """Report an incident, then show it."""
    caller = changer(request, form, Permission.INCIDENT_REPORT)
    rt = runtime_of(request)
    fields = ("title", "description", "reporter", "source", "incident_type", *MOMENTS)
    values = {name: text(form, name) for name in fields}
    try:
        incident = rt.gateway.run(
            rt.app.incidents.report_incident,
            report_data(rt, form, caller),
            request_context(request, caller),
        )
    except ServiceError as e:
        return _report_page(
            request, caller, values, error=f"{e.field}: {e.reason}", status=e.http_status
        )
    return RedirectResponse(f"/incidents/{incident.id}?ok=reported", status_code=303)


@router.get("/obligations")
def obligations(
    request: Request, show_all: Annotated[bool, Query(alias="all")] = False
) -> Response:
    """Obligations across incidents, most urgent first, with countdowns."""
    caller = viewer(request, Permission.OBLIGATIONS_READ)
    rt = runtime_of(request)
    now = rt.app.core.clock.now()
    due_soon = rt.settings.due_soon_hours * 3600
    rows = [
        {**r, "clock": countdown(r["deadline"], now, due_soon)}
        for r in rt.obligations.by_urgency(now, open_only=not show_all)
    ]
    return page(request, "obligations.html", caller=caller, rows=rows, show_all=show_all)
