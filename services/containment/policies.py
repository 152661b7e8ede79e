"""Containment policies: open a playbook's tasks on triage; record containment reached or lost."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from eventsourcing.domain import BaseAggregate

from events.base import Cause, DomainEvent
from events.containment import (
    ContainmentTask,
    PlaybookStep,
    TaskCancelled,
    TaskCompleted,
    TaskOpened,
    TaskReopened,
    TaskStatus,
)
from events.incident import Incident, IncidentTriaged, TaskRef
from services.application.base import LedgerApplication
from services.containment.playbooks import PlaybookCatalog, due_at


def policy_cause(app: LedgerApplication, actor: str, event: DomainEvent) -> Cause:
    """The cause of a policy's reaction: the policy as actor, the upstream event as reason."""
    return Cause(
        actor=actor,
        correlation_id=f"event:{event.originator_id}:{event.originator_version}",
        at=app.clock.now(),
    )


class PlaybookPolicy:
    """When an incident is triaged with a type, open that type's playbook as tasks, once."""

    name = "policy.playbooks"
    handles: tuple[type[DomainEvent], ...] = (IncidentTriaged,)

    def __init__(self, app: LedgerApplication, catalog: PlaybookCatalog) -> None:
        self.app = app
        self.catalog = catalog

    def handle(self, event: DomainEvent) -> Sequence[BaseAggregate[UUID]]:
        """Open the tasks for a triage, unless this incident already has the playbook."""
        if not isinstance(event, IncidentTriaged):
            return ()
        incident = self.app.load(event.originator_id, Incident)
        playbook = self.catalog.for_type(event.incident_type)
        if playbook.id in incident.state.playbooks or incident.is_closed:
            return ()
        cause = policy_cause(self.app, self.name, event)
        ids = {step.id: playbook.task_id(incident.id, step) for step in playbook.steps}
        tasks = [
            ContainmentTask.open(
                cause,
                task_id=ids[step.id],
                incident_id=incident.id,
                incident_reported_at=incident.created_on,
                title=step.title,
                owner=None,
                priority=step.priority,
                due_at=due_at(
                    step,
                    incident.state.moments,
                    reported_at=incident.created_on,
                    triaged_at=event.timestamp,
                ),
                mandatory=step.mandatory,
                blocked_by=[ids[d] for d in step.depends_on],
                origin=PlaybookStep(playbook=playbook.id, version=playbook.version, step=step.id),
                due_anchor=step.due.anchor(),
            )
            for step in playbook.steps
        ]
        incident.apply_playbook(
            cause,
            playbook=playbook.id,
            version=playbook.version,
            title=playbook.title,
            tasks=[TaskRef(task_id=t.id, mandatory=t.state.mandatory) for t in tasks],
        )
        return [incident, *tasks]


class ContainmentPolicy:
    """Record on the incident when its last mandatory task is done, and when that stops
    being true (a task reopened, or a new mandatory task)."""

    name = "policy.containment"
    handles: tuple[type[DomainEvent], ...] = (
        TaskOpened,
        TaskCompleted,
        TaskReopened,
        TaskCancelled,
    )

    def __init__(self, app: LedgerApplication) -> None:
        self.app = app

    def handle(self, event: DomainEvent) -> Sequence[BaseAggregate[UUID]]:
        """Re-check containment of the task's incident."""
        if isinstance(event, TaskOpened):
            incident_id = event.incident_id
        elif isinstance(event, TaskCompleted | TaskReopened | TaskCancelled):
            incident_id = self.app.load(event.originator_id, ContainmentTask).state.incident_id
        else:
            return ()
        incident = self.app.load(incident_id, Incident)
        mandatory = [UUID(tid) for tid, needed in incident.state.tasks.items() if needed]
        states = [self.app.load(task_id, ContainmentTask).state for task_id in mandatory]
        done = [s.completed_at for s in states if s.status is TaskStatus.DONE and s.completed_at]
        finished = all(s.status in (TaskStatus.DONE, TaskStatus.CANCELLED) for s in states)
        reached = finished and bool(done)
        cause = policy_cause(self.app, self.name, event)
        changed = incident.record_containment(
            cause,
            completed=done if reached else None,
            reason=f"{type(event).__name__} on task {str(event.originator_id)[:8]}",
        )
        return [incident] if changed else ()
