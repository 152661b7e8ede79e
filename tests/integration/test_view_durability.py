"""What waits for the disk on the embedded store: the views' file commits without waiting
(its rows are rebuilt from the log, and each view's position commits with its rows), while
the event store keeps SQLite's full synchronous commits."""

from __future__ import annotations

from pathlib import Path

from services.bootstrap import bootstrap
from services.config import Settings
from services.projections.sqlite_store import SQLiteViewStore


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
