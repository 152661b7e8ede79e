"""Which stored events a reader needs: event classes turned into the topics the log records.

A projection or a policy names the event classes it reads (``handles``); each class stands
for itself and every subclass, so a new event under a handled base is read without a change
here. The topics let a read of the log skip, in the database, every event no reader of it
needs (a million people's events, say, when only the board is replayed, or when the policies
catch up after an import); the classes let a batch already decoded skip the projections an
event does not concern.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Protocol
from uuid import UUID

from eventsourcing.utils import get_topic

from events.base import DomainEvent
from services.feeds.base import Positioned


def _with_subclasses(cls: type) -> set[type]:
    found = {cls}
    sub: type
    for sub in cls.__subclasses__():
        found |= _with_subclasses(sub)
    return found


@cache
def classes_of(handles: tuple[type, ...]) -> frozenset[type]:
    """The classes of ``handles`` and all their subclasses."""
    found: set[type] = set()
    for cls in handles:
        found |= _with_subclasses(cls)
    return frozenset(found)


def topics_of(handles: Iterable[type]) -> list[str]:
    """The topics the log records for events of ``handles`` (and their subclasses), sorted."""
    return sorted({get_topic(cls) for cls in classes_of(tuple(handles))})


Read = Callable[[int, int], Sequence[Positioned]]
"""A read of the log: up to ``limit`` events after a position, in order."""


class LogPassed(DomainEvent):
    """Stands, in a read of some topics, for the events passed over after the last one
    returned: its position is as far as the log was read. Never stored; no policy or view
    reacts to it, so whoever is offered it only moves on."""


PASSED = LogPassed(
    originator_id=UUID(int=0),
    originator_version=0,
    timestamp=datetime(1970, 1, 1, tzinfo=UTC),
    actor="",
    correlation_id="",
)


class TopicReader(Protocol):
    """A feed that reads the events of some topics alone (the store feed)."""

    def read_topics(
        self, after: int, limit: int, topics: Sequence[str], stop: int
    ) -> tuple[Sequence[Positioned], int]:
        """Events of ``topics`` after ``after`` up to ``stop``, and how far it read."""
        ...


def sparse_read(feed: TopicReader, topics: Sequence[str]) -> Read:
    """A plain read (``read(after, limit)``) of the events of ``topics`` alone: when the
    log was read beyond the last of them, :data:`PASSED` at the position reached ends the
    batch, so that a processor's position moves over the events it was not given."""

    def read(after: int, limit: int) -> Sequence[Positioned]:
        if not topics:
            return []
        items, reached = feed.read_topics(after, limit, topics, sys.maxsize)
        last = items[-1].position if items else after
        return [*items, Positioned(reached, PASSED)] if reached > last else items

    return read
