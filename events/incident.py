"""The Incident aggregate: what was reported, corrected, triaged, noted, closed and reopened.

Commands are the public methods; each checks the rules, then triggers exactly one event.
Events only move state (their ``apply``); they never check rules, so that a history that
was valid when it was written always replays, whatever the rules are today.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import BaseAggregate
from pydantic import AwareDatetime, BaseModel, ConfigDict

from events.base import AggregateCreated, Cause, DomainEvent
from events.errors import RuleViolation
from events.values import (
    BreachDetermination,
    IncidentStatus,
    IncidentType,
    LegalMoments,
    Severity,
    SourceChannel,
)


class AmendableFact(StrEnum):
    """Facts of a report that a later correction may change."""

    TITLE = "title"
    DESCRIPTION = "description"
    OCCURRED_AT = "occurred_at"
    DISCOVERED_AT = "discovered_at"
    AWARE_AT = "aware_at"
    DETERMINED_AT = "determined_at"


TITLE_MAX = 200
TEXT_MAX = 20_000


class Note(BaseModel):
    """A free-text note added to an incident's record."""

    model_config = ConfigDict(frozen=True)

    text: str
    actor: str
    at: AwareDatetime


class IncidentState(BaseModel):
    """Everything the Incident aggregate knows, as one immutable value."""

    model_config = ConfigDict(frozen=True)

    title: str
    description: str
    reporter: str
    source: SourceChannel
    incident_type: IncidentType
    moments: LegalMoments
    severity: Severity | None = None
    personal_data_breach: BreachDetermination = BreachDetermination.UNDETERMINED
    status: IncidentStatus = IncidentStatus.OPEN
    resolution: str | None = None
    notes: tuple[Note, ...] = ()

    def fact(self, name: AmendableFact) -> Any:
        """Return the current value of an amendable fact."""
        if name in (AmendableFact.TITLE, AmendableFact.DESCRIPTION):
            return getattr(self, name.value)
        return getattr(self.moments, name.value)

    def with_facts(self, changes: Mapping[AmendableFact, Any]) -> IncidentState:
        """Return a copy with the given facts replaced (moments validated as a whole)."""
        top = {k.value: v for k, v in changes.items() if k in _TEXT_FACTS}
        moment_changes = {k.value: v for k, v in changes.items() if k not in _TEXT_FACTS}
        moments = self.moments
        if moment_changes:
            moments = LegalMoments.model_validate({**self.moments.model_dump(), **moment_changes})
        return self.model_copy(update={**top, "moments": moments})


_TEXT_FACTS = (AmendableFact.TITLE, AmendableFact.DESCRIPTION)


class IncidentEvent(DomainEvent):
    """Base class of every event in an incident's history."""


class IncidentReported(AggregateCreated):
    """An incident was reported: the first event of every incident."""

    title: str
    description: str
    reporter: str
    source: SourceChannel
    incident_type: IncidentType
    occurred_at: AwareDatetime | None = None
    discovered_at: AwareDatetime
    aware_at: AwareDatetime | None = None
    determined_at: AwareDatetime | None = None

    def apply(self, aggregate: Incident) -> None:
        """Start the incident's state from the report."""
        aggregate.state = IncidentState(
            title=self.title,
            description=self.description,
            reporter=self.reporter,
            source=self.source,
            incident_type=self.incident_type,
            moments=LegalMoments(
                occurred_at=self.occurred_at,
                discovered_at=self.discovered_at,
                aware_at=self.aware_at,
                determined_at=self.determined_at,
            ),
        )


class IncidentFactsAmended(IncidentEvent):
    """Facts of the report were corrected; ``amended`` lists which, with the new values.

    A moment listed in ``amended`` whose value is None was cleared (it is not known after
    all). Facts not listed kept their value.
    """

    reason: str
    amended: tuple[AmendableFact, ...]
    title: str | None = None
    description: str | None = None
    occurred_at: AwareDatetime | None = None
    discovered_at: AwareDatetime | None = None
    aware_at: AwareDatetime | None = None
    determined_at: AwareDatetime | None = None

    def changes(self) -> dict[AmendableFact, Any]:
        """Return the amended facts with their new values."""
        return {name: getattr(self, name.value) for name in self.amended}

    def apply(self, aggregate: Incident) -> None:
        """Replace the amended facts."""
        aggregate.state = aggregate.state.with_facts(self.changes())


class IncidentTriaged(IncidentEvent):
    """The incident was triaged: its severity, breach determination and type were set.

    Version 1 stored the breach determination as ``personal_data_breach: bool | None``;
    version 2 stores the three-valued :class:`BreachDetermination`.
    """

    class_version = 2

    severity: Severity
    personal_data_breach: BreachDetermination
    incident_type: IncidentType

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Map the version 1 boolean (or null) determination onto the three values."""
        old = state.get("personal_data_breach")
        state["personal_data_breach"] = "undetermined" if old is None else ("yes" if old else "no")

    def apply(self, aggregate: Incident) -> None:
        """Record the triage."""
        aggregate.state = aggregate.state.model_copy(
            update={
                "severity": self.severity,
                "personal_data_breach": self.personal_data_breach,
                "incident_type": self.incident_type,
            }
        )


class IncidentNoteAdded(IncidentEvent):
    """A note was added to the incident's record."""

    text: str

    def apply(self, aggregate: Incident) -> None:
        """Append the note."""
        note = Note(text=self.text, actor=self.actor, at=self.timestamp)
        aggregate.state = aggregate.state.model_copy(
            update={"notes": (*aggregate.state.notes, note)}
        )


class IncidentClosed(IncidentEvent):
    """The incident was closed with a resolution."""

    resolution: str

    def apply(self, aggregate: Incident) -> None:
        """Mark the incident closed."""
        aggregate.state = aggregate.state.model_copy(
            update={"status": IncidentStatus.CLOSED, "resolution": self.resolution}
        )


class IncidentReopened(IncidentEvent):
    """A closed incident was reopened, with the reason."""

    reason: str

    def apply(self, aggregate: Incident) -> None:
        """Mark the incident open again."""
        aggregate.state = aggregate.state.model_copy(
            update={"status": IncidentStatus.OPEN, "resolution": None}
        )


def _required_text(field: str, value: str, limit: int = TEXT_MAX) -> str:
    text = value.strip()
    if not text:
        raise RuleViolation(field, "must not be empty")
    if len(text) > limit:
        raise RuleViolation(field, f"must be at most {limit} characters")
    return text


def _check_moments(moments: LegalMoments, at: datetime) -> None:
    problem = moments.problem(at)
    if problem is not None:
        raise RuleViolation(*problem)


class Incident(BaseAggregate[UUID]):
    """A security incident, possibly a personal-data breach, and everything recorded on it."""

    if TYPE_CHECKING:
        state: IncidentState

    @classmethod
    def report(
        cls,
        cause: Cause,
        *,
        incident_id: UUID,
        title: str,
        description: str,
        reporter: str,
        source: SourceChannel,
        incident_type: IncidentType,
        moments: LegalMoments,
    ) -> Incident:
        """Open a new incident from a report."""
        _check_moments(moments, cause.at)
        if len(description) > TEXT_MAX:
            raise RuleViolation("description", f"must be at most {TEXT_MAX} characters")
        return cls._create(
            IncidentReported,
            id=incident_id,
            title=_required_text("title", title, TITLE_MAX),
            description=description.strip(),
            reporter=_required_text("reporter", reporter, TITLE_MAX),
            source=source,
            incident_type=incident_type,
            **moments.model_dump(),
            **cause.stamp(),
        )

    @property
    def is_closed(self) -> bool:
        """Whether the incident is closed."""
        return self.state.status is IncidentStatus.CLOSED

    def _require_open(self, doing: str) -> None:
        if self.is_closed:
            raise RuleViolation("status", f"the incident is closed; reopen it before {doing}")

    def amend_facts(
        self, cause: Cause, *, reason: str, changes: Mapping[AmendableFact, Any]
    ) -> None:
        """Correct facts of the report; only facts whose value really changes are recorded."""
        self._require_open("amending it")
        reason = _required_text("reason", reason)
        effective: dict[AmendableFact, Any] = {}
        for name, value in changes.items():
            if name in _TEXT_FACTS:
                value = (
                    _required_text("title", value, TITLE_MAX)
                    if name is AmendableFact.TITLE
                    else str(value).strip()
                )
            if value != self.state.fact(name):
                effective[name] = value
        if not effective:
            raise RuleViolation(
                ", ".join(n.value for n in changes) or "changes",
                "the correction changes nothing",
            )
        if effective.get(AmendableFact.DISCOVERED_AT, ...) is None:
            raise RuleViolation("discovered_at", "is required and cannot be cleared")
        if len(effective.get(AmendableFact.DESCRIPTION) or "") > TEXT_MAX:
            raise RuleViolation("description", f"must be at most {TEXT_MAX} characters")
        _check_moments(self.state.with_facts(effective).moments, cause.at)
        self.trigger_event(
            IncidentFactsAmended,
            reason=reason,
            amended=tuple(effective),
            **{name.value: value for name, value in effective.items()},
            **cause.stamp(),
        )

    def triage(
        self,
        cause: Cause,
        *,
        severity: Severity,
        personal_data_breach: BreachDetermination,
        incident_type: IncidentType,
    ) -> None:
        """Set severity, whether it is a personal-data breach, and the incident type."""
        self._require_open("triaging it")
        state = self.state
        if (severity, personal_data_breach, incident_type) == (
            state.severity,
            state.personal_data_breach,
            state.incident_type,
        ):
            raise RuleViolation(
                "triage", "changes nothing: severity, breach and type already have these values"
            )
        self.trigger_event(
            IncidentTriaged,
            severity=severity,
            personal_data_breach=personal_data_breach,
            incident_type=incident_type,
            **cause.stamp(),
        )

    def add_note(self, cause: Cause, *, text: str) -> None:
        """Add a note (allowed on closed incidents too: post-incident notes matter)."""
        self.trigger_event(IncidentNoteAdded, text=_required_text("text", text), **cause.stamp())

    def close(self, cause: Cause, *, resolution: str) -> None:
        """Close the incident with a resolution."""
        if self.is_closed:
            raise RuleViolation("status", "the incident is already closed")
        self.trigger_event(
            IncidentClosed, resolution=_required_text("resolution", resolution), **cause.stamp()
        )

    def reopen(self, cause: Cause, *, reason: str) -> None:
        """Reopen a closed incident."""
        if not self.is_closed:
            raise RuleViolation("status", "the incident is open; only a closed one can reopen")
        self.trigger_event(
            IncidentReopened, reason=_required_text("reason", reason), **cause.stamp()
        )
