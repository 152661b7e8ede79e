"""Foundations shared by every aggregate: frozen pydantic events and the cause of a change.

Events are pydantic models (frozen, extra fields forbidden) that also satisfy the
eventsourcing library's mutation protocol, so the library's repository can replay them.
They are stored through :class:`services.application.encoding.PydanticMapper`.

Time is never read here: every event's ``timestamp`` (the moment it was recorded) comes
from the :class:`Cause` the caller passes in, which the application builds from its
injected clock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Protocol
from uuid import UUID

from eventsourcing.domain import (
    CanInitAggregate,
    CanMutateAggregate,
)
from pydantic import AwareDatetime, BaseModel, ConfigDict


class Cause(BaseModel):
    """Who asked for a change, under which correlation id, and when it is recorded."""

    model_config = ConfigDict(frozen=True)

    actor: str
    correlation_id: str
    at: AwareDatetime

    def stamp(self) -> dict[str, Any]:
        """Return the event fields every event takes from its cause."""
        return {"timestamp": self.at, "actor": self.actor, "correlation_id": self.correlation_id}


class Recorded(Protocol):
    """Something recorded at a moment by someone for a request: a domain event, or a
    view's summary of several (an import's people, as an incident's timeline tells it)."""

    @property
    def timestamp(self) -> datetime:
        """When it was recorded."""
        ...

    @property
    def actor(self) -> str:
        """Who did it."""
        ...

    @property
    def correlation_id(self) -> str:
        """The request it belongs to."""
        ...


class DomainEvent(BaseModel, CanMutateAggregate[UUID]):
    """A fact about an aggregate: immutable once created, versioned by ``class_version``.

    ``timestamp`` is when the fact was recorded (not when anything happened in the world;
    those moments are fields of the events that need them). ``actor`` is who caused it and
    ``correlation_id`` ties it to the request or upstream event that triggered it.

    A subclass whose stored shape changes raises ``class_version`` and adds a static method
    ``upcast_vN_vN+1(state: dict)`` that rewrites a stored dict of version N in place.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    class_version: ClassVar[int] = 1

    originator_id: UUID
    originator_version: int
    timestamp: AwareDatetime
    actor: str
    correlation_id: str

    @staticmethod
    def create_timestamp() -> datetime:
        """Refuse to read the clock: events take their time from their :class:`Cause`."""
        msg = "events take their timestamp from the Cause passed by the caller"
        raise TypeError(msg)


class AggregateCreated(DomainEvent, CanInitAggregate[UUID]):
    """The first event of an aggregate; names the aggregate class by topic."""

    originator_topic: str
