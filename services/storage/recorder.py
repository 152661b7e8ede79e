"""The PostgreSQL event recorder: the log's positions gap-free when a write loses, and a
command's events appended in one round trip.

eventsourcing's recorder numbers events from a sequence, under a table lock so that
positions are committed in order. A sequence number drawn by an insert that then fails
(two commands racing on one aggregate: the loser's version already exists) is never used
again, which would leave a hole in the log. This recorder first re-inserts the rows the new
events collide with, under their own positions: that fails with the very unique violation
the real insert would raise (so the transaction aborts and the loser retries, as on SQLite),
but before any number is drawn.

The table lock is held until the transaction commits, so every moment it is held is a
moment no other writer can append. eventsourcing's insert takes it and then talks to the
database several times (the lock, the insert, its positions, the commit), each exchange
waiting on the network and on the process's other threads. A command's events (saved
without a tracking record) are instead appended by one call of a function kept in the
schema (:data:`APPEND_FUNCTION`): lock, collision check, insert and commit happen inside
the database in one statement, and the lock is held only for that. Saves that carry a
tracking record (a policy's reactions) keep eventsourcing's insert, which records it in the
same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresDatastore,
    PostgresProcessRecorder,
)
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composable, Composed, Identifier, Literal

from services.storage.postgres_event_store import topic_index

APPEND_FUNCTION = "{table}_append_v1"
"""The name of the schema's append function (see the module); a change of its body is a
new name, so processes of the previous release keep calling the body they were written
for."""


class LedgerPostgresRecorder(PostgresProcessRecorder):
    """A process recorder (events and tracking) whose lost writes draw no positions."""

    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        events_table_name: str = "stored_events",
        tracking_table_name: str = "notification_tracking",
    ) -> None:
        super().__init__(
            datastore,
            events_table_name=events_table_name,
            tracking_table_name=tracking_table_name,
        )
        self.sql_create_statements.append(
            topic_index(self.datastore.schema, self.events_table_name)
        )
        self.append_function = APPEND_FUNCTION.format(table=self.events_table_name)
        self.check_identifier_length(self.append_function)
        # Two processes creating the schema at once must not replace the function at the
        # same moment (PostgreSQL refuses the second): the creating transaction first takes
        # an advisory lock of its own.
        self.sql_create_statements.insert(0, self._creation_lock())
        self.sql_create_statements.append(self._append_function())
        self.append_statement = self._sql("SELECT * FROM {schema}.{function}(%s, %s)")
        self.collide_statement = self._collide(
            SQL(
                "unnest(%s::{id_type}[], %s::bigint[]) AS n(originator_id, originator_version)"
            ).format(id_type=SQL(self.datastore.originator_id_type))
        ) + SQL(" RETURNING notification_id")

    def _creation_lock(self) -> Composed:
        key = f"breachledger:{self.datastore.schema}:create:{self.events_table_name}"
        return SQL("SELECT pg_advisory_xact_lock(hashtextextended({key}, 0))").format(
            key=Literal(key)
        )

    def _append_function(self) -> Composed:
        """The append function: the statements of :meth:`_insert_stored_events`, run inside
        the database in the calling statement's own transaction."""
        return self._sql(
            "CREATE OR REPLACE FUNCTION {schema}.{function}("
            "events {schema}.{event_type}[], lock_timeout text) "
            "RETURNS SETOF bigint LANGUAGE plpgsql AS $body$ "
            "BEGIN "
            "PERFORM set_config('lock_timeout', lock_timeout, true); "
            "LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
            "NOTIFY {channel}; "
            "{collide}; "
            "RETURN QUERY INSERT INTO {schema}.{table} "
            "(originator_id, originator_version, topic, state) "
            "SELECT n.originator_id, n.originator_version, n.topic, n.state "
            "FROM unnest(events) AS n RETURNING notification_id; "
            "END $body$",
            event_type=Identifier(self.stored_event_type_name),
            channel=Identifier(self.channel_name),
            collide=self._collide(SQL("unnest(events) AS n")),
        )

    def _collide(self, new: Composable) -> Composed:
        """The collision check: the stored rows that ``new`` (the events about to be
        inserted, as ``n``) would collide with, inserted again under their own positions,
        which fails with the unique violation before any position is drawn."""
        return self._sql(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, notification_id) "
            "SELECT t.originator_id, t.originator_version, t.notification_id "
            "FROM {schema}.{table} t JOIN {new} "
            "ON t.originator_id = n.originator_id AND t.originator_version = n.originator_version",
            new=new,
        )

    def _sql(self, template: str, **parts: Composable) -> Composed:
        """``template`` with the schema, the events table and the append function named
        (``{schema}``, ``{table}``, ``{function}``), and ``parts``."""
        return SQL(template).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
            function=Identifier(self.append_function),
            **parts,
        )

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Append ``stored_events``; their positions, in order. Without a tracking record,
        by one call of the append function (see the module)."""
        positions: Sequence[int] | None
        if kwargs.get("tracking") is not None or not stored_events:
            positions = super().insert_events(stored_events, **kwargs)
        else:
            positions = self._append(stored_events)
        return positions

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _append(self, stored_events: Sequence[StoredEvent]) -> list[int]:
        events = [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in stored_events
        ]
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                self.append_statement, (events, f"{self.datastore.lock_timeout}s"), prepare=True
            )
            return [row[self.append_function] for row in curs.fetchall()]

    def _insert_stored_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        **kwargs: Any,
    ) -> None:
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(
            self.collide_statement,
            (
                [e.originator_id for e in stored_events],
                [e.originator_version for e in stored_events],
            ),
            prepare=False,
        )
        # Fetching waits for the outcome here, so that after a collision nothing else is in
        # the pipeline (a statement the server skips must not be taken for prepared).
        curs.fetchall()
        # The aggregate recorder's insert: the application recorder's own would lock and
        # notify again. These private members are eventsourcing 9.5's, pinned (name and
        # parameters) by tests/unit/test_eventsourcing_internals.py.
        PostgresAggregateRecorder._insert_stored_events(self, curs, stored_events, **kwargs)
