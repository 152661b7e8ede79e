"""Requests on incidents, validated at the edge before they reach the aggregate."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints

from events.incident import TEXT_MAX, TITLE_MAX, AmendableFact
from events.values import BreachDetermination, IncidentType, LegalMoments, Severity, SourceChannel

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TEXT_MAX)]
OptionalText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=TEXT_MAX)]


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
    occurred_at: AwareDatetime | None = None
    discovered_at: AwareDatetime
    aware_at: AwareDatetime | None = None
    determined_at: AwareDatetime | None = None

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

    reason: Text
    title: Title | None = None
    description: OptionalText | None = None
    occurred_at: AwareDatetime | None = None
    discovered_at: AwareDatetime | None = None
    aware_at: AwareDatetime | None = None
    determined_at: AwareDatetime | None = None

    def changes(self) -> dict[AmendableFact, object]:
        """The facts given, with their new values."""
        return {
            name: getattr(self, name.value)
            for name in AmendableFact
            if name.value in self.model_fields_set
        }


class TriageIncident(Command):
    """Record the triage of an incident."""

    severity: Severity
    personal_data_breach: BreachDetermination = BreachDetermination.UNDETERMINED
    incident_type: IncidentType | None = None


class AddNote(Command):
    """Add a note to an incident."""

    text: Text


class CloseIncident(Command):
    """Close an incident with its resolution."""

    resolution: Text


class ReopenIncident(Command):
    """Reopen a closed incident."""

    reason: Text
