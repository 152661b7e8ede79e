"""One SQLite file as a :class:`~services.storage.sql.Database`: a single connection in WAL
mode, shared by the threads of a process, with ``BEGIN IMMEDIATE`` write transactions (which
serialise writers across processes, so named locks need nothing more)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import structlog

from services.storage.sql import Params

log = structlog.get_logger()


class SQLiteDatabase:
    """An SQLite file; ``secure_delete`` overwrites deleted content in the file."""

    kind = "sqlite"
    blob = "BLOB"
    integer = "INTEGER"

    def __init__(
        self, path: Path, *, secure_delete: bool = False, cache_mib: int = 0, wal_mib: int = 0
    ) -> None:
        """Open ``path``; ``cache_mib`` sizes the page cache and ``wal_mib`` lets the
        write-ahead log grow to that much before it is folded into the file (0: SQLite's
        defaults, 2 MiB and 4 MiB)."""
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        if secure_delete:
            self._db.execute("PRAGMA secure_delete=ON")
        if cache_mib:
            self._db.execute(f"PRAGMA cache_size=-{int(cache_mib) * 1024}")
        if wal_mib:
            pages = int(wal_mib) * 2**20 // int(self._db.execute("PRAGMA page_size").fetchone()[0])
            self._db.execute(f"PRAGMA wal_autocheckpoint={pages}")

    def table(self, name: str) -> str:
        """Tables are named as they are."""
        return name

    @contextmanager
    def transaction(self, lock: str | None = None) -> Iterator[sqlite3.Cursor]:
        """A ``BEGIN IMMEDIATE`` transaction (every writer of the file waits for it)."""
        with self._lock:
            cursor = self._db.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")

    def fetch(self, sql: str, params: Params = ()) -> list[Any]:
        """Rows of a query."""
        with self._lock:
            return self._db.execute(sql, list(params)).fetchall()

    def pragma(self, statement: str) -> None:
        """Run a ``PRAGMA`` outside any transaction."""
        with self._lock:
            self._db.execute(f"PRAGMA {statement}")

    def reclaim(self, *tables: str) -> None:
        """Deleted rows were overwritten in place (``secure_delete``); fold the write-ahead
        log into the file and truncate it, so no copy remains there either. A reader of
        another process holding an old snapshot past the busy timeout leaves the log as it
        is (logged); the next reclaim or checkpoint folds it."""
        with self._lock:
            busy = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy:
            log.warning("sqlite.checkpoint_busy", file=self.path.name)

    def close(self) -> None:
        """Close the file."""
        self._db.close()
