"""The incident page (facts, timeline, assessment, obligations, tasks, campaigns), its
as-of replay, and the forms that change the incident itself: amend, triage, note, close,
reopen."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from markupsafe import Markup
from starlette.datastructures import FormData

from events.assessment import Obligation
from events.incident import Incident, IncidentNoteAdded
from events.values import BreachDetermination, IncidentType, Severity
from services.access.permissions import Permission
from services.application.context import RequestContext
from services.application.errors import (
    InvalidInput,
    NotFound,
    PreconditionFailed,
    ServiceError,
)
from services.audit.replay import IncidentReplay, current_incident, replay_incident
from services.audit.time_axis import build_axis, render_axis
from services.bootstrap import Runtime
from services.http.auth import Caller
from services.http.runtime import runtime_of
from services.ledger import BreachLedger
from services.timefmt import parse_time, show_time
from services.timeline import TimelineMark, timeline
from services.web.access import (
    Posted,
    WebRefusal,
    changer,
    forbidden,
    parse_id,
    request_context,
    text,
    version_of,
    viewer,
)
from services.web.board import MOMENTS, countdown
from services.web.facts import FACT_HELP, FACT_OPTIONS, facts_values
from services.web.render import local_input, page

router = APIRouter(include_in_schema=False)

STALE = (
    "This was changed by someone else since you loaded this page. The page now shows the "
    "current state; check it and submit again."
)


@dataclass(frozen=True)
class Failure:
    """A form that was refused: which one, what was typed (to refill it), and why."""

    form: str
    message: str
    status: int
    values: dict[str, Any] = field(default_factory=dict)


def failure_of(form_name: str, error: ServiceError, values: dict[str, Any]) -> Failure:
    """The failure a refused command leaves on the page (412: changed by someone else)."""
    if isinstance(error, PreconditionFailed):
        return Failure(form_name, STALE, 412, values)
    return Failure(form_name, f"{error.field}: {error.reason}", error.http_status, values)


def submitted(form: FormData) -> dict[str, Any]:
    """What a form carried, to refill it (never the CSRF token)."""
    return {k: v for k, v in form.items() if k != "csrf" and isinstance(v, str)}


def readable(rt: Runtime, caller: Caller, incident_id: UUID) -> None:
    """Refuse a caller who may read only their own incidents another's (403)."""
    if caller.may(Permission.INCIDENT_READ):
        return
    if caller.may(Permission.INCIDENT_READ_OWN):
        if rt.board.reporter_of(incident_id) == caller.username:
            return
        raise WebRefusal(
            403, "Not allowed", f"{caller.username} may read only the incidents they reported."
        )
    raise forbidden(caller, (Permission.INCIDENT_READ, Permission.INCIDENT_READ_OWN))


def load_incident(rt: Runtime, incident_id: UUID) -> Incident:
    """The incident now, or a 404 page."""
    try:
        return rt.app.incidents.get_incident(incident_id)
    except NotFound:
        raise WebRefusal(404, "Not found", "There is no such incident.") from None


def _obligation_rows(
    rt: Runtime, incident: Incident, now: Any, due_soon: float
) -> list[dict[str, Any]]:
    evaluation = incident.state.evaluation
    found: dict[str, Obligation] = (
        {o.id: o for o in evaluation.obligations} if evaluation is not None else {}
    )
    rows = []
    for r in rt.obligations.by_urgency(now, incident_id=str(incident.id)):
        if not r["triggered"] or r["exemption"] is not None:
            continue
        rows.append(
            {
                **r,
                "clock": countdown(r["deadline"], now, due_soon),
                "detail": found.get(r["obligation_id"]),
            }
        )
    return rows


def _task_rows(rt: Runtime, incident_id: UUID, now: Any, due_soon: float) -> list[dict[str, Any]]:
    rows = []
    for r in rt.tasks.rows(now, incident_id=incident_id):
        finished = r["status"] in ("done", "cancelled")
        rows.append(
            {
                **r,
                "evidence_list": json.loads(r["evidence"] or "[]"),
                "clock": countdown(None if finished else r["due_at"], now, due_soon),
                "finished": finished,
            }
        )
    return rows


def campaign_rows(rt: Runtime, incident_id: UUID, now: Any) -> list[dict[str, Any]]:
    """The incident's campaigns with their progress."""
    return rt.notifications.with_progress(rt.notifications.campaigns(incident_id), now)


def axis_of(
    rt: Runtime,
    caller: Caller,
    replay: IncidentReplay,
    marks: Sequence[TimelineMark],
    *,
    replayed: bool,
) -> Markup:
    """The incident on a time axis as ``replay`` shows it, drawn with what ``caller`` may
    read (obligations, tasks, campaigns)."""
    axis = build_axis(
        replay,
        marks,
        rt.settings.zone,
        replayed=replayed,
        obligations=caller.may(Permission.OBLIGATIONS_READ),
        tasks=caller.may(Permission.TASK_READ),
        campaigns=caller.may(Permission.CAMPAIGN_READ),
    )
    return render_axis(rt.settings.templates_dir, axis, rt.settings.zone)


def incident_page(
    request: Request,
    caller: Caller,
    incident_id: UUID,
    *,
    failure: Failure | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """Render the incident page as it is now (with a refused form's message, if any)."""
    rt = runtime_of(request)
    readable(rt, caller, incident_id)
    incident = load_incident(rt, incident_id)
    zone = rt.settings.zone
    now = rt.app.core.clock.now()
    due_soon = rt.settings.due_soon_hours * 3600
    history = rt.app.incidents.incident_history(incident_id)
    s = incident.state
    full = caller.may(Permission.INCIDENT_READ)
    marks = rt.app.containment.timeline_events(incident_id)
    context: dict[str, Any] = {
        "incident": incident,
        "s": s,
        "incident_id": str(incident_id),
        "version": incident.version,
        "entries": timeline(marks, zone),
        "axis": axis_of(
            rt,
            caller,
            current_incident(rt.app, rt.notifications, incident_id, now),
            marks,
            replayed=False,
        ),
        "notes": [e for e in history if isinstance(e, IncidentNoteAdded)],
        "full": full,
        "assessment": s.assessment if caller.may(Permission.ASSESSMENT_READ) else None,
        "evaluation": s.evaluation if caller.may(Permission.ASSESSMENT_READ) else None,
        "obligations": (
            _obligation_rows(rt, incident, now, due_soon)
            if caller.may(Permission.OBLIGATIONS_READ)
            else []
        ),
        "tasks": (
            _task_rows(rt, incident_id, now, due_soon) if caller.may(Permission.TASK_READ) else []
        ),
        "progress": rt.tasks.progress(incident_id),
        "campaigns": (
            campaign_rows(rt, incident_id, now) if caller.may(Permission.CAMPAIGN_READ) else []
        ),
        "people": rt.people.summary(incident_id) if caller.may(Permission.PEOPLE_READ) else None,
        "severities": list(Severity),
        "determinations": list(BreachDetermination),
        "types": list(IncidentType),
        "moments": MOMENTS,
        "failure": failure,
        "error": failure.message if failure else None,
        "facts": (
            failure.values
            if failure is not None and failure.form in ("assess", "what_if")
            else facts_values(s.assessment.facts if s.assessment else None, zone)
        ),
        "fact_options": FACT_OPTIONS,
        "fact_help": FACT_HELP,
        "now_input": local_input(now, zone),
        "audiences": ["people", "authority", "customer"],
        "what_if": None,
        "import_rejections": [],
        "import_rejected": 0,
    }
    context.update(extra or {})
    return page(
        request,
        "incident.html",
        caller=caller,
        status=failure.status if failure else 200,
        **context,
    )


def replay_page(request: Request, caller: Caller, incident_id: UUID, at: str) -> Response:
    """The incident as it was recorded at ``at`` (read-only, bannered)."""
    rt = runtime_of(request)
    readable(rt, caller, incident_id)
    incident = load_incident(rt, incident_id)
    zone, now = rt.settings.zone, rt.app.core.clock.now()
    try:
        moment = parse_time("at", at, zone, now=now)
        if moment > now:
            raise InvalidInput("at", "is in the future")
        if moment < incident.created_on:
            raise InvalidInput(
                "at",
                f"the incident was reported later ({show_time(incident.created_on, zone)}); "
                "choose a later moment",
            )
    except ServiceError as e:
        return incident_page(request, caller, incident_id, failure=failure_of("replay", e, {}))
    replay = replay_incident(rt.app, rt.notifications, incident_id, moment)
    history = [e for e in rt.app.incidents.incident_history(incident_id) if e.timestamp <= moment]
    marks = [e for e in rt.app.containment.timeline_events(incident_id) if e.timestamp <= moment]
    return page(
        request,
        "replay.html",
        caller=caller,
        replay=replay,
        s=replay.state,
        incident_id=str(incident_id),
        as_of=moment,
        as_of_input=local_input(moment, zone),
        entries=timeline(marks, zone),
        axis=axis_of(rt, caller, replay, marks, replayed=True),
        notes=[e for e in history if isinstance(e, IncidentNoteAdded)],
        current_version=incident.version,
    )


@router.get("/incidents/{incident_id}")
def show(
    request: Request,
    incident_id: str,
    at: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The incident page; with ``at``, the incident as recorded at that moment."""
    caller = viewer(request)
    target = parse_id(incident_id)
    if at:
        if not caller.may(Permission.AUDIT_REPLAY):
            raise forbidden(caller, (Permission.AUDIT_REPLAY,))
        return replay_page(request, caller, target, at)
    return incident_page(request, caller, target)


Builder = Callable[[Runtime, FormData, Incident], dict[str, Any]]
Command = Callable[[BreachLedger, UUID, dict[str, Any], RequestContext], Incident]


def change_incident(
    request: Request,
    form: FormData,
    incident_id: str,
    *,
    name: str,
    build: Builder,
    command: Command,
    ok: str,
    versioned: bool = True,
    permission: Permission = Permission.INCIDENT_CHANGE,
    anchor: str = "",
    refill: Callable[[FormData], dict[str, Any]] | None = None,
) -> Response:
    """Run one incident command from a form: CSRF, permission, the version the page showed;
    on success back to the page, on refusal the page with the reason and the form refilled."""
    caller = changer(request, form, permission)
    target = parse_id(incident_id)
    rt = runtime_of(request)
    version = version_of(form) if versioned else None
    incident = load_incident(rt, target)
    try:
        data = build(rt, form, incident)
        rt.gateway.run(
            command, rt.app, target, data, request_context(request, caller, target, version)
        )
    except ServiceError as e:
        values = (refill or submitted)(form)
        return incident_page(request, caller, target, failure=failure_of(name, e, values))
    return RedirectResponse(f"/incidents/{target}?ok={ok}{anchor}", status_code=303)


def amend_data(rt: Runtime, form: FormData, incident: Incident) -> dict[str, Any]:
    """Only the facts the form changed, with the reason (a cleared moment is cleared)."""
    s = incident.state
    zone, now = rt.settings.zone, rt.app.core.clock.now()
    data: dict[str, Any] = {"reason": text(form, "reason")}
    title = text(form, "title").strip()
    if title and title != s.title:
        data["title"] = title
    description = text(form, "description").replace("\r\n", "\n")
    if description.strip() != s.description.strip():
        data["description"] = description
    for name in MOMENTS:
        raw = text(form, name).strip()
        if raw == local_input(getattr(s.moments, name), zone):
            continue
        data[name] = parse_time(name, raw, zone, now=now) if raw else None
    return data


def triage_data(rt: Runtime, form: FormData, incident: Incident) -> dict[str, Any]:
    """Severity, breach determination and type from the triage form; a field the form
    leaves out keeps its value (the command's rule, as in every face)."""
    fields = ("severity", "personal_data_breach", "incident_type")
    return {name: value for name in fields if (value := text(form, name))}


def _field(name: str) -> Builder:
    return lambda rt, form, incident: {name: text(form, name)}


ACTIONS: dict[str, tuple[Builder, Command, str]] = {
    "amend": (amend_data, lambda a, *x: a.incidents.amend_facts(*x), "amended"),
    "triage": (triage_data, lambda a, *x: a.incidents.triage_incident(*x), "triaged"),
    "note": (_field("text"), lambda a, *x: a.incidents.add_note(*x), "noted"),
    "close": (_field("resolution"), lambda a, *x: a.incidents.close_incident(*x), "closed"),
    "reopen": (_field("reason"), lambda a, *x: a.incidents.reopen_incident(*x), "reopened"),
}
"""The forms that change the incident itself (correct facts of the report, record the
triage, add a note, close with the resolution, reopen): each one's input, its command and
the confirmation shown. Notes only add to the record, so they carry no version."""


def _serve(action: str) -> None:
    build, command, ok = ACTIONS[action]

    @router.post(f"/incidents/{{incident_id}}/{action}", name=action)
    def change(request: Request, incident_id: str, form: Posted) -> Response:
        return change_incident(
            request,
            form,
            incident_id,
            name=action,
            build=build,
            command=command,
            ok=ok,
            versioned=action != "note",
        )


for _action in ACTIONS:
    _serve(_action)


def owner_data(rt: Runtime, form: FormData, incident: Incident) -> dict[str, Any]:
    """The owner the form names; left empty, the owner is removed."""
    return {"owner": text(form, "owner").strip() or None}


@router.post("/incidents/{incident_id}/owner")
def assign_owner(request: Request, incident_id: str, form: Posted) -> Response:
    """Give the incident to an owner, or remove its owner; a refused owner is not written
    back into the form."""
    return change_incident(
        request,
        form,
        incident_id,
        name="owner",
        build=owner_data,
        command=lambda a, *x: a.incidents.assign_owner(*x),
        ok="owner",
        permission=Permission.OWNER_ASSIGN,
        anchor="#facts",
        refill=lambda _form: {},
    )
