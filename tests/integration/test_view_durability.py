"""What waits for the disk: the views' file and the audit chain's commits do not (both are
rebuilt from the log, their positions committed with their rows), while the event store
keeps SQLite's full synchronous commits and PostgreSQL's synchronous commit."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.bootstrap import bootstrap
from services.config import Settings
from services.projections.sqlite_store import SQLiteViewStore
from services.storage.postgres import PostgresDatabase, PostgresTarget
from services.storage.sqlite import SQLiteDatabase
from tests.support import postgres


def synchronous(datastore: object) -> int:
    """The ``synchronous`` setting of a connection of an eventsourcing SQLite datastore."""
    with datastore.get_connection(commit=False) as c:  # type: ignore[attr-defined]
        cursor = c.cursor()
        cursor.execute("PRAGMA synchronous")
        return int(cursor.fetchone()[0])


def test_only_the_views_file_commits_without_waiting_for_the_disk(tmp_path: Path) -> None:
    """The views' connections run with synchronous=NORMAL (1); the event store's with FULL
    (2), as SQLite and eventsourcing leave it."""
    rt = bootstrap(Settings(data_dir=tmp_path / "var"), configure_logs=False)
    try:
        assert isinstance(rt.views.store, SQLiteViewStore)
        assert synchronous(rt.views.store.datastore) == 1
        assert synchronous(rt.app.core.recorder.datastore) == 2  # type: ignore[attr-defined]
    finally:
        rt.close()


def test_a_transaction_that_need_not_be_durable_commits_without_waiting_on_sqlite(
    tmp_path: Path,
) -> None:
    """Inside a transaction that need not be durable (the chain's) the file's connection
    runs with synchronous=NORMAL; the next transaction, and one after a failure, with FULL
    again."""
    db = SQLiteDatabase(tmp_path / "audit.db")
    try:
        with db.transaction(durable=False) as c:
            inside = c.exec_driver_sql("PRAGMA synchronous").scalar()
        with db.transaction() as c:
            after = c.exec_driver_sql("PRAGMA synchronous").scalar()
        with pytest.raises(RuntimeError), db.transaction(durable=False):
            raise RuntimeError("failed")
        with db.transaction() as c:
            after_failure = c.exec_driver_sql("PRAGMA synchronous").scalar()
        assert (inside, after, after_failure) == (1, 2, 2)
    finally:
        db.close()


def test_a_transaction_that_need_not_be_durable_commits_without_waiting_on_postgres() -> None:
    """On PostgreSQL such a transaction turns synchronous_commit off for itself only."""
    with postgres.fresh_schema() as schema:
        db = PostgresDatabase(PostgresTarget.from_url(postgres.URL, schema))
        try:
            with db.transaction(durable=False) as c:
                inside = c.exec_driver_sql("SHOW synchronous_commit").scalar()
            with db.transaction() as c:
                after = c.exec_driver_sql("SHOW synchronous_commit").scalar()
            assert (inside, after) == ("off", "on")
        finally:
            db.close()
