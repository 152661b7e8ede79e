"""The store feed: reads the event store's notification log, polling for other processes.

The same on SQLite and PostgreSQL: the feed polls ``select_notifications`` (positions only
increase; on PostgreSQL a number may be skipped, never filled in later), and a save in this
process wakes it at once through a :class:`~services.feeds.signal.SaveSignal`. On PostgreSQL
a listener (LISTEN/NOTIFY) raises the same signal for other processes' saves; it starts with
the first wait, so one-shot commands that never wait open no connection for it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol, cast
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification

from events.base import DomainEvent
from services.feeds.base import Positioned
from services.feeds.signal import SaveSignal
from services.storage.event_reads import RawEvent, event_reads

DECODED_KEPT = 2_000
"""How many of the events decoded last a store feed keeps (one batch of every reader)."""


class Listener(Protocol):
    """Tells of saves by other processes (see the module)."""

    def start(self) -> None:
        """Start listening (idempotent)."""

    def close(self) -> None:
        """Stop listening."""


class StoreFeed:
    """A :class:`~services.feeds.base.Feed` over an eventsourcing application recorder."""

    def __init__(
        self,
        recorder: ApplicationRecorder,
        mapper: Mapper[UUID],
        *,
        signal: SaveSignal | None = None,
        poll_interval: float = 0.5,
        listener: Listener | None = None,
        owns_recorder: bool = False,
    ) -> None:
        self.recorder = recorder
        self.mapper = mapper
        self.signal = signal
        self.poll_interval = poll_interval
        self.listener = listener
        self.owns_recorder = owns_recorder
        """The recorder is the feed's own (its connections are closed with the feed)."""
        self._decoded: OrderedDict[int, DomainEvent] = OrderedDict()
        self._decoded_lock = threading.Lock()
        self._last_read: tuple[int, int, Sequence[Notification]] = (-1, 0, ())
        """The last :meth:`read`: after which position, how many at most, what it found."""
        self._reads = event_reads(recorder)

    def read(self, after: int, limit: int) -> Sequence[Positioned]:
        """Return up to ``limit`` events after position ``after``, in log order.

        The events decoded last are kept (up to :data:`DECODED_KEPT`, by position): a
        server's policies and views read the same new events one after the other, and
        decoding, not reading, is what costs. A position always holds the same stored event
        and events are immutable, so a kept one is the one that would be decoded."""
        notifications = self.recorder.select_notifications(
            start=after, limit=limit, inclusive_of_start=False
        )
        self._last_read = (after, limit, notifications)
        return self._decode(notifications)

    def _decode(self, notifications: Sequence[Notification]) -> list[Positioned]:
        """The stored events decoded, each taken from the kept ones when it is there, and
        kept (see :meth:`read`)."""
        kept = self._decoded
        out: list[Positioned] = []
        with self._decoded_lock:
            found = [kept.get(n.id) for n in notifications]
        decoded: list[tuple[int, DomainEvent]] = []
        for n, event in zip(notifications, found, strict=True):
            if event is None:
                event = cast(DomainEvent, self.mapper.to_domain_event(n))
                decoded.append((n.id, event))
            out.append(Positioned(n.id, event))
        if decoded:
            with self._decoded_lock:
                kept.update(decoded)
                while len(kept) > DECODED_KEPT:
                    kept.popitem(last=False)
        return out

    def read_topics(
        self, after: int, limit: int, topics: Sequence[str], stop: int
    ) -> tuple[Sequence[Positioned], int]:
        """Up to ``limit`` events after ``after`` and up to ``stop`` whose topic is one of
        ``topics``, in log order, and the position up to which the log was read: the last
        event's when ``limit`` were found, else ``stop`` or the head, whichever is lower.

        The log's topic index lets the database skip the other events without reading them
        (see :mod:`services.storage.event_store`); only the events found are decoded, and
        kept like :meth:`read`'s (the catch-up loop's views read next what its policies
        read). The head is read before the events, so no event at or below the position
        returned is left unread: the last position saved here when the save signal says
        one passed ``after`` (the log commits its positions in order, so every event up to
        it is committed; what others saved beyond it is read on the next pass), else the
        store's."""
        told = self.last_saved()
        stop = min(stop, told if told > after else self.head())
        if stop <= after:
            return [], after
        notifications = self.recorder.select_notifications(
            start=after, limit=limit, stop=stop, topics=list(topics), inclusive_of_start=False
        )
        events = self._decode(notifications)
        return events, (events[-1].position if len(events) == limit else stop)

    def read_raw(self, after: int, limit: int) -> Sequence[Notification]:
        """Stored events after ``after``, undecoded (for the relay)."""
        return self.recorder.select_notifications(
            start=after, limit=limit, inclusive_of_start=False
        )

    def read_new_rows(self, after: int, limit: int) -> Sequence[RawEvent]:
        """Stored events to link after ``after``, as :meth:`read_rows` gives them; when the
        last :meth:`read` began after the same position and found every event there was
        (fewer than it asked for) or at least ``limit``, its stored events, as read: the
        catch-up loop's chain follows its views over the same new events, so it links the
        bytes the views were given without reading them again (what was saved since is
        read on the next pass). Never for verifying: that reads the store every time."""
        last_after, last_limit, found = self._last_read
        if last_after == after and (len(found) < last_limit or len(found) >= limit):
            return [_raw(n) for n in found[:limit]]
        return self.read_rows(after, limit)

    def read_rows(self, after: int, limit: int) -> Sequence[RawEvent]:
        """Stored events after ``after`` as plain tuples, read from the store (for the
        audit chain, which reads every event: straight from the table where the store is
        one we know)."""
        if self._reads is not None:
            return self._reads.raw(after, limit)
        return [_raw(n) for n in self.read_raw(after, limit)]

    def last_saved(self) -> int:
        """The last position saved in this process, as the save signal tells it (0: none,
        or no signal). The log commits positions in order, so every event up to it is
        committed: what reads and waits need without asking the store for its head."""
        return self.signal.last if self.signal is not None else 0

    def head(self) -> int:
        """Return the last position in the log (0 when empty)."""
        return self.recorder.max_notification_id() or 0

    def wait(self, after: int, timeout: float) -> bool:
        """Wait for a save (told by the signal) or the next poll, whichever tells first."""
        if self.listener is not None:
            self.listener.start()
        deadline = time.monotonic() + timeout
        while True:
            # A save in this process is told by the signal; the store is asked only for
            # what other processes saved.
            if self.signal is not None and self.signal.last > after:
                return True
            if self.head() > after:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            pause = min(self.poll_interval, remaining)
            if self.signal is not None:
                self.signal.wait_beyond(after, pause)
            else:
                time.sleep(pause)

    def close(self) -> None:
        """Stop the listener, if any, and close the feed's own connections."""
        if self.listener is not None:
            self.listener.close()
        if self.owns_recorder:
            datastore = getattr(self.recorder, "datastore", None)
            if datastore is not None:
                datastore.close()


def _raw(n: Notification) -> RawEvent:
    """A stored event as the audit chain reads it (aggregate ids as hexadecimal)."""
    return (n.id, UUID(str(n.originator_id)).hex, n.originator_version, n.topic, n.state)
