"""One SQLite file as a :class:`~services.storage.sql.Database`: a single connection in WAL
mode, shared by the threads of a process, with ``BEGIN IMMEDIATE`` write transactions (which
serialise writers across processes, so named locks need nothing more). SQLAlchemy runs the
statements on that one connection; the transactions are this class's own."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import structlog
from eventsourcing.persistence import ApplicationRecorder, ConnectionUnavailableError
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteDatastore,
)
from sqlalchemy import Connection, Executable, Table, create_engine
from sqlalchemy.pool import StaticPool

from services.storage.sql import Prepared

log = structlog.get_logger()


class SQLiteDatabase:
    """An SQLite file; ``secure_delete`` overwrites deleted content in the file."""

    kind = "sqlite"

    def __init__(
        self, path: Path, *, secure_delete: bool = False, cache_mib: int = 0, wal_mib: int = 0
    ) -> None:
        """Open ``path``; ``cache_mib`` sizes the page cache and ``wal_mib`` lets the
        write-ahead log grow to that much before it is folded into the file (0: SQLite's
        defaults, 2 MiB and 4 MiB)."""
        self.path = path
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._synchronous = int(self._db.execute("PRAGMA synchronous").fetchone()[0])
        if secure_delete:
            self._db.execute("PRAGMA secure_delete=ON")
        if cache_mib:
            self._db.execute(f"PRAGMA cache_size=-{int(cache_mib) * 1024}")
        if wal_mib:
            pages = int(wal_mib) * 2**20 // int(self._db.execute("PRAGMA page_size").fetchone()[0])
            self._db.execute(f"PRAGMA wal_autocheckpoint={pages}")
        # The one connection above, in autocommit mode: SQLAlchemy begins nothing itself,
        # and a transaction is the BEGIN IMMEDIATE ... COMMIT of :meth:`transaction`.
        self.engine = create_engine(
            "sqlite+pysqlite://",
            creator=lambda: self._db,
            poolclass=StaticPool,
            # Nothing to reset when the connection is handed back: every transaction is
            # committed or rolled back by :meth:`transaction`, and queries run in autocommit.
            pool_reset_on_return=None,
        )

    def _connection(self) -> Connection:
        """The one SQLAlchemy connection over the file's connection, opened once (the
        caller holds the lock): checking a connection out of the engine for every
        statement cost more than a short transaction."""
        if self._conn is None:
            self._conn = self.engine.connect()
        return self._conn

    @contextmanager
    def transaction(self, lock: str | None = None, *, durable: bool = True) -> Iterator[Connection]:
        """A ``BEGIN IMMEDIATE`` transaction (every writer of the file waits for it); one
        that is not ``durable`` commits with ``synchronous=NORMAL`` (in WAL mode: atomic,
        and the last such commits may be missing after a power failure)."""
        with self._lock:
            conn = self._connection()
            if not durable:
                self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                try:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                    yield conn
                except BaseException:
                    conn.rollback()
                    raise
                conn.commit()
            finally:
                if not durable:
                    self._db.execute(f"PRAGMA synchronous={self._synchronous}")

    def query(
        self, statement: Executable | Prepared, params: Mapping[str, Any] | None = None
    ) -> Sequence[Any]:
        """Rows of a query."""
        with self._lock:
            conn = self._connection()
            try:
                if isinstance(statement, Prepared):
                    rows: Sequence[Any] = statement.run(conn, params).fetchall()
                    return rows
                return conn.execute(statement, dict(params or {})).all()
            finally:
                conn.rollback()

    def reclaim(self, *tables: Table) -> None:
        """Deleted rows were overwritten in place (``secure_delete``); fold the write-ahead
        log into the file and truncate it, so no copy remains there either. A reader of
        another process holding an old snapshot past the busy timeout leaves the log as it
        is (logged); the next reclaim or checkpoint folds it."""
        with self._lock:
            busy = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy:
            log.warning("sqlite.checkpoint_busy", file=self.path.name)

    def analyze(self, *tables: Table) -> None:
        """Nothing: the SQLite stores' queries are written for a planner without statistics
        (they name their indexes' columns and hint where needed), and statistics gathered on
        one moment's data could steer it away from those plans."""

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        self.engine.dispose()
        self._db.close()


def log_reader(path: Path, *, connections: int = 16) -> ApplicationRecorder:
    """A reader of the event log in ``path`` with connections of its own, for the feed that
    the background runners and the requests' read-your-writes read the log through.

    eventsourcing's SQLite pool hands out connections one caller at a time, and a writer
    waiting there for the write lock holds up every reader behind it; the runners would
    otherwise queue behind the requests' writes to read what those wrote. Reads in WAL
    mode never wait for a writer, so these connections need no lock of their own."""
    datastore = SQLiteDatastore(
        str(path), lock_timeout=30, pool_size=connections, max_overflow=connections
    )
    return SQLiteApplicationRecorder(datastore)


class LogConnections(SQLiteConnectionPool):
    """eventsourcing's SQLite pool for the event log, with writers queueing for the write
    lock before they ask for a connection.

    eventsourcing's pool hands out connections one caller at a time and lets a writer wait
    for the write lock in that turn, so a writer waiting for another's commit holds up
    every reader behind it (a request loading the signed-in user, say). Here a writer first
    takes a lock of the pool's own, outside that queue: readers pass while writers wait,
    and a writer reaches the pool's write lock only when nobody else writes."""

    def __init__(self, db_name: str, *, lock_timeout: int, pool_timeout: float = 5.0) -> None:
        super().__init__(db_name=db_name, lock_timeout=lock_timeout, pool_timeout=pool_timeout)
        self._writing = threading.Lock()

    def get_connection(
        self, timeout: float | None = None, *, is_writer: bool | None = None
    ) -> SQLiteConnection:
        """A connection; a writer's once no other writer holds one."""
        if is_writer is not True:
            return super().get_connection(timeout, is_writer=is_writer)
        wait = self.pool_timeout if timeout is None else timeout
        if not self._writing.acquire(timeout=wait):
            msg = "Timed out waiting for return of writer"
            raise ConnectionUnavailableError(msg)
        try:
            return super().get_connection(timeout, is_writer=True)
        except BaseException:
            self._writing.release()
            raise

    def put_connection(self, conn: SQLiteConnection) -> None:
        """Return a connection (a writer's lets the next writer in)."""
        writer = conn.is_writer is True
        try:
            super().put_connection(conn)
        finally:
            if writer:
                self._writing.release()


def queue_writers_apart(recorder: object, path: Path) -> None:
    """Give an eventsourcing SQLite recorder of the log in ``path`` a :class:`LogConnections`
    pool (its first pool, and the connections it opened, closed)."""
    datastore = getattr(recorder, "datastore", None)
    if not isinstance(datastore, SQLiteDatastore):
        return
    old = datastore.pool
    datastore.pool = LogConnections(
        str(path), lock_timeout=old.lock_timeout or 30, pool_timeout=old.pool_timeout
    )
    old.close()
