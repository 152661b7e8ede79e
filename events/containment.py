"""Containment tasks: one aggregate per task, so many responders can work at once.

A task belongs to an incident and may come from a playbook step. Its rules (no starting a
task whose blockers are open, no completing a cancelled one...) live here; facts about
other aggregates (the incident's report time, the state of the blockers) are passed in by
the caller, because an aggregate never reads another.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import BaseAggregate
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from events.base import AggregateCreated, Cause, DomainEvent
from events.errors import RuleViolation
from events.values import LegalMoments


class TaskStatus(StrEnum):
    """Where a task stands."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    BLOCKED = "blocked"
    DONE = "done"
    CANCELLED = "cancelled"


class Priority(StrEnum):
    """How urgent a task is relative to others."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class EvidenceKind(StrEnum):
    """What an evidence reference points at."""

    SHA256 = "sha256"
    URL = "url"
    TICKET = "ticket"
    NOTE = "note"


class Evidence(BaseModel):
    """A reference to evidence of the work: a file hash, a link, a ticket."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: EvidenceKind
    value: str


class PlaybookStep(BaseModel):
    """The playbook step a task came from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    playbook: str
    version: int
    step: str


class DueClock(StrEnum):
    """The moment of the incident a playbook task's due time counts from."""

    AWARE = "aware"
    DISCOVERED = "discovered"
    REPORTED = "reported"
    TRIAGED = "triaged"

    @property
    def fed_by(self) -> tuple[str, ...]:
        """The legal moments that set this clock (none for reported and triaged, which no
        correction moves)."""
        return {
            DueClock.AWARE: ("aware_at", "discovered_at"),
            DueClock.DISCOVERED: ("discovered_at",),
        }.get(self, ())

    def start(self, moments: LegalMoments) -> datetime | None:
        """Where the clock starts for these moments: awareness counts from discovery while
        it is not recorded; None for the clocks that are not legal moments."""
        if self is DueClock.AWARE:
            return moments.aware_at or moments.discovered_at
        if self is DueClock.DISCOVERED:
            return moments.discovered_at
        return None


class DueAnchor(BaseModel):
    """What a task's due time counts from: a clock, and whole hours after it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    clock: DueClock
    hours: int = Field(ge=0)

    def due_at(self, start: datetime, reported_at: datetime) -> datetime:
        """The due time for a clock started at ``start`` (never before the report)."""
        return max(start + timedelta(hours=self.hours), reported_at)


class TaskState(BaseModel):
    """Everything a containment task knows."""

    model_config = ConfigDict(frozen=True)

    incident_id: UUID
    incident_reported_at: AwareDatetime
    title: str
    owner: str | None
    priority: Priority
    due_at: AwareDatetime
    mandatory: bool
    blocked_by: tuple[UUID, ...]
    origin: PlaybookStep | None
    status: TaskStatus = TaskStatus.OPEN
    blocked_reason: str | None = None
    resume_status: TaskStatus | None = None
    outcome: str | None = None
    evidence: tuple[Evidence, ...] = ()
    completed_at: AwareDatetime | None = None
    completed_by: str | None = None
    due_anchor: DueAnchor | None = None


class TaskEvent(DomainEvent):
    """Base class of every containment task event."""


class TaskOpened(AggregateCreated):
    """A task was opened for an incident (by hand, or from a playbook step).

    ``due_anchor`` says which moment the due time counts from, so that a correction of that
    moment moves it; a task opened by hand has none. Version 1 had no ``due_anchor``.
    """

    class_version = 2

    incident_id: UUID
    incident_reported_at: AwareDatetime
    title: str
    owner: str | None = None
    priority: Priority
    due_at: AwareDatetime
    mandatory: bool
    blocked_by: tuple[UUID, ...] = ()
    origin: PlaybookStep | None = None
    due_anchor: DueAnchor | None = None

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """A version 1 task has no anchor: its due time stays as it was recorded."""
        state["due_anchor"] = None

    def apply(self, aggregate: ContainmentTask) -> None:
        """Start the task's state."""
        aggregate.state = TaskState(
            incident_id=self.incident_id,
            incident_reported_at=self.incident_reported_at,
            title=self.title,
            owner=self.owner,
            priority=self.priority,
            due_at=self.due_at,
            mandatory=self.mandatory,
            blocked_by=self.blocked_by,
            origin=self.origin,
            due_anchor=self.due_anchor,
        )


class TaskAssigned(TaskEvent):
    """The task was given to an owner."""

    owner: str

    def apply(self, aggregate: ContainmentTask) -> None:
        """Set the owner."""
        aggregate.state = aggregate.state.model_copy(update={"owner": self.owner})


class TaskStarted(TaskEvent):
    """Work on the task started."""

    def apply(self, aggregate: ContainmentTask) -> None:
        """Mark it in progress."""
        aggregate.state = aggregate.state.model_copy(update={"status": TaskStatus.IN_PROGRESS})


class TaskBlocked(TaskEvent):
    """Work on the task is blocked, with the reason."""

    reason: str
    resume_status: TaskStatus

    def apply(self, aggregate: ContainmentTask) -> None:
        """Mark it blocked."""
        aggregate.state = aggregate.state.model_copy(
            update={
                "status": TaskStatus.BLOCKED,
                "blocked_reason": self.reason,
                "resume_status": self.resume_status,
            }
        )


class TaskUnblocked(TaskEvent):
    """The block was lifted; the task goes back to where it was."""

    reason: str
    resume_status: TaskStatus

    def apply(self, aggregate: ContainmentTask) -> None:
        """Return to the status before the block."""
        aggregate.state = aggregate.state.model_copy(
            update={"status": self.resume_status, "blocked_reason": None, "resume_status": None}
        )


class TaskCompleted(TaskEvent):
    """The task was done, with its outcome and evidence references."""

    outcome: str
    evidence: tuple[Evidence, ...] = ()

    def apply(self, aggregate: ContainmentTask) -> None:
        """Mark it done."""
        aggregate.state = aggregate.state.model_copy(
            update={
                "status": TaskStatus.DONE,
                "outcome": self.outcome,
                "evidence": self.evidence,
                "completed_at": self.timestamp,
                "completed_by": self.actor,
            }
        )


class TaskReopened(TaskEvent):
    """A done or cancelled task was reopened, with the reason."""

    reason: str

    def apply(self, aggregate: ContainmentTask) -> None:
        """Open it again."""
        aggregate.state = aggregate.state.model_copy(
            update={
                "status": TaskStatus.OPEN,
                "outcome": None,
                "completed_at": None,
                "completed_by": None,
            }
        )


class TaskDueChanged(TaskEvent):
    """The task's due time was changed by hand, with the reason; from then on it no longer
    follows the moment it counted from."""

    due_at: AwareDatetime
    reason: str

    def apply(self, aggregate: ContainmentTask) -> None:
        """Set the new due time and drop the anchor."""
        aggregate.state = aggregate.state.model_copy(
            update={"due_at": self.due_at, "due_anchor": None}
        )


class TaskDueMoved(TaskEvent):
    """The task's due time moved because the moment it counts from was corrected.

    ``clock`` is that moment, ``counted_from`` its corrected value, ``previous_due_at`` the
    due time before; ``reason`` names the corrected facts.
    """

    previous_due_at: AwareDatetime
    due_at: AwareDatetime
    clock: DueClock
    counted_from: AwareDatetime
    reason: str

    def apply(self, aggregate: ContainmentTask) -> None:
        """Set the new due time."""
        aggregate.state = aggregate.state.model_copy(update={"due_at": self.due_at})


class TaskCancelled(TaskEvent):
    """The task was cancelled, with the reason."""

    reason: str

    def apply(self, aggregate: ContainmentTask) -> None:
        """Mark it cancelled."""
        aggregate.state = aggregate.state.model_copy(update={"status": TaskStatus.CANCELLED})


def _text(field: str, value: str, limit: int = 2000) -> str:
    text = value.strip()
    if not text:
        raise RuleViolation(field, "must not be empty")
    if len(text) > limit:
        raise RuleViolation(field, f"must be at most {limit} characters")
    return text


FINISHED = (TaskStatus.DONE, TaskStatus.CANCELLED)


class ContainmentTask(BaseAggregate[UUID]):
    """A piece of containment work on an incident."""

    STATE = TaskState

    LOG_KEY = "task_id"

    if TYPE_CHECKING:
        state: TaskState

    @classmethod
    def open(
        cls,
        cause: Cause,
        *,
        task_id: UUID,
        incident_id: UUID,
        incident_reported_at: datetime,
        title: str,
        owner: str | None,
        priority: Priority,
        due_at: datetime,
        mandatory: bool,
        blocked_by: Sequence[UUID] = (),
        origin: PlaybookStep | None = None,
        due_anchor: DueAnchor | None = None,
    ) -> ContainmentTask:
        """Open a task; it may not be due before the incident was reported."""
        if due_at < incident_reported_at:
            raise RuleViolation("due_at", "must not be before the incident was reported")
        if task_id in blocked_by:
            raise RuleViolation("blocked_by", "a task cannot wait for itself")
        return cls._create(
            TaskOpened,
            id=task_id,
            incident_id=incident_id,
            incident_reported_at=incident_reported_at,
            title=_text("title", title, 200),
            owner=owner,
            priority=priority,
            due_at=due_at,
            mandatory=mandatory,
            blocked_by=tuple(blocked_by),
            origin=origin,
            due_anchor=due_anchor,
            **cause.stamp(),
        )

    def _not_finished(self, doing: str) -> None:
        if self.state.status in FINISHED:
            raise RuleViolation(
                "status", f"the task is {self.state.status.value}; reopen it before {doing}"
            )

    def assign(self, cause: Cause, *, owner: str) -> None:
        """Give the task to an owner."""
        self._not_finished("assigning it")
        if owner == self.state.owner:
            raise RuleViolation("owner", "the task is already assigned to this owner")
        self.trigger_event(TaskAssigned, owner=owner, **cause.stamp())

    def start(self, cause: Cause, *, open_blockers: Sequence[UUID]) -> None:
        """Start work; every task it waits for must be finished."""
        if self.state.status is not TaskStatus.OPEN:
            raise RuleViolation(
                "status", f"only an open task can start (it is {self.state.status.value})"
            )
        if open_blockers:
            waiting = ", ".join(str(b)[:8] for b in open_blockers)
            raise RuleViolation("blocked_by", f"waits for unfinished task(s) {waiting}")
        self.trigger_event(TaskStarted, **cause.stamp())

    def block(self, cause: Cause, *, reason: str) -> None:
        """Mark the work blocked, with the reason."""
        if self.state.status not in (TaskStatus.OPEN, TaskStatus.IN_PROGRESS):
            raise RuleViolation("status", f"a {self.state.status.value} task cannot be blocked")
        self.trigger_event(
            TaskBlocked,
            reason=_text("reason", reason),
            resume_status=self.state.status,
            **cause.stamp(),
        )

    def unblock(self, cause: Cause, *, reason: str) -> None:
        """Lift a block."""
        if self.state.status is not TaskStatus.BLOCKED:
            raise RuleViolation("status", "the task is not blocked")
        self.trigger_event(
            TaskUnblocked,
            reason=reason.strip() or "unblocked",
            resume_status=self.state.resume_status or TaskStatus.OPEN,
            **cause.stamp(),
        )

    def complete(
        self,
        cause: Cause,
        *,
        outcome: str,
        evidence: Sequence[Evidence],
        open_blockers: Sequence[UUID],
    ) -> None:
        """Record the task done, with its outcome and evidence."""
        status = self.state.status
        if status is TaskStatus.DONE:
            by = f" by {self.state.completed_by}" if self.state.completed_by else ""
            raise RuleViolation("status", f"the task is already done{by}")
        if status is TaskStatus.CANCELLED:
            raise RuleViolation("status", "the task is cancelled; reopen it before completing it")
        if status is TaskStatus.BLOCKED:
            raise RuleViolation("status", "the task is blocked; unblock it before completing it")
        if open_blockers:
            waiting = ", ".join(str(b)[:8] for b in open_blockers)
            raise RuleViolation("blocked_by", f"waits for unfinished task(s) {waiting}")
        self.trigger_event(
            TaskCompleted,
            outcome=_text("outcome", outcome),
            evidence=tuple(evidence),
            **cause.stamp(),
        )

    def reopen(self, cause: Cause, *, reason: str) -> None:
        """Reopen a done or cancelled task."""
        if self.state.status not in FINISHED:
            raise RuleViolation(
                "status",
                f"only a done or cancelled task can reopen (it is {self.state.status.value})",
            )
        self.trigger_event(TaskReopened, reason=_text("reason", reason), **cause.stamp())

    def change_due(self, cause: Cause, *, due_at: datetime, reason: str) -> None:
        """Move the due time, with the reason."""
        self._not_finished("changing its due time")
        if due_at < self.state.incident_reported_at:
            raise RuleViolation("due_at", "must not be before the incident was reported")
        if due_at == self.state.due_at:
            raise RuleViolation("due_at", "changes nothing: the task is already due then")
        self.trigger_event(
            TaskDueChanged, due_at=due_at, reason=_text("reason", reason), **cause.stamp()
        )

    def follow_moments(
        self, cause: Cause, *, moments: LegalMoments, corrected: Collection[str]
    ) -> bool:
        """After the incident's ``corrected`` moments changed to ``moments``, move the due
        time to where its anchor now puts it; return whether it moved.

        A finished task, a task without an anchor (opened or rescheduled by hand) and a task
        whose clock none of the corrected moments sets keep their due time.
        """
        anchor = self.state.due_anchor
        if anchor is None or self.state.status in FINISHED:
            return False
        fed = [name for name in anchor.clock.fed_by if name in corrected]
        start = anchor.clock.start(moments)
        if not fed or start is None:
            return False
        due = anchor.due_at(start, self.state.incident_reported_at)
        if due == self.state.due_at:
            return False
        self.trigger_event(
            TaskDueMoved,
            previous_due_at=self.state.due_at,
            due_at=due,
            clock=anchor.clock,
            counted_from=start,
            reason=f"{' and '.join(fed)} corrected",
            **cause.stamp(),
        )
        return True

    def cancel(self, cause: Cause, *, reason: str) -> None:
        """Cancel the task, with the reason."""
        self._not_finished("cancelling it")
        self.trigger_event(TaskCancelled, reason=_text("reason", reason), **cause.stamp())
