"""Assessment: record an impact assessment, read it with its working, evaluate what-ifs
without recording, decide on obligations, and list obligations by urgency."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, ValidationError

from events.assessment import DecisionKind
from events.incident import Incident
from services.access.permissions import Permission
from services.application.errors import InvalidInput, NotFound
from services.assessment.commands import FACT_TIMES, AssessImpact, WhatIfMoments
from services.assessment.headline import headline
from services.assessment.obligations_view import urgency_key
from services.http.auth import Caller, require
from services.http.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor
from services.http.requests import context, tag
from services.http.runtime import runtime_of
from services.projections.schema import Row
from services.timefmt import normalise_moments, parse_time, read_times

router = APIRouter(tags=["assessment"])

Assessor = Annotated[Caller, Depends(require(Permission.ASSESS))]
Decider = Annotated[Caller, Depends(require(Permission.DECIDE))]
AssessmentReader = Annotated[Caller, Depends(require(Permission.ASSESSMENT_READ))]
ObligationsReader = Annotated[Caller, Depends(require(Permission.OBLIGATIONS_READ))]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]

ObligationStatus = Literal[
    "open", "to_notify", "notified", "notified_late", "not_notifying", "exempt", "not_triggered"
]
UrgencyState = Literal["overdue", "due_soon", "on_track", "waiting", "no_deadline", "done", "n/a"]

FactsBody = Annotated[
    dict[str, Any],
    Body(
        description="The assessment facts (the same fields as a `breach assess --file` "
        "document). Times without an offset are read in the configured time zone.",
    ),
]


class WhatIfBody(BaseModel):
    """Facts to evaluate without recording, on an incident's moments or on given ones."""

    model_config = ConfigDict(extra="forbid")

    facts: dict[str, Any]
    incident_id: UUID | None = None
    moments: dict[str, Any] | None = None


class DecisionBody(BaseModel):
    """The DPO's decision on one obligation; ``notified_at`` and ``reference`` go with
    ``notified`` only."""

    model_config = ConfigDict(extra="forbid")

    decision: DecisionKind
    reason: str
    notified_at: str | None = None
    reference: str | None = None


def _facts(data: dict[str, Any], zone: tzinfo, now: datetime, prefix: str = "") -> AssessImpact:
    """Validate assessment facts, reading a time without an offset in ``zone``; errors name
    the field under ``prefix``."""
    data = read_times(data, FACT_TIMES, zone, now=now, prefix=prefix)
    try:
        return AssessImpact.model_validate(data)
    except ValidationError as e:
        raise InvalidInput.from_validation(e, prefix, whole="body") from None


def _moments(data: dict[str, Any], zone: tzinfo, now: datetime) -> WhatIfMoments:
    """Validate what-if moments (ISO 8601 or ``now``); errors name ``moments.<field>``."""
    parsed = normalise_moments(data, zone, now, allow_clear=False, prefix="moments.")
    try:
        return WhatIfMoments.model_validate(parsed)
    except ValidationError as e:
        raise InvalidInput.from_validation(e, "moments.") from None


def assessment_document(incident: Incident, zone: tzinfo) -> dict[str, Any]:
    """The incident's current assessment: facts, the headline (what must be done, from the
    duties due; times in ``zone``), severity with its working (its ``recommendation`` is the
    band's), the evaluated obligations and the decisions on them (404 when it has not been
    assessed)."""
    state = incident.state
    record = state.assessment
    if record is None or state.evaluation is None:
        raise NotFound("assessment", "the incident has not been assessed")
    return {
        "incident_id": str(incident.id),
        "version": incident.version,
        "assessments": state.assessments,
        "assessment_digest": record.digest,
        "assessed_by": record.actor,
        "assessed_at": record.at.isoformat(),
        "moments": state.moments.model_dump(mode="json"),
        "facts": record.facts.model_dump(mode="json"),
        "headline": headline(record.facts, record.severity, state.evaluation, zone),
        "severity": record.severity.model_dump(mode="json"),
        "evaluation": state.evaluation.model_dump(mode="json"),
        "decisions": {k: d.model_dump(mode="json") for k, d in state.decisions.items()},
    }


@router.post("/incidents/{incident_id}/assessment", summary="Record an impact assessment")
def assess(
    incident_id: UUID, facts: FactsBody, request: Request, response: Response, caller: Assessor
) -> Any:
    """Record an impact assessment; its severity (with the working) and every obligation
    follow in the same change. ``If-Match`` names the incident version it is based on."""
    rt = runtime_of(request)
    if "moments" in facts:
        raise InvalidInput("moments", "legal moments are corrected with PATCH /incidents/{id}")
    validated = _facts(facts, rt.settings.zone, rt.app.core.clock.now())
    incident = rt.gateway.run(
        rt.app.assessment.assess_impact,
        incident_id,
        validated,
        context(request, caller, incident_id),
    )
    tag(response, incident.version)
    return assessment_document(incident, rt.settings.zone)


@router.get("/incidents/{incident_id}/assessment", summary="An incident's assessment")
def show_assessment(
    incident_id: UUID, request: Request, response: Response, caller: AssessmentReader
) -> Any:
    """The current assessment with its working and obligations; ETag is the incident's
    version."""
    rt = runtime_of(request)
    incident = rt.app.incidents.get_incident(incident_id)
    document = assessment_document(incident, rt.settings.zone)
    tag(response, incident.version)
    return document


@router.post("/what-if", summary="Evaluate an assessment without recording it")
def what_if(body: WhatIfBody, request: Request, caller: Assessor) -> Any:
    """Severity and obligations for the facts, recording nothing: on the moments of
    ``incident_id``, or on ``moments`` (discovery defaults to now)."""
    rt = runtime_of(request)
    zone, now = rt.settings.zone, rt.app.core.clock.now()
    facts = _facts(body.facts, zone, now, "facts.")
    if body.incident_id is not None and body.moments is not None:
        raise InvalidInput("moments", "give moments or incident_id, not both")
    moments = _moments(body.moments or {}, zone, now) if body.incident_id is None else None
    try:
        result = rt.app.assessment.what_if(facts, incident_id=body.incident_id, moments=moments)
    except NotFound as e:
        raise NotFound("incident_id", e.reason) from None
    return {
        "recorded": False,
        "incident_id": str(body.incident_id) if body.incident_id else None,
        "moments": result.moments.model_dump(mode="json"),
        "headline": headline(result.facts, result.severity, result.evaluation, zone),
        "severity": result.severity.model_dump(mode="json"),
        "evaluation": result.evaluation.model_dump(mode="json"),
    }


def _decided(incident: Incident, given: str) -> str:
    """The obligation id a decision on ``given`` (whole id or unique prefix) was recorded
    under."""
    if given in incident.state.decisions:
        return given
    matches = [d for d in incident.state.decisions if d.startswith(given)]
    return max(matches, key=lambda d: incident.state.decisions[d].at) if matches else given


@router.post(
    "/incidents/{incident_id}/obligations/{obligation_id:path}/decision",
    summary="Decide on an obligation",
)
def decide(
    incident_id: UUID,
    obligation_id: str,
    body: DecisionBody,
    request: Request,
    response: Response,
    caller: Decider,
) -> Any:
    """Record the decision on an obligation (notify, do_not_notify, or notified at a time
    with a reference), pinned to the current log position and assessment. ``If-Match``
    names the incident version it is based on."""
    rt = runtime_of(request)
    data: dict[str, Any] = {
        "obligation": obligation_id,
        "decision": body.decision.value,
        "reason": body.reason,
    }
    if body.notified_at is not None:
        data["notified_at"] = parse_time(
            "notified_at", body.notified_at, rt.settings.zone, now=rt.app.core.clock.now()
        )
    if body.reference is not None:
        data["reference"] = body.reference
    incident = rt.gateway.run(
        rt.app.assessment.decide_obligation,
        incident_id,
        data,
        context(request, caller, incident_id),
    )
    tag(response, incident.version)
    resolved = _decided(incident, obligation_id)
    decision = incident.state.decisions[resolved]
    evaluation = incident.state.evaluation
    obligation = evaluation.find(resolved) if evaluation is not None else None
    return {
        "incident_id": str(incident.id),
        "version": incident.version,
        "obligation_id": resolved,
        "decision": decision.model_dump(mode="json"),
        "obligation": obligation.model_dump(mode="json") if obligation is not None else None,
    }


def _item(row: Row) -> dict[str, Any]:
    return {
        **row,
        "triggered": bool(row["triggered"]),
        "jurisdictions": [j for j in row["jurisdictions"].split(",") if j],
    }


def _obligations_page(request: Request, limit: int, cursor: str | None, **filters: Any) -> Page:
    rt = runtime_of(request)
    after = decode_cursor(cursor, int, str, int, str, str)
    rows = rt.obligations.page(rt.app.core.clock.now(), after=after, limit=limit + 1, **filters)
    shown = rows[:limit]
    more = len(rows) > limit and shown
    return Page(
        items=[_item(r) for r in shown],
        next_cursor=encode_cursor(urgency_key(shown[-1])) if more else None,
    )


@router.get("/obligations", summary="Obligations by urgency", response_model=Page)
def obligations(
    request: Request,
    caller: ObligationsReader,
    incident: UUID | None = None,
    include_all: Annotated[bool, Query(alias="all")] = False,
    status: ObligationStatus | None = None,
    urgency: UrgencyState | None = None,
    regime: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page:
    """Obligations across incidents, most pressing first: overdue, due soon, on track (by
    deadline), then waiting for their clock, without a deadline, decided, and not triggered
    or exempt. Only open ones unless ``all=true``, a ``status`` or an ``urgency`` is given;
    ``urgency`` is worked out against the clock at the time of the request."""
    return _obligations_page(
        request,
        limit,
        cursor,
        incident_id=str(incident) if incident else None,
        open_only=not include_all and status is None and urgency is None,
        status=status,
        regime=regime,
        urgency_state=urgency,
    )


@router.get(
    "/incidents/{incident_id}/obligations",
    summary="An incident's obligations",
    response_model=Page,
)
def incident_obligations(
    incident_id: UUID,
    request: Request,
    caller: ObligationsReader,
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page:
    """Every obligation of one incident by urgency, decided and untriggered ones included."""
    runtime_of(request).app.incidents.get_incident(incident_id)
    return _obligations_page(request, limit, cursor, incident_id=str(incident_id))
