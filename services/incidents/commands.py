"""Requests on incidents, validated at the edge before they reach the aggregate."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from events.incident import AmendableFact
from events.values import BreachDetermination, IncidentType, LegalMoments, Severity, SourceChannel
from services.application.context import ActorName
from services.application.fields import Line, Moment, OptionalText, Text, Title


class Command(BaseModel):
    """Base of command models: frozen, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ReportIncident(Command):
    """Report a new incident."""

    title: Title
    description: OptionalText = ""
    reporter: Title
    source: SourceChannel = SourceChannel.EMPLOYEE
    incident_type: IncidentType = IncidentType.OTHER
    occurred_at: Moment | None = None
    discovered_at: Moment
    aware_at: Moment | None = None
    determined_at: Moment | None = None

    def moments(self) -> LegalMoments:
        """The legal moments of the report."""
        return LegalMoments(
            occurred_at=self.occurred_at,
            discovered_at=self.discovered_at,
            aware_at=self.aware_at,
            determined_at=self.determined_at,
        )


class AmendFacts(Command):
    """Correct facts of a report. Only the fields given are changed; a moment given as
    null is cleared (``discovered_at`` cannot be)."""

    reason: Line
    title: Title | None = None
    description: OptionalText | None = None
    occurred_at: Moment | None = None
    discovered_at: Moment | None = None
    aware_at: Moment | None = None
    determined_at: Moment | None = None

    def changes(self) -> dict[AmendableFact, object]:
        """The facts given, with their new values."""
        return {
            name: getattr(self, name.value)
            for name in AmendableFact
            if name.value in self.model_fields_set
        }


class TriageIncident(Command):
    """Record the triage of an incident. Only the fields given change (an omitted one, or
    one given as null, keeps its value); at least one must be given."""

    severity: Severity | None = None
    personal_data_breach: BreachDetermination | None = None
    incident_type: IncidentType | None = None

    def given(self) -> dict[str, object]:
        """The fields given, with their values."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class AddNote(Command):
    """Add a note to an incident."""

    text: Text


class CloseIncident(Command):
    """Close an incident with its resolution."""

    resolution: Line


class ReopenIncident(Command):
    """Reopen a closed incident."""

    reason: Line


class AssignOwner(Command):
    """Give an incident to an owner (a user), or remove its owner with null. Omitted,
    nothing changes, and the request is refused."""

    owner: ActorName | None = None

    def given(self) -> bool:
        """Whether the owner was given (null included)."""
        return "owner" in self.model_fields_set
