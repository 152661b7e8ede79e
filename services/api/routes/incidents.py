"""Incidents: report, list (the board), read, timeline, amend, triage, note, close, reopen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from events.incident import Incident
from events.values import IncidentStatus, IncidentType, Severity
from services.access.permissions import Permission, own_incidents_only
from services.application.context import RequestContext
from services.http.auth import Caller, require
from services.http.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, paged
from services.http.problems import Problem
from services.http.requests import context, tag
from services.http.runtime import runtime_of
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
def report(body: ReportBody, request: Request, response: Response, caller: Reporter) -> Any:
    """Report a new incident; answers its document and ``Location``."""
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


Command = Callable[[BreachLedger, UUID, dict[str, Any], RequestContext], Incident]


def _change(
    request: Request,
    response: Response,
    caller: Caller,
    incident_id: UUID,
    data: dict[str, Any],
    command: Command,
) -> Any:
    rt = runtime_of(request)
    incident = rt.gateway.run(
        command, rt.app, incident_id, data, context(request, caller, incident_id)
    )
    return document(response, incident)


@router.patch("/{incident_id}", summary="Correct facts of a report")
def amend(
    incident_id: UUID, body: AmendFacts, request: Request, response: Response, caller: Changer
) -> Any:
    """Correct facts; only the fields given change (a moment given as null is cleared)."""
    data = body.model_dump(include=body.model_fields_set, mode="json")
    return _change(
        request,
        response,
        caller,
        incident_id,
        data,
        lambda a, i, d, c: a.incidents.amend_facts(i, d, c),
    )


@router.post("/{incident_id}/triage", summary="Triage an incident")
def triage(
    incident_id: UUID, body: TriageIncident, request: Request, response: Response, caller: Changer
) -> Any:
    """Record severity, breach determination and type."""
    return _change(
        request,
        response,
        caller,
        incident_id,
        body.model_dump(exclude_none=True),
        lambda a, i, d, c: a.incidents.triage_incident(i, d, c),
    )


@router.post("/{incident_id}/notes", summary="Add a note")
def note(
    incident_id: UUID, body: AddNote, request: Request, response: Response, caller: Changer
) -> Any:
    """Add a note to the incident's record."""
    return _change(
        request,
        response,
        caller,
        incident_id,
        body.model_dump(),
        lambda a, i, d, c: a.incidents.add_note(i, d, c),
    )


@router.post("/{incident_id}/close", summary="Close an incident")
def close(
    incident_id: UUID, body: CloseIncident, request: Request, response: Response, caller: Changer
) -> Any:
    """Close the incident with its resolution."""
    return _change(
        request,
        response,
        caller,
        incident_id,
        body.model_dump(),
        lambda a, i, d, c: a.incidents.close_incident(i, d, c),
    )


@router.post("/{incident_id}/reopen", summary="Reopen an incident")
def reopen(
    incident_id: UUID, body: ReopenIncident, request: Request, response: Response, caller: Changer
) -> Any:
    """Reopen a closed incident."""
    return _change(
        request,
        response,
        caller,
        incident_id,
        body.model_dump(),
        lambda a, i, d, c: a.incidents.reopen_incident(i, d, c),
    )
