"""The event store's PostgreSQL parts of eventsourcing's: the factory, with the database
URL's other libpq parameters (``sslmode``, ``sslrootcert``, ``target_session_attrs``...) on
every connection of the log, and the log's topic index.

eventsourcing builds its connection pool from host, port, database, user and password only;
without this, a URL asking for ``sslmode=verify-full`` would verify the server for every
connection but the event store's. Kept apart from :mod:`services.storage.event_store` so a
process on the embedded store never loads the PostgreSQL driver.
"""

from __future__ import annotations

import json
from typing import Any

from eventsourcing.postgres import PostgresFactory
from psycopg.sql import SQL, Composed, Identifier

from services.storage.event_store import LIBPQ_PARAMS


class LedgerPostgresFactory(PostgresFactory):
    """eventsourcing's PostgreSQL factory, adding the URL's libpq parameters to its pool."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        given = self.env.get(LIBPQ_PARAMS)
        if given:
            kwargs = self.datastore.pool.kwargs
            assert isinstance(kwargs, dict)
            kwargs.update(json.loads(given))


def topic_index(schema: str, table: str) -> Composed:
    """The PostgreSQL topic index of the log: a read of some topics only (replaying the
    board of a log holding a million people's events, say) finds their events without
    reading the others. On SQLite the index is on the topic alone, which it keys by
    position already."""
    return SQL(
        "CREATE INDEX IF NOT EXISTS {index} ON {schema}.{table} (topic, notification_id)"
    ).format(index=Identifier(f"{table}_topic"), schema=Identifier(schema), table=Identifier(table))
