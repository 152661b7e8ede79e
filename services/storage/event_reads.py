"""Reads of the event store by many aggregate ids at once, straight from its table.

The recorders read one aggregate per query; auditing and bulk commands need the events of
thousands. :func:`event_reads` gives the reader for the application's recorder (SQLite or
PostgreSQL), or None for any other recorder (the caller then reads one id at a time).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Notification
from eventsourcing.sqlite import SQLiteApplicationRecorder

from services.storage.sql import chunks, marks

RawEvent = tuple[int, str, int, str, bytes]
"""A stored event as the log holds it, undecoded, as a plain tuple: its position, its
aggregate's id (32 hexadecimal digits), the aggregate's version, the topic and the stored
bytes. What the audit chain digests; a reader of every event builds no object per event."""


class EventReads(Protocol):
    """Many aggregates' stored events in few queries."""

    def created(self, ids: Sequence[UUID]) -> set[UUID]:
        """Which of ``ids`` have a first event."""
        ...

    def stored(self, ids: Sequence[UUID]) -> list[Notification]:
        """The stored events of these aggregates, with their positions, in log order."""
        ...

    def version_at(self, aggregate_id: UUID, position: int) -> int | None:
        """The aggregate's last version at or before log position ``position``."""
        ...

    def raw(self, after: int, limit: int) -> list[RawEvent]:
        """Up to ``limit`` stored events after position ``after``, in log order."""
        ...


class SQLiteEventReads:
    """Reads of the SQLite event table (positions are its rowids)."""

    def __init__(self, recorder: SQLiteApplicationRecorder) -> None:
        self.recorder = recorder
        self.table = recorder.events_table_name

    def _rows(self, statement: str, params: Sequence[Any]) -> list[Any]:
        with self.recorder.datastore.transaction(commit=False) as c:
            c.execute(statement, list(params))
            return list(c.fetchall())

    def created(self, ids: Sequence[UUID]) -> set[UUID]:
        """Which of ``ids`` have a first event (one query per 500)."""
        found: set[UUID] = set()
        for chunk in chunks([i.hex for i in ids]):
            rows = self._rows(
                f"SELECT originator_id FROM {self.table} "
                f"WHERE originator_version = 1 AND originator_id IN ({marks(len(chunk))})",
                chunk,
            )
            found.update(UUID(row[0]) for row in rows)
        return found

    def stored(self, ids: Sequence[UUID]) -> list[Notification]:
        """The stored events of these aggregates in log order (one query per 500)."""
        out: list[Notification] = []
        for chunk in chunks([i.hex for i in ids]):
            rows = self._rows(
                "SELECT rowid, originator_id, originator_version, topic, state FROM "
                f"{self.table} WHERE originator_id IN ({marks(len(chunk))})",
                chunk,
            )
            out.extend(
                Notification(
                    id=row[0],
                    originator_id=UUID(row[1]),
                    originator_version=row[2],
                    topic=row[3],
                    state=row[4],
                )
                for row in rows
            )
        return sorted(out, key=lambda n: n.id)

    def version_at(self, aggregate_id: UUID, position: int) -> int | None:
        """The aggregate's version when the log ended at ``position``."""
        rows = self._rows(
            f"SELECT MAX(originator_version) FROM {self.table} "
            "WHERE originator_id = ? AND rowid <= ?",
            [aggregate_id.hex, position],
        )
        return None if not rows or rows[0][0] is None else int(rows[0][0])

    def raw(self, after: int, limit: int) -> list[RawEvent]:
        """Stored events after ``after`` (the table keeps aggregate ids as hexadecimal)."""
        with self.recorder.datastore.transaction(commit=False) as c:
            cursor = c.sqlite_cursor
            cursor.row_factory = None  # plain tuples, not the store's rows
            cursor.execute(
                "SELECT rowid, originator_id, originator_version, topic, state FROM "
                f"{self.table} WHERE rowid > ? ORDER BY rowid LIMIT ?",
                [after, limit],
            )
            rows: list[RawEvent] = cursor.fetchall()
            return rows


def event_reads(recorder: ApplicationRecorder) -> EventReads | None:
    """The bulk reader of ``recorder``'s table, or None when it is neither SQLite nor
    PostgreSQL."""
    if isinstance(recorder, SQLiteApplicationRecorder):
        return SQLiteEventReads(recorder)
    # PostgreSQL's driver is imported only by processes that use it.
    from eventsourcing.postgres import PostgresApplicationRecorder

    from services.storage.postgres_event_reads import PostgresEventReads

    if isinstance(recorder, PostgresApplicationRecorder):
        return PostgresEventReads(recorder)
    return None
