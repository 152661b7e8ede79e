"""An incident's history in words: every event with when it was recorded and by whom,
among the marks of what happened around it (its tasks' moves and completions, alerts,
campaigns, imports of people)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
from events.base import DomainEvent, Recorded
from events.containment import TaskCancelled, TaskCompleted, TaskDueMoved, TaskEvent, TaskReopened
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
from events.notifications import (
    CampaignApproved,
    CampaignCancelled,
    CampaignCompleted,
    CampaignEvent,
    DispatchPaused,
    DispatchResumed,
    DispatchStarted,
    NoticesQueued,
)
from events.values import SeveritySource, severity_of_band
from services.assessment.headline import headline
from services.incidents.presentation import in_words
from services.people.people_view import PeopleAdded
from services.timefmt import show_time

TimelineMark = Recorded
"""What a timeline tells of: an event (of the incident or of an aggregate about it) or a
summary read from a view (an import's people)."""


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
    campaign_id: UUID | None = None
    """The campaign, on a line telling of its approval or dispatch."""


def _value(value: Any, zone: tzinfo) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, datetime):
        return show_time(value, zone)
    return f'"{value}"'


def _short(some_id: UUID) -> str:
    return str(some_id)[:8]


def _describe_task(event: TaskEvent, zone: tzinfo) -> str:
    task = f"task {_short(event.originator_id)}"
    if isinstance(event, TaskCompleted):
        evidence = f" ({len(event.evidence)} evidence)" if event.evidence else ""
        return f"{task} done: {event.outcome}{evidence}"
    if isinstance(event, TaskReopened):
        return f"{task} reopened: {event.reason}"
    if isinstance(event, TaskCancelled):
        return f"{task} cancelled: {event.reason}"
    assert isinstance(event, TaskDueMoved)
    return (
        f"{task} due {show_time(event.previous_due_at, zone)}"
        f" -> {show_time(event.due_at, zone)}: {event.reason} (counts from "
        f"{event.clock.value}, now {show_time(event.counted_from, zone)})"
    )


_CAMPAIGN_WORDS: dict[type[CampaignEvent], Callable[[Any], str]] = {
    CampaignApproved: lambda e: (
        f" approved (content {e.content_hash[:10]})"
        + (
            f", allowing English words under {', '.join(e.mixed_languages)} headings"
            if e.mixed_languages
            else ""
        )
    ),
    DispatchStarted: lambda e: " dispatch started",
    NoticesQueued: lambda e: f": {e.count:,} notices queued",
    DispatchPaused: lambda e: f" paused: {e.reason}",
    DispatchResumed: lambda e: " resumed",
    CampaignCompleted: lambda e: (
        f" completed: {e.sent:,} sent, {e.failed:,} failed, {e.suppressed:,} suppressed"
    ),
    CampaignCancelled: lambda e: f" cancelled: {e.reason}",
}
"""What the timeline says of each campaign event it tells of, after "campaign <id>"."""

CAMPAIGN_MARKS = tuple(_CAMPAIGN_WORDS)
"""The campaign events an incident's timeline tells of (drafts and previews are on the
campaign's page)."""


def _describe_campaign(event: CampaignEvent) -> str:
    words = _CAMPAIGN_WORDS.get(type(event))
    tail = words(event) if words else f": {in_words(type(event).__name__)}"
    return f"campaign {_short(event.originator_id)}{tail}"


def _describe_people(mark: PeopleAdded, zone: tzinfo) -> str:
    what = "imported" if mark.source.startswith("import:") else f"recorded ({mark.source})"
    span = f" from {show_time(mark.first_at, zone)}" if mark.first_at != mark.timestamp else ""
    return f"{mark.people:,} {'person' if mark.people == 1 else 'people'} {what}{span}"


def describe(event: DomainEvent, before: IncidentState | None, zone: tzinfo) -> str:
    """Say in words what ``event`` changed, given the state just before it."""
    if isinstance(event, TaskEvent):
        return _describe_task(event, zone)
    if isinstance(event, CampaignEvent):
        return _describe_campaign(event)
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


def timeline(marks: Sequence[TimelineMark], zone: tzinfo) -> list[TimelineEntry]:
    """The timeline of one incident from its events and the marks placed among them (see
    :meth:`~services.containment.handlers.ContainmentHandlers.timeline_events`), oldest
    first. A mark of another aggregate, or a view's summary, carries the incident's version
    at the time."""
    entries = []
    incident: Incident | None = None
    for mark in marks:
        before = incident.state if incident is not None else None
        own = isinstance(mark, DomainEvent) and (
            isinstance(mark, IncidentReported)
            or (incident is not None and mark.originator_id == incident.id)
        )
        if isinstance(mark, PeopleAdded):
            kind, summary = "PeopleImported", _describe_people(mark, zone)
            version = incident.version if incident else 0
        else:
            assert isinstance(mark, DomainEvent)
            kind, summary = type(mark).__name__, describe(mark, before, zone)
            version = mark.originator_version if own or incident is None else incident.version
        entries.append(
            TimelineEntry(
                version=version,
                recorded_at=mark.timestamp,
                actor=mark.actor,
                correlation_id=mark.correlation_id,
                event=kind,
                summary=summary,
                task_id=mark.originator_id if isinstance(mark, TaskEvent) else None,
                alert_id=mark.originator_id if isinstance(mark, AlertRaised) else None,
                campaign_id=mark.originator_id if isinstance(mark, CampaignEvent) else None,
            )
        )
        if own:
            assert isinstance(mark, DomainEvent)
            incident = mark.mutate(incident)
    return entries
