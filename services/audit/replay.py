"""As-of replay: an incident as it was known at a recorded moment, and what changed between two.

Everything is rebuilt from the log: the incident (with its assessment, obligations and
decisions), its tasks, its campaigns and how many notices each had reached. Each decision is
shown with the state it was based on (the log position and assessment digest it pinned) and
whether the facts changed after it.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from events.assessment import Evaluation, SeverityAssessment
from events.containment import ContainmentTask
from events.incident import Incident, IncidentState
from events.notifications import Campaign, Notice, NoticeEvent, NoticeQueued
from services.feeds.topics import topics_of
from services.ledger import BreachLedger
from services.notifications.views import Notifications, slot_of, slot_start


class TaskAsOf(BaseModel):
    """A task as it stood."""

    task_id: str
    title: str
    mandatory: bool
    status: str
    owner: str | None
    due_at: datetime
    completed_at: datetime | None
    opened_at: datetime | None = None


class CampaignAsOf(BaseModel):
    """A campaign as it stood, with its notices by status."""

    campaign_id: str
    audience: str
    status: str
    notices: dict[str, int]


class DecisionBasis(BaseModel):
    """A decision, what it was based on, and what changed since."""

    obligation_id: str
    decision: str
    reason: str
    actor: str
    at: datetime
    notified_at: datetime | None
    reference: str | None
    log_position: int
    assessment_digest: str
    basis_confirmed: bool
    changed_since: list[str]


class IncidentReplay(BaseModel):
    """An incident as recorded at ``as_of``."""

    incident_id: str
    as_of: datetime
    exists: bool
    version: int = 0
    state: IncidentState | None = None
    severity: SeverityAssessment | None = None
    evaluation: Evaluation | None = None
    tasks: list[TaskAsOf] = []
    campaigns: list[CampaignAsOf] = []
    decisions: list[DecisionBasis] = []


def _changes(before: IncidentState, after: IncidentState) -> list[str]:
    """Fact changes between two states of one incident (for decisions' 'changed since')."""
    out = []
    if (
        before.assessment
        and after.assessment
        and before.assessment.digest != after.assessment.digest
    ):
        out.append("impact re-assessed")
    for name in ("occurred_at", "discovered_at", "aware_at", "determined_at"):
        if getattr(before.moments, name) != getattr(after.moments, name):
            out.append(f"{name} amended")
    if before.status != after.status:
        out.append(f"status {before.status.value} -> {after.status.value}")
    return out


NOTICE_TOPICS = topics_of([NoticeQueued, NoticeEvent])
"""The log's topics of notice events (a notice that moved is found by them)."""


def _notice_counts(
    app: BreachLedger, notifications: Notifications, campaign: Campaign, at: datetime
) -> Counter[str]:
    """A campaign's notices by status as of ``at``.

    The notices view sums their moves up to the start of ``at``'s slot (a tenth of a
    second); the notices that moved within that slot, found in the log between the first
    and last positions of those moves, are replayed as of just before the slot and as of
    ``at``, and the difference added. The cost depends on one slot's notices, not on the
    campaign's size."""
    slot = slot_of(at)
    counts = Counter(notifications.moves_before(campaign.id, slot))
    span = notifications.positions_in(campaign.id, slot)
    if span is not None:
        ids = app.core.originators_between(*span, NOTICE_TOPICS)
        before = slot_start(slot) - timedelta(microseconds=1)
        for moment, sign in ((before, -1), (at, 1)):
            for notice in app.core.many_as_of(ids, moment).values():
                if isinstance(notice, Notice) and notice.state.campaign_id == campaign.id:
                    counts[notice.state.status.value] += sign
    return Counter({status: n for status, n in counts.items() if n})


def replay_incident(
    app: BreachLedger, notifications: Notifications, incident_id: UUID, at: datetime
) -> IncidentReplay:
    """The incident and everything attached to it as recorded at ``at``."""
    incident = app.core.as_of(incident_id, at)
    if not isinstance(incident, Incident):
        return IncidentReplay(incident_id=str(incident_id), as_of=at, exists=False)
    state = incident.state
    tasks = app.core.many_as_of([UUID(t) for t in state.tasks], at)
    task_rows = [
        TaskAsOf(
            task_id=str(t.id),
            title=t.state.title,
            mandatory=t.state.mandatory,
            status=t.state.status.value,
            owner=t.state.owner,
            due_at=t.state.due_at,
            completed_at=t.state.completed_at,
            opened_at=t.created_on,
        )
        for t in tasks.values()
        if isinstance(t, ContainmentTask)
    ]
    task_rows.sort(key=lambda t: (t.due_at, t.task_id))
    campaigns = []
    for row in notifications.campaigns(incident_id):
        campaign = app.core.as_of(UUID(row["campaign_id"]), at)
        if not isinstance(campaign, Campaign):
            continue
        counts = _notice_counts(app, notifications, campaign, at)
        campaigns.append(
            CampaignAsOf(
                campaign_id=row["campaign_id"],
                audience=campaign.state.audience.value,
                status=campaign.state.status.value,
                notices=dict(sorted(counts.items())),
            )
        )
    decisions = []
    for decision in state.decisions.values():
        version = app.core.version_at(incident_id, decision.log_position)
        basis = app.core.load(incident_id, Incident, version=version).state if version else None
        confirmed = bool(
            basis is not None
            and basis.assessment is not None
            and basis.assessment.digest == decision.assessment_digest
        )
        decisions.append(
            DecisionBasis(
                obligation_id=decision.obligation_id,
                decision=decision.decision.value,
                reason=decision.reason,
                actor=decision.actor,
                at=decision.at,
                notified_at=decision.notified_at,
                reference=decision.reference,
                log_position=decision.log_position,
                assessment_digest=decision.assessment_digest,
                basis_confirmed=confirmed,
                changed_since=_changes(basis, state) if basis is not None else [],
            )
        )
    decisions.sort(key=lambda d: (d.at, d.obligation_id))
    return IncidentReplay(
        incident_id=str(incident_id),
        as_of=at,
        exists=True,
        version=incident.version,
        state=state,
        severity=state.assessment.severity if state.assessment else None,
        evaluation=state.evaluation,
        tasks=task_rows,
        campaigns=campaigns,
        decisions=decisions,
    )


EVERYTHING = datetime.max.replace(tzinfo=UTC)
"""A moment after every recorded one: replayed as of it, an aggregate has all its events."""


def current_incident(
    app: BreachLedger, notifications: Notifications, incident_id: UUID, now: datetime
) -> IncidentReplay:
    """The incident with everything recorded so far, shown as of ``now``: what a replay as
    of ``now`` gives, except that an event a process with a clock ahead of this one has
    recorded is not left out."""
    replay = replay_incident(app, notifications, incident_id, EVERYTHING)
    return replay.model_copy(update={"as_of": now})


def diff(before: IncidentReplay, after: IncidentReplay) -> list[str]:
    """What changed between two replays of one incident, in words."""
    if not before.exists and not after.exists:
        return []
    if not before.exists:
        return [f"the incident was reported (version {after.version})"]
    assert before.state is not None
    assert after.state is not None
    out = (
        [f"version {before.version} -> {after.version}"] if before.version != after.version else []
    )
    a, b = before.state, after.state
    for field in ("title", "status", "severity", "personal_data_breach", "incident_type"):
        old, new = getattr(a, field), getattr(b, field)
        if old != new:
            out.append(f"{field}: {_text(old)} -> {_text(new)}")
    if a.severity_source is not None and a.severity_source != b.severity_source:
        out.append(f"severity_source: {_text(a.severity_source)} -> {_text(b.severity_source)}")
    moved = (a.initial_severity, b.initial_severity)
    if moved[0] != moved[1] and moved != (a.severity, b.severity):
        out.append(f"initial_severity: {_text(moved[0])} -> {_text(moved[1])}")
    for name in ("occurred_at", "discovered_at", "aware_at", "determined_at"):
        old, new = getattr(a.moments, name), getattr(b.moments, name)
        if old != new:
            out.append(f"{name}: {_text(old)} -> {_text(new)}")
    if (a.assessment and a.assessment.digest) != (b.assessment and b.assessment.digest):
        band = b.assessment.severity.band if b.assessment else None
        out.append(f"assessment changed (severity now {band})")
    old_obl = {o.id: o for o in (a.evaluation.obligations if a.evaluation else ())}
    for o in b.evaluation.obligations if b.evaluation else ():
        prior = old_obl.get(o.id)
        if prior is None:
            if o.due:
                out.append(
                    f"obligation {o.id} due {_text(o.deadline) if o.deadline else ''}".strip()
                )
        elif prior.deadline != o.deadline:
            out.append(f"obligation {o.id} deadline {_text(prior.deadline)} -> {_text(o.deadline)}")
    for key, decision in b.decisions.items():
        prior_decision = a.decisions.get(key)
        if prior_decision is None or prior_decision != decision:
            out.append(f"decision on {key}: {decision.decision.value}")
    old_tasks = {t.task_id: t for t in before.tasks}
    for task in after.tasks:
        prior_task = old_tasks.get(task.task_id)
        if prior_task is None:
            out.append(f"task opened: {task.title}")
        elif prior_task.status != task.status:
            out.append(f"task {task.title}: {prior_task.status} -> {task.status}")
    old_campaigns = {c.campaign_id: c for c in before.campaigns}
    for campaign in after.campaigns:
        prior_campaign = old_campaigns.get(campaign.campaign_id)
        if prior_campaign is None:
            out.append(
                f"campaign {campaign.campaign_id[:8]} ({campaign.audience}) {campaign.status}"
            )
        elif (prior_campaign.status, prior_campaign.notices) != (campaign.status, campaign.notices):
            out.append(
                f"campaign {campaign.campaign_id[:8]}: {prior_campaign.status} -> "
                f"{campaign.status}, notices {campaign.notices}"
            )
    return out


def _text(value: Any) -> str:
    if value is None:
        return "none"
    if hasattr(value, "value"):
        return str(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
