"""The human audit report of an incident, rendered from ``templates/reports``."""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from events.assessment import DecisionKind, Obligation
from events.incident import IncidentState
from services.assessment.headline import headline
from services.audit.chain import Checkpoint
from services.audit.replay import IncidentReplay
from services.incidents.presentation import severity_label
from services.timefmt import show_time
from services.timeline import TimelineEntry


def deadline_outcome(state: IncidentState, obligation: Obligation, at: datetime) -> str:
    """How an obligation stands at ``at``: ``met`` (notified by its deadline), ``missed``
    (notified late, or its deadline passed without a notification), ``waived`` (decided not
    to notify) or ``pending``."""
    decision = state.decisions.get(obligation.id)
    deadline = obligation.deadline
    if decision is not None and decision.decision is DecisionKind.NOTIFIED:
        late = (
            deadline is not None
            and decision.notified_at is not None
            and decision.notified_at > deadline
        )
        return "missed" if late else "met"
    if decision is not None and decision.decision is DecisionKind.DO_NOT_NOTIFY:
        return "waived"
    if deadline is not None and deadline < at:
        return "missed"
    return "pending"


def obligation_outcomes(state: IncidentState, now: datetime, zone: tzinfo) -> list[dict[str, Any]]:
    """Each due obligation with whether it was met, missed, decided against, or is open."""
    rows = []
    for o in state.evaluation.obligations if state.evaluation else ():
        if not o.due:
            continue
        decision = state.decisions.get(o.id)
        judged = deadline_outcome(state, o, now)
        outcome, css = "open", ""
        if decision is not None and decision.decision is DecisionKind.NOTIFIED:
            outcome = f"notified {show_time(decision.notified_at, zone)}" + (
                " (late)" if judged == "missed" else ""
            )
            css = judged
        elif decision is not None and decision.decision is DecisionKind.DO_NOT_NOTIFY:
            outcome = f"decided not to notify: {decision.reason}"
        elif judged == "missed":
            outcome, css = "missed: deadline passed without a notification", "missed"
        rows.append(
            {
                "id": o.id,
                "regime_name": o.regime_name,
                "deadline": show_time(o.deadline, zone) if o.deadline else None,
                "deadline_text": o.deadline_text,
                "outcome": outcome,
                "outcome_class": css,
                "condition": o.condition,
            }
        )
    return rows


def render_report(
    templates_dir: Path,
    replay: IncidentReplay,
    timeline: list[TimelineEntry],
    checkpoint: Checkpoint,
    zone: tzinfo,
    reported_at: datetime,
    *,
    now: datetime,
    axis: str = "",
) -> str:
    """The HTML report, generated at ``now`` (which also decides which open deadlines have
    passed), with the incident on a time axis (``axis``, rendered markup) when given."""
    env = SandboxedEnvironment(
        loader=FileSystemLoader(templates_dir / "reports"),
        autoescape=True,
        undefined=StrictUndefined,
    )
    state = replay.state
    assert state is not None
    containment = "not reached"
    if state.containment_reached_at and state.time_to_contain_seconds is not None:
        containment = (
            f"reached {show_time(state.containment_reached_at, zone)} "
            f"({state.time_to_contain_seconds / 3600:.1f} h after awareness)"
        )
    m = state.moments
    return env.get_template("incident.html").render(
        incident={
            "id": replay.incident_id,
            "title": state.title,
            "version": replay.version,
            "status": state.status.value,
            "severity": severity_label(state.model_dump()),
            "reported_at": show_time(reported_at, zone),
            "occurred_at": show_time(m.occurred_at, zone) if m.occurred_at else None,
            "discovered_at": show_time(m.discovered_at, zone),
            "aware_at": show_time(m.aware_at, zone) if m.aware_at else None,
            "determined_at": show_time(m.determined_at, zone) if m.determined_at else None,
        },
        assessment=replay.severity.model_dump() if replay.severity else None,
        headline=(
            headline(state.assessment.facts, state.assessment.severity, state.evaluation, zone)
            if state.assessment is not None and state.evaluation is not None
            else "obligations not evaluated yet"
        ),
        containment=containment,
        obligations=obligation_outcomes(state, now, zone),
        decisions=[d.model_dump() for d in replay.decisions],
        tasks=[t.model_dump() for t in replay.tasks],
        campaigns=[c.model_dump() for c in replay.campaigns],
        timeline=[
            {**e.model_dump(), "recorded_at": show_time(e.recorded_at, zone)} for e in timeline
        ],
        checkpoint=checkpoint,
        generated_at=show_time(now, zone),
        axis=Markup(axis),  # noqa: S704  (rendered by render_axis with autoescape)
    )
