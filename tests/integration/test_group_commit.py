"""The embedded event store's group commit, on a real SQLite file: writers waiting for the
write turn are committed together, a lost race fails alone, and positions stay gap-free."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.sqlite import SQLiteDatastore

from services.storage.event_store import LedgerSQLiteRecorder


class Counting(LedgerSQLiteRecorder):
    """Counts the writers that came in and the size of each group committed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.entered = 0
        self.groups: list[int] = []

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        self.entered += 1
        return super().insert_events(stored_events, **kwargs)

    def _commit(self, group: list[Any]) -> None:
        self.groups.append(len(group))
        super()._commit(group)


def _event(originator: UUID, version: int) -> StoredEvent:
    return StoredEvent(originator_id=originator, originator_version=version, topic="t", state=b"x")


def test_waiting_writers_commit_together_a_lost_race_fails_alone_and_no_position_is_skipped(
    tmp_path: Path,
) -> None:
    """While another connection holds the write lock, eight writers queue (two of them
    racing on one aggregate's first version); once it lets go, the ones that waited are
    committed in one transaction, exactly one racer gets the integrity error, and the other
    writers' 13 events hold positions 1 to 13."""
    path = tmp_path / "events.db"
    recorder = Counting(SQLiteDatastore(str(path), lock_timeout=30))
    recorder.create_table()
    raced = uuid4()
    writes = [[_event(raced, 1)], [_event(raced, 1)]]
    writes += [[_event(o, 1), _event(o, 2)] for o in (uuid4() for _ in range(6))]
    results: dict[int, Sequence[int] | str | None] = {}

    def write(i: int) -> None:
        try:
            results[i] = recorder.insert_events(writes[i])
        except IntegrityError:
            results[i] = "lost"

    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    threads = [threading.Thread(target=write, args=(i,)) for i in range(len(writes))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while recorder.entered < len(writes):
        assert time.monotonic() < deadline, "the writers never came in"
        time.sleep(0.01)
    time.sleep(0.2)  # every writer is past its count and queued behind the first
    blocker.execute("ROLLBACK")
    for thread in threads:
        thread.join(30)
    assert list(results.values()).count("lost") == 1
    positions = sorted(p for r in results.values() if isinstance(r, list) for p in r)
    assert positions == list(range(1, 14))
    assert sum(recorder.groups) == len(writes)
    assert max(recorder.groups) >= len(writes) - 1
    assert [n.id for n in recorder.select_notifications(start=1, limit=100)] == positions
