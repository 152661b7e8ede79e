"""The small SQL interface the audit chain, the key store and the credential store use.

Statements are written once, with ``?`` placeholders and SQL both databases understand
(``INSERT ... ON CONFLICT ... DO UPDATE`` rather than ``INSERT OR REPLACE``); each database
runs them on its own connection and names its tables (schema-qualified on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

Params = Sequence[Any]


class Cursor(Protocol):
    """What a store does inside a transaction."""

    @property
    def rowcount(self) -> int:
        """Rows changed by the last statement."""
        ...

    def execute(self, sql: str, params: Params = ()) -> Any:
        """Run one statement."""
        ...

    def executemany(self, sql: str, rows: Sequence[Params]) -> Any:
        """Run one statement for each row of parameters."""
        ...

    def fetchone(self) -> Any:
        """The next row of the last query (a tuple), or None."""
        ...

    def fetchall(self) -> list[Any]:
        """The remaining rows of the last query (tuples)."""
        ...


class Database(Protocol):
    """A database the stores keep their tables in."""

    kind: str
    """``sqlite`` or ``postgres``."""

    blob: str
    """The column type of raw bytes."""

    integer: str
    """The column type of 64-bit integers (on SQLite, the rowid alias of a primary key)."""

    def table(self, name: str) -> str:
        """The name to write for table ``name`` in a statement."""
        ...

    def transaction(self, lock: str | None = None) -> AbstractContextManager[Cursor]:
        """A transaction that commits on success and rolls back on error.

        ``lock`` names a lock held until the end of the transaction, so that transactions
        naming the same lock (in any process) run one after the other.
        """
        ...

    def fetch(self, sql: str, params: Params = ()) -> list[Any]:
        """Run a query outside any write transaction and return its rows."""
        ...

    def reclaim(self, *tables: str) -> None:
        """Make the database drop the bytes of ``tables``' deleted rows now (not at some
        later maintenance), so erased secrets do not linger in its files."""
        ...

    def close(self) -> None:
        """Release the connections this object owns."""
        ...


def chunks(values: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    """``values`` in consecutive slices of at most ``size`` (bounded ``IN (...)`` lists)."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def marks(count: int) -> str:
    """``?, ?, ...``: ``count`` placeholders."""
    return ", ".join("?" for _ in range(count))
