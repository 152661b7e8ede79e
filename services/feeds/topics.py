"""Which stored events a reader needs: event classes turned into the topics the log records.

A projection names the event classes it reads (``handles``); each class stands for itself
and every subclass, so a new event under a handled base is read without a change here. The
topics let a read of the log skip, in the database, every event no reader of it needs (a
million people's events, say, when only the board is replayed); the classes let a batch
already decoded skip the projections an event does not concern.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from eventsourcing.utils import get_topic


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
