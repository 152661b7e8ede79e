"""Affected people: one aggregate per person per incident, their personal data sealed.

Personal fields (email, name, external reference, free attributes) never appear in these
events in clear: they travel as :class:`Sealed` ciphertext under a per-person key held in a
key store outside the event log. Erasing a person destroys that key (crypto-shredding) and
records that it happened, without the data; the log stays whole and replays.

Nothing in these events derives from a person's address: their id is random, and the keyed
hashes (HMAC) that find a person by address or reference live in the key store's lookup
index, destroyed with their keys. Logs written before that change carry the keyed hashes in
``PersonRecorded.lookup``/``reference_lookup`` and ``PersonCorrected``, and ids derived from
them; those fields stay optional so such logs still decode, and are never written now.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import BaseAggregate
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from events.base import AggregateCreated, Cause, DomainEvent
from events.errors import RuleViolation


class Sealed(BaseModel):
    """Ciphertext of a person's data (AES-GCM), naming the key that opens it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key_id: UUID
    nonce: str
    ciphertext: str


class PersonStatus(StrEnum):
    """Whether a person's data can still be read."""

    ACTIVE = "active"
    ERASED = "erased"


def _absent(value: object) -> bool:
    return value is None


def _former_lookup() -> Any:
    """A keyed hash that only logs written before the lookup index carry: decoded when
    present, never written (left out of the stored event when None)."""
    return Field(default=None, exclude_if=_absent)


class PersonState(BaseModel):
    """What the aggregate knows about a person: routing facts and sealed data, never the
    personal data in clear."""

    model_config = ConfigDict(frozen=True)

    incident_id: UUID
    language: str
    jurisdiction: str
    sealed: Sealed
    key_ids: tuple[UUID, ...]
    status: PersonStatus = PersonStatus.ACTIVE
    recorded_at: AwareDatetime
    erased_at: AwareDatetime | None = None


class PersonEvent(DomainEvent):
    """Base class of every affected-person event."""


class PersonRecorded(AggregateCreated):
    """A person affected by an incident was recorded (usually by an import)."""

    incident_id: UUID
    lookup: str | None = _former_lookup()
    reference_lookup: str | None = _former_lookup()
    language: str
    jurisdiction: str
    sealed: Sealed
    source: str
    row: int

    def apply(self, aggregate: AffectedPerson) -> None:
        """Start the person's record."""
        aggregate.state = PersonState(
            incident_id=self.incident_id,
            language=self.language,
            jurisdiction=self.jurisdiction,
            sealed=self.sealed,
            key_ids=(self.sealed.key_id,),
            recorded_at=self.timestamp,
        )


class PersonCorrected(PersonEvent):
    """A person's data was corrected (e.g. a new address), resealed; the reason says why."""

    lookup: str | None = _former_lookup()
    reference_lookup: str | None = _former_lookup()
    language: str
    jurisdiction: str
    sealed: Sealed
    reason: str

    def apply(self, aggregate: AffectedPerson) -> None:
        """Replace the sealed data and routing facts."""
        state = aggregate.state
        keys = (
            state.key_ids
            if self.sealed.key_id in state.key_ids
            else (
                *state.key_ids,
                self.sealed.key_id,
            )
        )
        aggregate.state = state.model_copy(
            update={
                "language": self.language,
                "jurisdiction": self.jurisdiction,
                "sealed": self.sealed,
                "key_ids": keys,
            }
        )


class PersonErased(PersonEvent):
    """The person's keys were destroyed: their data can no longer be read by anyone."""

    reason: str
    keys_destroyed: tuple[UUID, ...]

    def apply(self, aggregate: AffectedPerson) -> None:
        """Mark the person erased."""
        aggregate.state = aggregate.state.model_copy(
            update={"status": PersonStatus.ERASED, "erased_at": self.timestamp}
        )


class AffectedPerson(BaseAggregate[UUID]):
    """A person whose data an incident affected."""

    STATE = PersonState

    LOG_KEY = "person_id"

    if TYPE_CHECKING:
        state: PersonState

    @classmethod
    def record(
        cls,
        cause: Cause,
        *,
        person_id: UUID,
        incident_id: UUID,
        language: str,
        jurisdiction: str,
        sealed: Sealed,
        source: str,
        row: int,
    ) -> AffectedPerson:
        """Record an affected person."""
        return cls._create(
            PersonRecorded,
            id=person_id,
            incident_id=incident_id,
            language=language,
            jurisdiction=jurisdiction,
            sealed=sealed,
            source=source,
            row=row,
            **cause.stamp(),
        )

    @property
    def is_erased(self) -> bool:
        """Whether the person's data was erased."""
        return self.state.status is PersonStatus.ERASED

    def correct(
        self,
        cause: Cause,
        *,
        language: str,
        jurisdiction: str,
        sealed: Sealed,
        reason: str,
        changed: bool,
    ) -> None:
        """Record corrected data; ``changed`` says whether the data really differs (the
        caller compared the opened data, which this aggregate cannot read)."""
        if self.is_erased:
            raise RuleViolation("person", "the person's data was erased; nothing to correct")
        if not changed:
            raise RuleViolation("correction", "changes nothing: the data is already so")
        if not reason.strip():
            raise RuleViolation("reason", "must not be empty")
        self.trigger_event(
            PersonCorrected,
            language=language,
            jurisdiction=jurisdiction,
            sealed=sealed,
            reason=reason.strip(),
            **cause.stamp(),
        )

    def erase(self, cause: Cause, *, reason: str, keys_destroyed: tuple[UUID, ...]) -> None:
        """Record that the person's keys were destroyed."""
        if self.is_erased:
            raise RuleViolation("person", "the person's data was already erased")
        if not reason.strip():
            raise RuleViolation("reason", "must not be empty")
        self.trigger_event(
            PersonErased, reason=reason.strip(), keys_destroyed=keys_destroyed, **cause.stamp()
        )

    def erased_at(self) -> datetime | None:
        """When the person was erased."""
        return self.state.erased_at
