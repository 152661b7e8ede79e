"""The SQL interface of the state kept beside the event log: the credential store, the
sign-in throttle, the key store and its lookup index, the audit chain and the mailbox index.

Their tables are SQLAlchemy Core tables (each capability defines its own, with their
revision history as Alembic migrations: :mod:`services.storage.schema`); statements are
SQLAlchemy statements with named parameters, compiled for the database they run on. Each
database runs them on its own connections and names its tables (schema-qualified on
PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from sqlalchemy import ClauseElement, Connection, Executable, Table
from sqlalchemy.sql.compiler import SQLCompiler

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite

Params = Sequence[Any]
"""Positional parameters of a statement written as text (the views' stores)."""


class Database(Protocol):
    """A database the stores keep their tables in."""

    kind: str
    """``sqlite`` or ``postgres``."""

    def transaction(
        self, lock: str | None = None, *, durable: bool = True
    ) -> AbstractContextManager[Connection]:
        """A write transaction that commits on success and rolls back on error.

        ``lock`` names a lock held until the end of the transaction, so that transactions
        naming the same lock (in any process) run one after the other. A transaction that
        is not ``durable`` commits without waiting for the disk (still atomically): for
        data derived from the log, which a power failure can only set back, never corrupt.
        """
        ...

    def query(
        self, statement: Executable | Prepared, params: Mapping[str, Any] | None = None
    ) -> Sequence[Any]:
        """Run a query outside any write transaction and return its rows (tuples); a
        :class:`Prepared` one through the driver itself."""
        ...

    def reclaim(self, *tables: Table) -> None:
        """Make the database drop the bytes of ``tables``' deleted rows now (not at some
        later maintenance), so erased secrets do not linger in its files."""
        ...

    def analyze(self, *tables: Table) -> None:
        """Refresh the planner's statistics of ``tables`` after bulk work (PostgreSQL: tables
        filled in bulk may otherwise have none until autovacuum gets to them)."""
        ...

    def close(self) -> None:
        """Release the connections this object owns."""
        ...


def upsert(kind: str, table: Table) -> sqlite.Insert | postgresql.Insert:
    """An ``INSERT`` into ``table`` of the dialect ``kind`` (``sqlite`` or ``postgres``),
    whose ``on_conflict_do_update`` / ``on_conflict_do_nothing`` the caller adds."""
    if kind == "postgres":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


class Prepared:
    """A statement compiled once per dialect and run through the driver itself, its
    parameters (plain strings, numbers and bytes, keyed by the statement's parameter names)
    passing no SQLAlchemy processing: for statements a hot path runs for every batch, where
    building, caching and compiling a statement each time costs more than running it."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def _sql(self, c: Connection) -> _Compiled:
        name = c.dialect.name
        found = self._compiled.get(name)
        if found is None:
            compiled = self.statement.compile(dialect=c.dialect)
            assert isinstance(compiled, SQLCompiler)
            names = tuple(compiled.positiontup or ()) if compiled.positional else None
            fixed = {k: v for k, v in compiled.params.items() if v is not None}
            found = self._compiled[name] = _Compiled(str(compiled), names, fixed)
        return found

    def run(self, c: Connection, params: Mapping[str, Any] | None = None) -> Any:
        """Run the statement once; the driver's cursor result."""
        compiled = self._sql(c)
        return c.exec_driver_sql(compiled.sql, compiled.bind(params or {}))

    def many(self, c: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run the statement once per row through the driver's ``executemany``."""
        if not rows:
            return
        compiled = self._sql(c)
        c.exec_driver_sql(compiled.sql, [compiled.bind(row) for row in rows])


class _Compiled(NamedTuple):
    sql: str
    names: tuple[str, ...] | None
    """The parameters' names in order (a positional dialect), or None (named)."""
    fixed: Mapping[str, Any]
    """Values the statement carries itself (a ``LIMIT``); the caller's override them."""

    def bind(self, row: Mapping[str, Any]) -> Any:
        values = {**self.fixed, **row} if self.fixed else row
        return dict(values) if self.names is None else tuple(values[n] for n in self.names)


def execute_many(
    c: Connection, statement: ClauseElement, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Run ``statement`` once per row in ``rows`` through the driver's own ``executemany``.
    The statement is compiled for the connection's dialect once, and the rows (plain
    strings, numbers and bytes, keyed by the statement's parameter names) skip SQLAlchemy's
    per-row parameter processing, which on bulk work (an import's keys and lookups, a long
    log's chain links) costs as much as the statement itself."""
    Prepared(statement).many(c, rows)


def chunks(values: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    """``values`` in consecutive slices of at most ``size`` (bounded ``IN (...)`` lists)."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def marks(count: int) -> str:
    """``?, ?, ...``: ``count`` placeholders."""
    return ", ".join("?" for _ in range(count))


WIDE_CHUNK = 5_000
"""Ids in one ``IN (...)`` list of a read that sums over many rows (team statistics over
thousands of incidents): fewer round trips, well within SQLite's 32,766 parameters."""
