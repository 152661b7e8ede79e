"""The containment commands of the application: open tasks by hand and move them along."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import BaseAggregate
from eventsourcing.utils import get_topic

from events.base import Cause, DomainEvent, Recorded
from events.containment import (
    FINISHED,
    ContainmentTask,
    TaskCancelled,
    TaskCompleted,
    TaskDueMoved,
    TaskReopened,
)
from events.incident import Incident, IncidentFactsAmended
from events.values import MOMENT_FIELDS
from services.application.base import LedgerApplication
from services.application.context import RequestContext
from services.application.errors import InvalidInput
from services.containment.commands import (
    AssignTask,
    ChangeDue,
    CompleteTask,
    OpenTask,
    ReasonOnly,
    UnblockTask,
)
from services.incidents.handlers import IncidentHandlers
from services.storage.event_reads import event_reads

TIMELINE_TASK_EVENTS = (TaskDueMoved, TaskCompleted, TaskReopened, TaskCancelled)
"""The task events an incident's timeline tells of (the rest are on the task board)."""


class ContainmentHandlers:
    """Commands on containment tasks; each task is its own aggregate, so responders working
    on different tasks of one incident never conflict."""

    def __init__(self, core: LedgerApplication, incidents: IncidentHandlers) -> None:
        self.core = core
        self.incidents = incidents
        self.timeline_sources: tuple[Callable[[UUID], Sequence[Recorded]], ...] = ()
        """Other marks about an incident its timeline shows among its own events (alerts,
        campaigns, imports)."""

    def _open_blockers(self, task: ContainmentTask) -> list[UUID]:
        return [
            b
            for b in task.state.blocked_by
            if self.core.load(b, ContainmentTask).state.status not in FINISHED
        ]

    def move_task_dues(self, incident: Incident, cause: Cause) -> Sequence[BaseAggregate[UUID]]:
        """A correction of the incident's legal moments moves the due time of each open task
        that counts from a corrected moment, in the same save (one event per moved task; an
        incident follower)."""
        aggregate = incident
        others: list[BaseAggregate[UUID]] = []
        corrected = {
            name.value
            for event in aggregate.pending_events
            if isinstance(event, IncidentFactsAmended)
            for name in event.amended
            if name.value in MOMENT_FIELDS
        }
        if not corrected:
            return others
        tasks = self.core.load_many([UUID(t) for t in aggregate.state.tasks])
        moments = aggregate.state.moments
        for task in tasks.values():
            if isinstance(task, ContainmentTask) and task.follow_moments(
                cause, moments=moments, corrected=corrected
            ):
                others.append(task)
        return others

    def add_task(
        self, incident_id: UUID, request: OpenTask | Mapping[str, Any], ctx: RequestContext
    ) -> ContainmentTask:
        """Open a task on an incident and attach it, atomically (the incident's followers
        run as for any change to it)."""
        cmd = self.core.validated(OpenTask, request)
        task_id = uuid4()
        opened: list[ContainmentTask] = []

        def attach(incident: Incident, cause: Cause) -> None:
            for blocker in cmd.blocked_by:
                if str(blocker) not in incident.state.tasks:
                    raise InvalidInput("blocked_by", "names a task that is not on this incident")
            task = ContainmentTask.open(
                cause,
                task_id=task_id,
                incident_id=incident.id,
                incident_reported_at=incident.created_on,
                title=cmd.title,
                owner=cmd.owner,
                priority=cmd.priority,
                due_at=cmd.due_at,
                mandatory=cmd.mandatory,
                blocked_by=cmd.blocked_by,
            )
            incident.attach_task(cause, task_id=task.id, mandatory=cmd.mandatory)
            opened[:] = [task]

        def follow(incident: Incident, cause: Cause) -> Sequence[BaseAggregate[UUID]]:
            return [*opened, *self.incidents.follow(incident, cause)]

        self.core.change(
            incident_id,
            Incident,
            ctx,
            attach,
            logged="task.opened",
            follow=follow,
            task_id=str(task_id),
        )
        return opened[0]

    def _task(
        self, task_id: UUID, ctx: RequestContext, logged: str, command: Any
    ) -> ContainmentTask:
        return self.core.change(task_id, ContainmentTask, ctx, command, logged=logged)

    def assign_task(
        self, task_id: UUID, request: AssignTask | Mapping[str, Any], ctx: RequestContext
    ) -> ContainmentTask:
        """Give a task to an owner."""
        cmd = self.core.validated(AssignTask, request)
        return self._task(task_id, ctx, "task.assigned", lambda t, c: t.assign(c, owner=cmd.owner))

    def start_task(self, task_id: UUID, ctx: RequestContext) -> ContainmentTask:
        """Start work on a task whose blockers are finished."""
        return self._task(
            task_id,
            ctx,
            "task.started",
            lambda t, c: t.start(c, open_blockers=self._open_blockers(t)),
        )

    def block_task(
        self, task_id: UUID, request: ReasonOnly | Mapping[str, Any], ctx: RequestContext
    ) -> ContainmentTask:
        """Mark a task blocked, with the reason."""
        cmd = self.core.validated(ReasonOnly, request)
        return self._task(task_id, ctx, "task.blocked", lambda t, c: t.block(c, reason=cmd.reason))

    def unblock_task(
        self, task_id: UUID, request: UnblockTask | Mapping[str, Any], ctx: RequestContext
    ) -> ContainmentTask:
        """Lift a block."""
        cmd = self.core.validated(UnblockTask, request)
        return self._task(
            task_id, ctx, "task.unblocked", lambda t, c: t.unblock(c, reason=cmd.reason)
        )

    def complete_task(
        self, task_id: UUID, request: CompleteTask | Mapping[str, Any], ctx: RequestContext
    ) -> ContainmentTask:
        """Record a task done, with its outcome and evidence."""
        cmd = self.core.validated(CompleteTask, request)
        return self._task(
            task_id,
            ctx,
            "task.completed",
            lambda t, c: t.complete(
                c,
                outcome=cmd.outcome,
                evidence=cmd.evidence,
                open_blockers=self._open_blockers(t),
            ),
        )

    def reopen_task(
        self, task_id: UUID, request: ReasonOnly | Mapping[str, Any], ctx: RequestContext
    ) -> ContainmentTask:
        """Reopen a done or cancelled task."""
        cmd = self.core.validated(ReasonOnly, request)
        return self._task(
            task_id, ctx, "task.reopened", lambda t, c: t.reopen(c, reason=cmd.reason)
        )

    def change_task_due(
        self, task_id: UUID, request: ChangeDue | Mapping[str, Any], ctx: RequestContext
    ) -> ContainmentTask:
        """Move a task's due time."""
        cmd = self.core.validated(ChangeDue, request)
        return self._task(
            task_id,
            ctx,
            "task.due_changed",
            lambda t, c: t.change_due(c, due_at=cmd.due_at, reason=cmd.reason),
        )

    def cancel_task(
        self, task_id: UUID, request: ReasonOnly | Mapping[str, Any], ctx: RequestContext
    ) -> ContainmentTask:
        """Cancel a task, with the reason."""
        cmd = self.core.validated(ReasonOnly, request)
        return self._task(
            task_id, ctx, "task.cancelled", lambda t, c: t.cancel(c, reason=cmd.reason)
        )

    def get_task(self, task_id: UUID) -> ContainmentTask:
        """A task as it is now."""
        return self.core.load(task_id, ContainmentTask)

    def timeline_events(self, incident_id: UUID) -> list[Recorded]:
        """The incident's events, each followed by its tasks' due-time moves, completions,
        reopenings and cancellations (and the marks of ``timeline_sources``, such as alerts)
        recorded at the same moment or before the next incident event (a move is saved with
        the correction that caused it)."""
        history = list(self.incidents.incident_history(incident_id))
        related: list[Recorded] = list(
            self._task_marks(
                [UUID(t) for t in self.incidents.get_incident(incident_id).state.tasks]
            )
        )
        for source in self.timeline_sources:
            related.extend(source(incident_id))
        moves = sorted(related, key=lambda e: e.timestamp)
        out: list[Recorded] = []
        for event in history:
            while moves and moves[0].timestamp < event.timestamp:
                out.append(moves.pop(0))
            out.append(event)
        return out + moves

    def _task_marks(self, task_ids: Sequence[UUID]) -> list[DomainEvent]:
        reads = event_reads(self.core.recorder)
        if reads is None:
            found: list[object] = [e for i in task_ids for e in self.core.events.get(i)]
        else:
            topics = {get_topic(kind) for kind in TIMELINE_TASK_EVENTS}
            found = [
                self.core.mapper.to_domain_event(s)
                for s in reads.stored(task_ids)
                if s.topic in topics
            ]
        return [e for e in found if isinstance(e, TIMELINE_TASK_EVENTS)]
