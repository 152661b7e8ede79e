"""Incidents: report, list (the board), read, timeline, amend, triage, note, close, reopen."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from events.incident import Incident
from events.values import IncidentStatus, IncidentType, Severity
from services.access.permissions import Permission, own_incidents_only
from services.application.context import RequestContext
from services.http.auth import Caller, require
from services.http.commands import CommandRoutes
from services.http.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, paged
from services.http.problems import Problem
from services.http.requests import context, tag
from services.http.runtime import runtime_of
from services.http.threads import in_thread
from services.incidents.commands import (
    AddNote,
    AmendFacts,
    CloseIncident,
    ReopenIncident,
    ReportIncident,
    TriageIncident,
)
from services.incidents.presentation import incident_document
from services.ledger import BreachLedger
from services.timeline import timeline

router = APIRouter(prefix="/incidents", tags=["incidents"])

Reporter = Annotated[Caller, Depends(require(Permission.INCIDENT_REPORT))]
Reader = Annotated[Caller, Depends(require(Permission.INCIDENT_READ, Permission.INCIDENT_READ_OWN))]
Changer = Annotated[Caller, Depends(require(Permission.INCIDENT_CHANGE))]


class ReportBody(BaseModel):
    """A new incident; ``reporter`` defaults to the caller."""

    model_config = ReportIncident.model_config

    title: str
    description: str = ""
    reporter: str | None = None
    source: str | None = None
    incident_type: str | None = None
    occurred_at: str | None = None
    discovered_at: str
    aware_at: str | None = None
    determined_at: str | None = None


def readable(request: Request, caller: Caller, incident_id: UUID) -> None:
    """Refuse a caller who may read only their own incidents another's (403)."""
    own = own_incidents_only(caller.permissions, caller.username)
    if own is not None and runtime_of(request).board.reporter_of(incident_id) != own:
        raise Problem(
            403,
            "Forbidden",
            f"role: {caller.username} may read only the incidents they reported",
            field="role",
        )


def document(response: Response, incident: Incident) -> dict[str, Any]:
    """The incident's document, with its version as the ETag."""
    tag(response, incident.version)
    return incident_document(incident)


@router.post("", status_code=201, summary="Report an incident")
async def report(body: ReportBody, request: Request, response: Response, caller: Reporter) -> Any:
    """Report a new incident; answers its document and ``Location``."""
    return await in_thread(request.scope, _report, body, request, response, caller)


def _report(body: ReportBody, request: Request, response: Response, caller: Caller) -> Any:
    rt = runtime_of(request)
    data = body.model_dump(exclude_none=True)
    data.setdefault("reporter", caller.username)
    incident = rt.gateway.run(rt.app.incidents.report_incident, data, context(request, caller))
    response.headers["Location"] = f"{request.url.path.rstrip('/')}/{incident.id}"
    return document(response, incident)


@router.get("", summary="The incident board", response_model=Page)
def board(
    request: Request,
    caller: Reader,
    status: IncidentStatus | None = None,
    severity: Annotated[
        Severity | None,
        Query(description="The severity shown: the assessed band once assessed, else triage."),
    ] = None,
    incident_type: Annotated[IncidentType | None, Query(alias="type")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Response:
    """Incidents, newest report first, with containment progress and the next open
    regulatory deadline; ``severity`` is the one shown (the assessed band once assessed,
    else the triage estimate), ``severity_source`` says which, ``initial_severity`` is the
    triage estimate. A caller who may read only their own sees only those."""
    rt = runtime_of(request)
    after = decode_cursor(cursor, str, str)
    rows = rt.board.page(
        after=(str(after[0]), str(after[1])) if after else None,
        limit=limit + 1,
        status=status.value if status else None,
        severity=severity.value if severity else None,
        incident_type=incident_type.value if incident_type else None,
        reported_by=own_incidents_only(caller.permissions, caller.username),
    )
    return paged(rows, limit, ["reported_at", "incident_id"]).response()


@router.get("/{incident_id}", summary="An incident")
def show(incident_id: UUID, request: Request, response: Response, caller: Reader) -> Any:
    """The incident as it is now, from the log; ETag is its version."""
    readable(request, caller, incident_id)
    return document(response, runtime_of(request).app.incidents.get_incident(incident_id))


@router.get("/{incident_id}/timeline", summary="An incident's timeline")
def show_timeline(incident_id: UUID, request: Request, caller: Reader) -> Any:
    """Every event of the incident in words, oldest first."""
    readable(request, caller, incident_id)
    rt = runtime_of(request)
    entries = timeline(rt.app.containment.timeline_events(incident_id), rt.settings.zone)
    return {
        "incident_id": str(incident_id),
        "entries": [e.model_dump(mode="json") for e in entries],
    }


change = CommandRoutes(router, "incident_id", lambda q, r, incident: document(r, incident))


@change("PATCH", "/{incident_id}", "Correct facts of a report", Changer, AmendFacts)
def amend(a: BreachLedger, i: UUID, body: AmendFacts, c: RequestContext) -> Incident:
    """Correct facts; only the fields given change (a moment given as null is cleared)."""
    return a.incidents.amend_facts(
        i, body.model_dump(include=body.model_fields_set, mode="json"), c
    )


@change("POST", "/{incident_id}/triage", "Triage an incident", Changer, TriageIncident)
def triage(a: BreachLedger, i: UUID, body: TriageIncident, c: RequestContext) -> Incident:
    """Record severity, breach determination and type."""
    return a.incidents.triage_incident(i, body.model_dump(exclude_none=True), c)


@change("POST", "/{incident_id}/notes", "Add a note", Changer, AddNote)
def note(a: BreachLedger, i: UUID, body: AddNote, c: RequestContext) -> Incident:
    """Add a note to the incident's record."""
    return a.incidents.add_note(i, body.model_dump(), c)


@change("POST", "/{incident_id}/close", "Close an incident", Changer, CloseIncident)
def close(a: BreachLedger, i: UUID, body: CloseIncident, c: RequestContext) -> Incident:
    """Close the incident with its resolution."""
    return a.incidents.close_incident(i, body.model_dump(), c)


@change("POST", "/{incident_id}/reopen", "Reopen an incident", Changer, ReopenIncident)
def reopen(a: BreachLedger, i: UUID, body: ReopenIncident, c: RequestContext) -> Incident:
    """Reopen a closed incident."""
    return a.incidents.reopen_incident(i, body.model_dump(), c)
