"""The PostgreSQL event recorder, keeping the log's positions gap-free when a write loses.

eventsourcing's recorder numbers events from a sequence, under a table lock so that
positions are committed in order. A sequence number drawn by an insert that then fails
(two commands racing on one aggregate: the loser's version already exists) is never used
again, which would leave a hole in the log. This recorder first re-inserts the rows the new
events collide with, under their own positions: that fails with the very unique violation
the real insert would raise (so the transaction aborts and the loser retries, as on SQLite),
but before any number is drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresDatastore,
    PostgresProcessRecorder,
)
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from services.storage.postgres_event_store import topic_index


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
        id_type = self.datastore.originator_id_type
        self.collide_statement = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, notification_id) "
            "SELECT t.originator_id, t.originator_version, t.notification_id "
            "FROM {schema}.{table} t JOIN unnest(%s::{id_type}[], %s::bigint[]) "
            "AS n(originator_id, originator_version) "
            "ON t.originator_id = n.originator_id AND t.originator_version = n.originator_version "
            "RETURNING notification_id"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
            id_type=SQL(id_type),
        )

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
