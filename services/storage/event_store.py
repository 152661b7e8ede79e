"""The event store's own part of eventsourcing's on the embedded store: the SQLite recorder
with the log's topic index and group commit, and the environment key the PostgreSQL factory
(:mod:`services.storage.postgres_event_store`) reads the URL's libpq parameters from.

Group commit: SQLite has one writer at a time, and a writer's turn lasts until its commit
has reached the disk (the event store waits for it); writers arriving meanwhile used to
queue for turns of their own, each paying for a commit. Here the writer that gets the turn
commits, in one transaction, the events of every writer waiting by then, each writer's in a
savepoint of its own: a writer whose events collide with stored ones (a lost race) is
rolled back alone and gets the same integrity error as before, and positions stay
gap-free (SQLite gives a rolled-back position to the next insert). The others wait for
that commit and return their positions, or its error (a failure of the transaction itself,
the disk's or the lock's, is every writer's in the group, as it would have been each one's
alone).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import DataError, IntegrityError, StoredEvent
from eventsourcing.sqlite import SQLiteProcessRecorder

LIBPQ_PARAMS = "BREACH_LIBPQ_PARAMS"
"""The event store environment's key of the URL's other parameters (a JSON object)."""


@dataclass
class _Write:
    """One writer's events waiting for a group commit, and what became of them."""

    events: Sequence[StoredEvent]
    kwargs: dict[str, Any]
    done: bool = False
    positions: Sequence[int] | None = None
    error: BaseException | None = None


class LedgerSQLiteRecorder(SQLiteProcessRecorder):
    """eventsourcing's SQLite process recorder, with the log's topic index (on the topic
    alone, which SQLite keys by position already) and group commit (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._waiting: list[_Write] = []
        self._waiting_lock = threading.Lock()
        self._turn = threading.Lock()

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Store ``stored_events`` (with a tracking record, when given) in the next group
        commit; their positions, in order."""
        mine = _Write(stored_events, kwargs)
        with self._waiting_lock:
            self._waiting.append(mine)
        with self._turn:
            if not mine.done:
                with self._waiting_lock:
                    group, self._waiting = self._waiting, []
                self._commit(group)
        if mine.error is not None:
            raise mine.error
        return mine.positions

    def _commit(self, group: list[_Write]) -> None:
        """Commit every write of ``group`` in one transaction, each in its own savepoint."""
        try:
            with self.datastore.transaction(commit=True) as c:
                for write in group:
                    c.execute("SAVEPOINT write")
                    try:
                        write.positions = self._insert_events(c, write.events, **write.kwargs)
                    except (sqlite3.IntegrityError, sqlite3.DataError) as e:
                        # What one writer's events cause is that writer's alone.
                        c.execute("ROLLBACK TO write")
                        failed = isinstance(e, sqlite3.IntegrityError)
                        write.error = IntegrityError(e) if failed else DataError(e)
                    c.execute("RELEASE write")
        except BaseException as e:
            for write in group:
                if write.error is None:
                    write.positions, write.error = None, e
        finally:
            for write in group:
                write.done = True

    def construct_create_table_statements(self) -> list[str]:
        """eventsourcing's tables, and the topic index."""
        statements = super().construct_create_table_statements()
        table = self.events_table_name
        statements.append(f"CREATE INDEX IF NOT EXISTS {table}_topic ON {table} (topic)")
        return statements


SQLITE_RECORDER = f"{__name__}:LedgerSQLiteRecorder"
"""The topic of the SQLite recorder, for the event store's environment."""
