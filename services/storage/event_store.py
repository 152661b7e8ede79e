"""The event store's own parts of eventsourcing's: the PostgreSQL factory, with the database
URL's other libpq parameters (``sslmode``, ``sslrootcert``, ``target_session_attrs``...) on
every connection of the log, and the log's topic index on both databases.

eventsourcing builds its connection pool from host, port, database, user and password only;
without this, a URL asking for ``sslmode=verify-full`` would verify the server for every
connection but the event store's.
"""

from __future__ import annotations

import json
from typing import Any

from eventsourcing.postgres import PostgresFactory
from eventsourcing.sqlite import SQLiteProcessRecorder
from psycopg.sql import SQL, Composed, Identifier

LIBPQ_PARAMS = "BREACH_LIBPQ_PARAMS"
"""The event store environment's key of the URL's other parameters (a JSON object)."""


class LedgerPostgresFactory(PostgresFactory):
    """eventsourcing's PostgreSQL factory, adding the URL's libpq parameters to its pool."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        given = self.env.get(LIBPQ_PARAMS)
        if given:
            kwargs = self.datastore.pool.kwargs
            assert isinstance(kwargs, dict)
            kwargs.update(json.loads(given))


class LedgerSQLiteRecorder(SQLiteProcessRecorder):
    """eventsourcing's SQLite process recorder, with the log's topic index (see
    :func:`topic_index`)."""

    def construct_create_table_statements(self) -> list[str]:
        """eventsourcing's tables, and the topic index."""
        statements = super().construct_create_table_statements()
        table = self.events_table_name
        statements.append(f"CREATE INDEX IF NOT EXISTS {table}_topic ON {table} (topic)")
        return statements


SQLITE_RECORDER = f"{__name__}:LedgerSQLiteRecorder"
"""The topic of the SQLite recorder, for the event store's environment."""


def topic_index(schema: str, table: str) -> Composed:
    """The PostgreSQL topic index of the log: a read of some topics only (replaying the
    board of a log holding a million people's events, say) finds their events without
    reading the others. On SQLite the index is on the topic alone, which it keys by
    position already."""
    return SQL(
        "CREATE INDEX IF NOT EXISTS {index} ON {schema}.{table} (topic, notification_id)"
    ).format(index=Identifier(f"{table}_topic"), schema=Identifier(schema), table=Identifier(table))
