"""Reads of the PostgreSQL event table by many aggregate ids at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier

from services.storage.event_reads import RawEvent
from services.storage.sql import chunks


class PostgresEventReads:
    """Reads of the PostgreSQL event table (positions are its notification ids)."""

    def __init__(self, recorder: PostgresApplicationRecorder) -> None:
        self.recorder = recorder
        self.table = SQL("{}.{}").format(
            Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name)
        )

    def _rows(self, statement: SQL, params: Sequence[Any]) -> list[Any]:
        with self.recorder.datastore.transaction(commit=False) as c:
            c.execute(statement.format(table=self.table), list(params))
            return list(c.fetchall())

    def _ids(self, ids: Sequence[UUID]) -> list[Any]:
        if self.recorder.datastore.originator_id_type == "text":
            return [str(i) for i in ids]
        return list(ids)

    def created(self, ids: Sequence[UUID]) -> set[UUID]:
        """Which of ``ids`` have a first event (one query per 5000)."""
        found: set[UUID] = set()
        for chunk in chunks(self._ids(ids), 5000):
            rows = self._rows(
                SQL(
                    "SELECT originator_id FROM {table} "
                    "WHERE originator_version = 1 AND originator_id = ANY(%s)"
                ),
                [chunk],
            )
            found.update(UUID(str(row["originator_id"])) for row in rows)
        return found

    def stored(self, ids: Sequence[UUID]) -> list[Notification]:
        """The stored events of these aggregates in log order (one query per 5000)."""
        out: list[Notification] = []
        for chunk in chunks(self._ids(ids), 5000):
            rows = self._rows(
                SQL(
                    "SELECT notification_id, originator_id, originator_version, topic, state "
                    "FROM {table} WHERE originator_id = ANY(%s)"
                ),
                [chunk],
            )
            out.extend(
                Notification(
                    id=row["notification_id"],
                    originator_id=UUID(str(row["originator_id"])),
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in rows
            )
        return sorted(out, key=lambda n: n.id)

    def version_at(self, aggregate_id: UUID, position: int) -> int | None:
        """The aggregate's version when the log ended at ``position``."""
        rows = self._rows(
            SQL(
                "SELECT MAX(originator_version) AS v FROM {table} "
                "WHERE originator_id = %s AND notification_id <= %s"
            ),
            [self._ids([aggregate_id])[0], position],
        )
        return None if not rows or rows[0]["v"] is None else int(rows[0]["v"])

    def raw(self, after: int, limit: int) -> list[RawEvent]:
        """Stored events after ``after`` (aggregate ids as hexadecimal, whatever the
        column's type)."""
        rows = self._rows(
            SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state "
                "FROM {table} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
            ),
            [after, limit],
        )
        return [
            (
                row["notification_id"],
                UUID(str(row["originator_id"])).hex,
                row["originator_version"],
                row["topic"],
                bytes(row["state"]),
            )
            for row in rows
        ]
