"""An incident's history in words: every event with when it was recorded and by whom."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from events.alerts import (
    AlertAcknowledged,
    AlertEmailed,
    AlertEmailFailed,
    AlertEmailSkipped,
    AlertMailEvent,
    AlertRaised,
)
from events.assessment import Obligation
from events.base import DomainEvent
from events.containment import TaskDueMoved
from events.incident import (
    AmendableFact,
    ContainmentLost,
    ContainmentReached,
    ImpactAssessed,
    Incident,
    IncidentClosed,
    IncidentFactsAmended,
    IncidentNoteAdded,
    IncidentOwnerAssigned,
    IncidentReopened,
    IncidentReported,
    IncidentState,
    IncidentTriaged,
    ObligationDecided,
    ObligationsEvaluated,
    PlaybookApplied,
    TaskAttached,
)
from events.values import SeveritySource, severity_of_band
from services.assessment.headline import headline
from services.incidents.presentation import in_words
from services.timefmt import show_time


class TimelineEntry(BaseModel):
    """One line of a timeline: an incident event, or a change to one of its tasks (then
    ``task_id`` names the task and ``version`` is the incident's version at the time)."""

    version: int
    recorded_at: datetime
    actor: str
    correlation_id: str
    event: str
    summary: str
    task_id: UUID | None = None
    alert_id: UUID | None = None
    """The alert, on a line telling of an alert raised about the incident."""


def _value(value: Any, zone: tzinfo) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, datetime):
        return show_time(value, zone)
    return f'"{value}"'


def describe(event: DomainEvent, before: IncidentState | None, zone: tzinfo) -> str:
    """Say in words what ``event`` changed, given the state just before it."""
    if isinstance(event, TaskDueMoved):
        return (
            f"task {str(event.originator_id)[:8]} due {show_time(event.previous_due_at, zone)}"
            f" -> {show_time(event.due_at, zone)}: {event.reason} (counts from "
            f"{event.clock.value}, now {show_time(event.counted_from, zone)})"
        )
    if isinstance(event, AlertRaised):
        told = ", ".join(event.recipients) or "nobody (no owner, no DPO on duty)"
        return (
            f"alert {event.step} for {event.subject_kind.value} {event.subject_id} (deadline "
            f"{show_time(event.deadline, zone)}){' raised late' if event.late else ''}: "
            f"told {told} by {', '.join(event.channels)}"
        )
    if isinstance(event, AlertAcknowledged):
        return f"alert {str(event.originator_id)[:8]} acknowledged"
    if isinstance(event, AlertMailEvent):
        alert = str(event.originator_id)[:8]
        if isinstance(event, AlertEmailed):
            return f"alert {alert} emailed to {event.username}"
        if isinstance(event, AlertEmailFailed):
            return f"alert {alert}: email to {event.username} failed: {event.reason}"
        reason = event.reason if isinstance(event, AlertEmailSkipped) else event.outcome
        return f"alert {alert} not emailed to {event.username}: {reason}"
    if isinstance(event, IncidentOwnerAssigned):
        return f"owner {event.owner}" if event.owner else "owner removed"
    if isinstance(event, IncidentReported):
        parts = [
            f'reported "{event.title}" ({event.incident_type.value}) '
            f"by {event.reporter} via {event.source.value}",
            f"discovered {show_time(event.discovered_at, zone)}",
        ]
        for label, moment in (
            ("occurred", event.occurred_at),
            ("aware", event.aware_at),
            ("determined a breach", event.determined_at),
        ):
            if moment is not None:
                parts.append(f"{label} {show_time(moment, zone)}")
        return "; ".join(parts)
    if isinstance(event, IncidentFactsAmended):
        changes = []
        for name, new in event.changes().items():
            old = before.fact(name) if before is not None else None
            if name is AmendableFact.DESCRIPTION:
                changes.append("description rewritten")
            else:
                changes.append(f"{name.value} {_value(old, zone)} -> {_value(new, zone)}")
        return f"corrected {'; '.join(changes)} (reason: {event.reason})"
    if isinstance(event, IncidentTriaged):
        parts = []
        for field, known in (
            ("severity", "initial_severity"),
            ("personal_data_breach", "personal_data_breach"),
            ("incident_type", "incident_type"),
        ):
            new = getattr(event, field).value
            old = getattr(before, known, None) if before is not None else None
            old_text = old.value if old is not None else "none"
            label = field.replace("_", " ")
            parts.append(f"{label} {new}" if old_text == new else f"{label} {old_text} -> {new}")
        return "triaged: " + ", ".join(parts)
    if isinstance(event, ImpactAssessed):
        return _describe_assessment(event, before)
    if isinstance(event, ObligationsEvaluated):
        return _describe_evaluation(event, before, zone)
    if isinstance(event, ObligationDecided):
        text = f"decided {event.obligation_id}: {event.decision.value.replace('_', ' ')}"
        if event.notified_at is not None:
            text += f" at {show_time(event.notified_at, zone)} (reference {event.reference})"
        return f"{text}; reason: {event.reason} (based on log position {event.log_position})"
    if isinstance(event, PlaybookApplied):
        mandatory = sum(t.mandatory for t in event.tasks)
        return (
            f"playbook {event.playbook} v{event.version} applied: {len(event.tasks)} tasks "
            f"opened ({mandatory} mandatory)"
        )
    if isinstance(event, TaskAttached):
        kind = "mandatory" if event.mandatory else "optional"
        return f"task {str(event.task_id)[:8]} added ({kind})"
    if isinstance(event, ContainmentReached):
        hours = event.time_to_contain_seconds / 3600
        text = (
            f"containment reached {show_time(event.reached_at, zone)}: "
            f"{hours:.1f} h after {'awareness' if not event.provisional else 'discovery'}"
        )
        return text + (f" ({event.provisional})" if event.provisional else "")
    if isinstance(event, ContainmentLost):
        return f"containment lost: {event.reason}"
    if isinstance(event, IncidentNoteAdded):
        return f"note: {event.text}"
    if isinstance(event, IncidentClosed):
        return f"closed: {event.resolution}"
    if isinstance(event, IncidentReopened):
        return f"reopened: {event.reason}"
    return in_words(type(event).__name__)


def _describe_assessment(event: ImpactAssessed, before: IncidentState | None) -> str:
    facts, sev = event.facts, event.severity
    people = (
        f"{facts.people.count:,} people ({'confirmed' if facts.people.confirmed else 'estimated'})"
    )
    places = ", ".join(f"{code} {n:,}" for code, n in facts.people_by_jurisdiction.items())
    text = (
        f"impact assessed: {people} in {places}; data: "
        f"{', '.join(c.value for c in facts.data_categories)}; severity {sev.band} "
        f"(SE {sev.score:g}, {sev.method}); risk: {sev.risk}"
    )
    old = (before.severity, before.severity_source) if before is not None else (None, None)
    new = severity_of_band(sev.band)
    if new is not None and (new, SeveritySource.ASSESSMENT) != old:
        was = f"{old[0].value} ({old[1].value})" if old[0] and old[1] else "none"
        text += f" [incident severity: {was} -> {new.value} (assessment)]"
    return text


def _deadline(o: Obligation, zone: tzinfo) -> str:
    if o.deadline is not None:
        return show_time(o.deadline, zone) + (" (provisional)" if o.provisional else "")
    return o.pending or o.deadline_text or "no fixed deadline"


def _recommendation(event: ObligationsEvaluated, before: IncidentState | None, zone: tzinfo) -> str:
    """The headline of this evaluation, when it differs from the previous one's."""
    if before is None or before.assessment is None:
        return ""
    facts, severity = before.assessment.facts, before.assessment.severity
    now = headline(facts, severity, event.evaluation, zone)
    previous = before.evaluation
    if previous is not None and headline(facts, severity, previous, zone) == now:
        return ""
    return f"; recommendation: {now}"


def _describe_evaluation(
    event: ObligationsEvaluated, before: IncidentState | None, zone: tzinfo
) -> str:
    previous = before.evaluation if before is not None else None
    due = [o for o in event.evaluation.obligations if o.due]
    head = (
        f"obligations evaluated (rules {event.evaluation.rule_set}, after {event.reason}): "
        f"{len(due)} due"
    )
    tail = _recommendation(event, before, zone)
    if previous is None:
        listed = [f"{o.id} by {_deadline(o, zone)}" for o in due if o.deadline is not None]
        return head + (": " + "; ".join(listed) if listed else "") + tail
    changes = []
    for o in event.evaluation.obligations:
        old = previous.find(o.id)
        if old is None:
            changes.append(f"{o.id} added")
        elif old.due != o.due:
            changes.append(f"{o.id} {'now due' if o.due else 'no longer due'}")
        elif old.deadline != o.deadline or old.pending != o.pending:
            changes.append(f"{o.id} {_deadline(old, zone)} -> {_deadline(o, zone)}")
    for old in previous.obligations:
        if event.evaluation.find(old.id) is None:
            changes.append(f"{old.id} removed")
    return head + (": " + "; ".join(changes) if changes else "") + tail


def timeline(events: Sequence[DomainEvent], zone: tzinfo) -> list[TimelineEntry]:
    """The timeline of one incident from its events (and its tasks' due-time moves placed
    among them), oldest first."""
    entries = []
    incident: Incident | None = None
    for event in events:
        before = incident.state if incident is not None else None
        moved = isinstance(event, TaskDueMoved | AlertRaised | AlertAcknowledged | AlertMailEvent)
        entries.append(
            TimelineEntry(
                version=incident.version if moved and incident else event.originator_version,
                recorded_at=event.timestamp,
                actor=event.actor,
                correlation_id=event.correlation_id,
                event=type(event).__name__,
                summary=describe(event, before, zone),
                task_id=event.originator_id if isinstance(event, TaskDueMoved) else None,
                alert_id=event.originator_id if isinstance(event, AlertRaised) else None,
            )
        )
        if not moved:
            incident = event.mutate(incident)
    return entries
