"""The incident commands of the application, and the reads that come straight from the log."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol
from uuid import UUID, uuid4

from eventsourcing.domain import BaseAggregate
from eventsourcing.persistence import IntegrityError

from events.base import Cause, DomainEvent
from events.incident import AmendableFact, Incident
from services.application.base import LedgerApplication
from services.application.context import RequestContext
from services.application.errors import Conflict, InvalidInput
from services.incidents.commands import (
    AddNote,
    AmendFacts,
    AssignOwner,
    CloseIncident,
    ReopenIncident,
    ReportIncident,
    TriageIncident,
)


class DuplicateReport(Conflict):
    """An incident with this id (derived from an alert's id) was already reported."""

    title = "Duplicate report"
    exit_code = 2

    def __init__(self, incident_id: UUID) -> None:
        super().__init__("alert_id", f"already reported as incident {incident_id}")
        self.incident_id = incident_id


class IncidentFollower(Protocol):
    """What a change to an incident implies elsewhere, saved with it in one transaction:
    events added to the incident itself, and other aggregates with new pending events."""

    def __call__(self, incident: Incident, cause: Cause) -> Sequence[BaseAggregate[UUID]]:
        """Add what the change to ``incident`` implies; return the other aggregates changed."""
        ...


class IncidentHandlers:
    """Commands on incidents. Each validates its input, appends at most one event, and
    returns the incident as saved.

    ``incident_followers`` are the rules other capabilities attach to every change of an
    incident (obligations re-evaluated, task due times moved), run in order by
    :meth:`change_incident`, which every command that changes an incident goes through.
    """

    def __init__(self, core: LedgerApplication) -> None:
        self.core = core
        self.incident_followers: tuple[IncidentFollower, ...] = ()
        self.is_user: Callable[[str], bool] = lambda _name: True
        """Whether a username names a user (answered by the users capability)."""

    def change_incident(
        self,
        incident_id: UUID,
        ctx: RequestContext,
        command: Callable[[Incident, Cause], None],
        *,
        logged: str,
        **log_fields: Any,
    ) -> Incident:
        """Change an incident; its followers add what the change implies to the same save."""
        return self.core.change(
            incident_id, Incident, ctx, command, logged=logged, follow=self.follow, **log_fields
        )

    def follow(self, incident: Incident, cause: Cause) -> Sequence[BaseAggregate[UUID]]:
        """What every follower adds to a change of ``incident`` (the other aggregates)."""
        others: list[BaseAggregate[UUID]] = []
        for follower in self.incident_followers:
            others.extend(follower(incident, cause))
        return others

    def report_incident(
        self,
        request: ReportIncident | Mapping[str, Any],
        ctx: RequestContext,
        *,
        incident_id: UUID | None = None,
    ) -> Incident:
        """Report a new incident and return it. ``incident_id`` fixes its id (an alert's
        derived id makes intake idempotent); a second report with that id is refused."""
        cmd = self.core.validated(ReportIncident, request)
        if incident_id is not None and self.core.existing_ids([incident_id]):
            raise DuplicateReport(incident_id)
        try:
            return self._report(cmd, ctx, incident_id or uuid4())
        except IntegrityError:
            raise DuplicateReport(incident_id or uuid4()) from None

    def _report(self, cmd: ReportIncident, ctx: RequestContext, incident_id: UUID) -> Incident:
        return self.core.create(
            lambda cause: Incident.report(
                cause,
                incident_id=incident_id,
                title=cmd.title,
                description=cmd.description,
                reporter=cmd.reporter,
                source=cmd.source,
                incident_type=cmd.incident_type,
                moments=cmd.moments(),
            ),
            ctx,
            logged="incident.reported",
            incident_type=cmd.incident_type.value,
        )

    def amend_facts(
        self, incident_id: UUID, request: AmendFacts | Mapping[str, Any], ctx: RequestContext
    ) -> Incident:
        """Correct facts of an incident's report."""
        cmd = self.core.validated(AmendFacts, request)
        changes = cmd.changes()
        if not changes:
            raise InvalidInput("facts", "give at least one fact to correct")
        if AmendableFact.TITLE in changes and changes[AmendableFact.TITLE] is None:
            raise InvalidInput("title", "cannot be cleared")
        if AmendableFact.DESCRIPTION in changes and changes[AmendableFact.DESCRIPTION] is None:
            changes[AmendableFact.DESCRIPTION] = ""
        return self.change_incident(
            incident_id,
            ctx,
            lambda inc, cause: inc.amend_facts(cause, reason=cmd.reason, changes=changes),
            logged="incident.amended",
            facts=sorted(changes),
        )

    def triage_incident(
        self, incident_id: UUID, request: TriageIncident | Mapping[str, Any], ctx: RequestContext
    ) -> Incident:
        """Record severity, breach determination and type; the fields not given keep their
        values."""
        cmd = self.core.validated(TriageIncident, request)
        given = cmd.given()
        if not given:
            raise InvalidInput(
                "triage", "give at least one of severity, personal_data_breach, incident_type"
            )
        return self.change_incident(
            incident_id,
            ctx,
            lambda inc, cause: inc.triage(
                cause,
                severity=cmd.severity or inc.state.initial_severity,
                personal_data_breach=cmd.personal_data_breach or inc.state.personal_data_breach,
                incident_type=cmd.incident_type or inc.state.incident_type,
            ),
            logged="incident.triaged",
            fields=sorted(given),
        )

    def assign_owner(
        self, incident_id: UUID, request: AssignOwner | Mapping[str, Any], ctx: RequestContext
    ) -> Incident:
        """Give an incident to an owner, or remove its owner (``owner`` null)."""
        cmd = self.core.validated(AssignOwner, request)
        if not cmd.given():
            raise InvalidInput("owner", "is required (null removes the owner)")
        if cmd.owner is not None and not self.is_user(cmd.owner):
            raise InvalidInput("owner", "is not a user")
        return self.change_incident(
            incident_id,
            ctx,
            lambda inc, cause: inc.assign_owner(cause, owner=cmd.owner),
            logged="incident.owner_assigned",
        )

    def add_note(
        self, incident_id: UUID, request: AddNote | Mapping[str, Any], ctx: RequestContext
    ) -> Incident:
        """Add a note to an incident."""
        cmd = self.core.validated(AddNote, request)
        return self.change_incident(
            incident_id,
            ctx,
            lambda inc, cause: inc.add_note(cause, text=cmd.text),
            logged="incident.noted",
        )

    def close_incident(
        self, incident_id: UUID, request: CloseIncident | Mapping[str, Any], ctx: RequestContext
    ) -> Incident:
        """Close an incident."""
        cmd = self.core.validated(CloseIncident, request)
        return self.change_incident(
            incident_id,
            ctx,
            lambda inc, cause: inc.close(cause, resolution=cmd.resolution),
            logged="incident.closed",
        )

    def reopen_incident(
        self, incident_id: UUID, request: ReopenIncident | Mapping[str, Any], ctx: RequestContext
    ) -> Incident:
        """Reopen a closed incident."""
        cmd = self.core.validated(ReopenIncident, request)
        return self.change_incident(
            incident_id,
            ctx,
            lambda inc, cause: inc.reopen(cause, reason=cmd.reason),
            logged="incident.reopened",
        )

    def get_incident(self, incident_id: UUID) -> Incident:
        """The incident as it is now, from the log."""
        return self.core.load(incident_id, Incident)

    def incident_history(self, incident_id: UUID) -> Sequence[DomainEvent]:
        """Every event of the incident, oldest first."""
        self.core.load(incident_id, Incident)
        return [e for e in self.core.events.get(incident_id) if isinstance(e, DomainEvent)]
