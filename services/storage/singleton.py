"""One holder at a time across processes: a lease a worker takes before doing work that must
not run twice at once (sending the alert emails), held for as long as the process lives.

On PostgreSQL it is a session advisory lock on a connection of its own: the server frees it
the moment that connection ends, so a process killed mid-way gives it up at once. On the
embedded store it is an exclusive ``flock`` on a file in the data directory, which the
operating system frees when the process ends. Others wait, trying again now and then.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import structlog

if TYPE_CHECKING:
    import psycopg

    from services.storage.postgres import PostgresTarget

log = structlog.get_logger()


class Singleton(Protocol):
    """A lease only one process holds at a time."""

    def acquire(self) -> bool:
        """Take the lease if free (True), or say it is held elsewhere (False)."""
        ...

    def held(self) -> bool:
        """Whether this process still holds the lease (False once its hold was lost)."""
        ...

    def release(self) -> None:
        """Give the lease up (nothing when not held)."""
        ...


class FileSingleton:
    """The lease as an exclusive lock on ``path`` (embedded store)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Lock the file without waiting."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def held(self) -> bool:
        """A lock held by an open file lasts as long as the file."""
        return self._fd is not None

    def release(self) -> None:
        """Unlock and close the file."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class PostgresSingleton:
    """The lease as a session advisory lock named ``key`` on a connection of its own."""

    def __init__(self, target: PostgresTarget, key: str) -> None:
        self.target = target
        self.key = key
        self._conn: psycopg.Connection[Any] | None = None

    def acquire(self) -> bool:
        """Try the lock on a new connection; keep the connection while it is held."""
        if self._conn is not None:
            return self.held()
        import psycopg

        try:
            conn = psycopg.connect(**self.target.connect_kwargs(), autocommit=True)
        except psycopg.OperationalError:
            log.warning("singleton.unreachable", lease=self.key.rsplit(":", 1)[-1])
            return False
        row = conn.execute(
            "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [self.key]
        ).fetchone()
        if not (row and row[0]):
            conn.close()
            return False
        self._conn = conn
        return True

    def held(self) -> bool:
        """Whether the lock's connection is still alive (a lost connection lost the lock)."""
        if self._conn is None:
            return False
        import psycopg

        try:
            self._conn.execute("SELECT 1")
        except psycopg.Error:
            self.release()
            return False
        return True

    def release(self) -> None:
        """Close the connection, which frees the lock."""
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
