"""Recording an impact assessment (or evaluating it without recording: a what-if) and the
DPO's decisions on obligations, from the incident page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.datastructures import FormData

from events.incident import Incident
from services.access.permissions import Permission
from services.application.errors import ServiceError
from services.bootstrap import Runtime
from services.http.runtime import runtime_of
from services.timefmt import parse_time
from services.web.access import Posted, changer, parse_id, text
from services.web.facts import facts_data, posted_values
from services.web.incident import change_incident, failure_of, incident_page, load_incident

router = APIRouter(include_in_schema=False)


def assess_data(rt: Runtime, form: FormData, incident: Incident) -> dict[str, Any]:
    """The facts of the assessment form."""
    return facts_data(posted_values(form), rt.settings.zone, rt.app.core.clock.now())


def decide_data(rt: Runtime, form: FormData, incident: Incident) -> dict[str, Any]:
    """A decision on one obligation (a time and reference only for 'notified')."""
    data: dict[str, Any] = {
        "obligation": text(form, "obligation"),
        "decision": text(form, "decision"),
        "reason": text(form, "reason"),
    }
    notified = text(form, "notified_at").strip()
    if notified:
        data["notified_at"] = parse_time(
            "notified_at", notified, rt.settings.zone, now=rt.app.core.clock.now()
        )
    reference = text(form, "reference").strip()
    if reference:
        data["reference"] = reference
    return data


@router.post("/incidents/{incident_id}/assess")
def assess(request: Request, incident_id: str, form: Posted) -> Response:
    """Record the impact assessment; with ``action=what_if``, evaluate it and show the
    result without recording anything."""
    if text(form, "action") == "what_if":
        return what_if(request, incident_id, form)
    return change_incident(
        request,
        form,
        incident_id,
        name="assess",
        build=assess_data,
        command=lambda a, i, d, c: a.assessment.assess_impact(i, d, c),
        ok="assessed",
        permission=Permission.ASSESS,
        anchor="#assessment",
        refill=posted_values,
    )


def what_if(request: Request, incident_id: str, form: FormData) -> Response:
    """Evaluate the form's facts on the incident's moments; nothing is recorded."""
    caller = changer(request, form, Permission.ASSESS)
    target = parse_id(incident_id)
    rt = runtime_of(request)
    values = posted_values(form)
    load_incident(rt, target)
    try:
        result = rt.app.assessment.what_if(
            facts_data(values, rt.settings.zone, rt.app.core.clock.now()), incident_id=target
        )
    except ServiceError as e:
        return incident_page(request, caller, target, failure=failure_of("what_if", e, values))
    return incident_page(request, caller, target, extra={"what_if": result, "facts": values})


@router.post("/incidents/{incident_id}/decide")
def decide(request: Request, incident_id: str, form: Posted) -> Response:
    """Record the DPO's decision on an obligation."""
    return change_incident(
        request,
        form,
        incident_id,
        name="decide",
        build=decide_data,
        command=lambda a, i, d, c: a.assessment.decide_obligation(i, d, c),
        ok="decided",
        permission=Permission.DECIDE,
        anchor="#obligations",
    )
