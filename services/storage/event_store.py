"""The event store's own part of eventsourcing's on the embedded store: the SQLite recorder
with the log's topic index, and the environment key the PostgreSQL factory
(:mod:`services.storage.postgres_event_store`) reads the URL's libpq parameters from."""

from __future__ import annotations

from eventsourcing.sqlite import SQLiteProcessRecorder

LIBPQ_PARAMS = "BREACH_LIBPQ_PARAMS"
"""The event store environment's key of the URL's other parameters (a JSON object)."""


class LedgerSQLiteRecorder(SQLiteProcessRecorder):
    """eventsourcing's SQLite process recorder, with the log's topic index (on the topic
    alone, which SQLite keys by position already)."""

    def construct_create_table_statements(self) -> list[str]:
        """eventsourcing's tables, and the topic index."""
        statements = super().construct_create_table_statements()
        table = self.events_table_name
        statements.append(f"CREATE INDEX IF NOT EXISTS {table}_topic ON {table} (topic)")
        return statements


SQLITE_RECORDER = f"{__name__}:LedgerSQLiteRecorder"
"""The topic of the SQLite recorder, for the event store's environment."""
