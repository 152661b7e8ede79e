"""The event store's PostgreSQL factory: eventsourcing's own, with the database URL's other
libpq parameters (``sslmode``, ``sslrootcert``, ``target_session_attrs``...) on every
connection of the log.

eventsourcing builds its connection pool from host, port, database, user and password only;
without this, a URL asking for ``sslmode=verify-full`` would verify the server for every
connection but the event store's.
"""

from __future__ import annotations

import json
from typing import Any

from eventsourcing.postgres import PostgresFactory

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
