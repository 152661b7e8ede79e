"""SQLite view store: view tables and tracking positions in one file, changed atomically.

Each batch of events is applied in one ``BEGIN IMMEDIATE`` transaction that first checks
the view's tracking position is still where the worker read it, then applies the events
and advances the position. Two processes catching up the same view therefore never apply
an event twice: the loser finds the position moved, rolls back, and reads again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import (
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteTrackingRecorder,
)

from services.projections.prefetched import PrefetchedRows
from services.projections.schema import Merges, Projection, Row, Table
from services.projections.store import Applied, Batch, apply_from
from services.storage.sql import chunks, marks

_META = "CREATE TABLE IF NOT EXISTS view_meta (name TEXT PRIMARY KEY, version INTEGER NOT NULL)"


@cache
def _quote(name: str) -> str:
    if not name.replace("_", "").isalnum():
        msg = f"unsafe SQL identifier {name!r}"
        raise ValueError(msg)
    return f'"{name}"'


@cache
def _where_clause(columns: tuple[str, ...]) -> str:
    if not columns:
        return ""
    return " WHERE " + " AND ".join(f"{_quote(k)} = ?" for k in columns)


def _where(key: Mapping[str, Any]) -> tuple[str, list[Any]]:
    return _where_clause(tuple(key)), list(key.values())


@cache
def _upsert_sql(table: str, columns: tuple[str, ...]) -> str:
    cols = ", ".join(_quote(c) for c in columns)
    marks = ", ".join("?" for _ in columns)
    return f"INSERT OR REPLACE INTO {_quote(table)} ({cols}) VALUES ({marks})"


@cache
def _get_sql(table: str, columns: tuple[str, ...], keys: tuple[str, ...]) -> str:
    chosen = ", ".join(_quote(c) for c in columns) if columns else "*"
    return f"SELECT {chosen} FROM {_quote(table)}{_where_clause(keys)}"


@cache
def _update_sql(table: str, columns: tuple[str, ...], keys: tuple[str, ...]) -> str:
    sets = ", ".join(f"{_quote(c)} = ?" for c in columns)
    return f"UPDATE {_quote(table)} SET {sets}{_where_clause(keys)}"


def merge_sql(table: Table, *, mark: str = "?", low: str = "MIN", high: str = "MAX") -> str:
    """The statement merging a row into ``table`` (see :attr:`Table.merge`): ``mark`` is
    the database's placeholder, ``low`` and ``high`` its two-argument minimum and maximum."""
    return _merge_statement(
        table.name, tuple(table.columns), table.key, table.merge, mark, low, high
    )


@cache
def _merge_statement(
    name: str,
    columns: tuple[str, ...],
    key: tuple[str, ...],
    merge: tuple[tuple[str, str], ...],
    mark: str,
    low: str,
    high: str,
) -> str:
    combine = {
        "sum": "{old} + {new}",
        "min": low + "({old}, {new})",
        "max": high + "({old}, {new})",
    }
    sets = ", ".join(
        f"{_quote(c)} = "
        + combine[how].format(old=f"{_quote(name)}.{_quote(c)}", new=f"excluded.{_quote(c)}")
        for c, how in merge
    )
    return (
        f"INSERT INTO {_quote(name)} ({', '.join(map(_quote, columns))}) "
        f"VALUES ({', '.join(mark for _ in columns)}) "
        f"ON CONFLICT ({', '.join(map(_quote, key))}) DO UPDATE SET {sets}"
    )


class SQLiteTransaction:
    """A :class:`~services.projections.schema.ViewTransaction` on an SQLite cursor."""

    def __init__(self, cursor: SQLiteCursor, tables: Mapping[str, Table]) -> None:
        self.cursor = cursor
        self.tables = tables
        self.merges = Merges(tables)
        self.ahead = PrefetchedRows(tables)

    def merge(self, table: str, row: Mapping[str, Any]) -> None:
        """Merge the row into the table when the transaction ends (see :class:`Merges`)."""
        self.merges.add(table, row)

    def flush(self) -> None:
        """Write the merged rows (before the transaction commits)."""
        for table, rows in self.merges.drain():
            columns = tuple(table.columns)
            self.cursor.executemany(merge_sql(table), [[r[c] for c in columns] for r in rows])

    def prefetch(self, table: str, values: Sequence[Any], columns: Sequence[str]) -> None:
        """Read the rows keyed by ``values`` (the table's one-column key), 500 to a query;
        the gets of this transaction that follow are answered from them."""
        cursor = self.cursor.sqlite_cursor

        def read(key: str, chosen: tuple[str, ...], keys: list[Any]) -> list[Row]:
            rows: list[Row] = []
            for part in chunks(keys):
                cursor.execute(
                    f"SELECT {', '.join(map(_quote, chosen))} FROM {_quote(table)} "
                    f"WHERE {_quote(key)} IN ({marks(len(part))})",
                    list(part),
                )
                rows.extend(dict(r) for r in cursor.fetchall())
            return rows

        self.ahead.fill(table, values, columns, read)

    def get(self, table: str, key: Mapping[str, Any], columns: Sequence[str] = ()) -> Row | None:
        """Return the row with this key (only ``columns``, when given), or None."""
        known, row = self.ahead.get(table, key, columns)
        if known:
            return row
        cursor = self.cursor.sqlite_cursor
        cursor.execute(_get_sql(table, tuple(columns), tuple(key)), list(key.values()))
        found = cursor.fetchone()
        return None if found is None else dict(found)

    def select(self, table: str, where: Mapping[str, Any]) -> list[Row]:
        """Return the rows whose columns equal ``where``."""
        clause, params = _where(where)
        self.cursor.execute(f"SELECT * FROM {_quote(table)}{clause}", params)
        return [dict(r) for r in self.cursor.fetchall()]

    def upsert(self, table: str, row: Mapping[str, Any]) -> None:
        """Insert the row, replacing one with the same key."""
        self.cursor.execute(_upsert_sql(table, tuple(row)), list(row.values()))
        self.ahead.upserted(table, row)

    def update(self, table: str, key: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        """Change some columns of the row with this key."""
        if not values:
            return
        self.cursor.execute(
            _update_sql(table, tuple(values), tuple(key)), [*values.values(), *key.values()]
        )
        self.ahead.updated(table, key, values)

    def delete(self, table: str, key: Mapping[str, Any]) -> None:
        """Delete the row with this key."""
        clause, params = _where(key)
        self.cursor.execute(f"DELETE FROM {_quote(table)}{clause}", params)
        self.ahead.deleted(table, key)


def create_statements(table: Table) -> list[str]:
    """The SQLite statements creating a view table and its indexes."""
    cols = ", ".join(f"{_quote(c)} {t}" for c, t in table.columns.items())
    key = ", ".join(_quote(k) for k in table.key)
    statements = [f"CREATE TABLE IF NOT EXISTS {_quote(table.name)} ({cols}, PRIMARY KEY ({key}))"]
    for index in table.indexes:
        name = _quote(f"{table.name}_by_{'_'.join(index)}")
        cols_ = ", ".join(_quote(c) for c in index)
        statements.append(f"CREATE INDEX IF NOT EXISTS {name} ON {_quote(table.name)} ({cols_})")
    return statements


def tracking_name(view: str, stream: str = "") -> str:
    """The tracking key of a view in one stream of the log (the view's name alone for the
    whole log read in order; ``view@stream`` for a part of it, e.g. a topic partition)."""
    return f"{view}@{stream}" if stream else view


class _ViewConnections(SQLiteConnectionPool):
    """Connections to the views' file that commit without waiting for the disk
    (``synchronous=NORMAL`` in WAL mode: a commit is atomic, and after a power failure the
    last ones may be missing). The views are built from the log and each view's position is
    in the same file as its rows, so a view that lost its last commits applies those events
    again; the event store, the chain and the keys keep waiting for the disk."""

    def _create_connection(self) -> SQLiteConnection:
        connection = super()._create_connection()
        connection.cursor().execute("PRAGMA synchronous=NORMAL")
        connection.cursor().execute("PRAGMA cache_size=-32768")
        return connection


class SQLiteViewStore(SQLiteTrackingRecorder):
    """Holds the views of several projections and their tracking positions in one file."""

    def __init__(self, path: Path, projections: Sequence[Projection]) -> None:
        self.projections = {p.name: p for p in projections}
        self.tables: dict[str, Table] = {t.name: t for p in projections for t in p.tables}
        datastore = SQLiteDatastore(str(path), lock_timeout=30)
        datastore.pool = _ViewConnections(db_name=str(path), lock_timeout=30)
        super().__init__(datastore)

    def construct_create_table_statements(self) -> list[str]:
        """Tracking, view metadata and every view table."""
        statements = super().construct_create_table_statements()
        statements.append(_META)
        for table in self.tables.values():
            statements.extend(create_statements(table))
        return statements

    def create_table(self) -> None:
        """Create missing tables, and rebuild any view whose projection version changed."""
        super().create_table()
        for projection in self.projections.values():
            if self.stored_version(projection.name) != projection.version:
                self.reset(projection)

    @contextmanager
    def _immediate(self) -> Iterator[SQLiteCursor]:
        with self.datastore.get_connection(commit=True) as conn:
            cursor = conn.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    def stored_version(self, name: str) -> int | None:
        """The projection version the view was built with (None when never built)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT version FROM view_meta WHERE name = ?", [name])
            row = c.fetchone()
        return None if row is None else int(row[0])

    def position(self, name: str, stream: str = "") -> int:
        """The log position the named view has applied up to (0 when nothing), in one
        stream of the log (``""``: the whole log, read in order)."""
        return self.max_tracking_id(tracking_name(name, stream)) or 0

    def positions(self, names: Sequence[str], stream: str = "") -> dict[str, int]:
        """The positions of the named views in ``stream``, read at once (0: nothing)."""
        keys = {tracking_name(n, stream): n for n in names}
        found = dict.fromkeys(names, 0)
        if not keys:
            return found
        marks = ", ".join("?" for _ in keys)
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT application_name, notification_id FROM tracking "
                f"WHERE application_name IN ({marks})",
                list(keys),
            )
            for key, position in c.fetchall():
                found[keys[key]] = int(position)
        return found

    def apply_many(self, batches: Sequence[Batch], *, stream: str = "") -> list[Applied | None]:
        """Apply several views' batches in one transaction (see
        :meth:`services.projections.store.ViewStore.apply_many`)."""
        outcomes: list[Applied | None] = []
        with self._immediate() as c:
            tx = SQLiteTransaction(c, self.tables)
            for projection, items, expected in batches:
                name = tracking_name(projection.name, stream)
                at = self._max_tracking_id(name, c) or 0
                outcomes.append(apply_from(projection, items, expected, at, tx))
                reached = outcomes[-1]
                if reached is not None and reached.events:
                    self._insert_tracking(c, Tracking(name, reached.position))
            tx.flush()
        return outcomes

    def reset(self, projection: Projection) -> None:
        """Drop and recreate the projection's tables and forget its position, atomically."""
        with self._immediate() as c:
            for table in projection.tables:
                c.execute(f"DROP TABLE IF EXISTS {_quote(table.name)}")
                for statement in create_statements(table):
                    c.execute(statement)
            c.execute(
                "DELETE FROM tracking WHERE application_name = ? OR application_name LIKE ?",
                [projection.name, tracking_name(projection.name, "%")],
            )
            c.execute(
                "INSERT OR REPLACE INTO view_meta (name, version) VALUES (?, ?)",
                [projection.name, projection.version],
            )

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run a read-only query against the views."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(sql, list(params))
            return [dict(r) for r in c.fetchall()]

    def scan(self, sql: str, params: Sequence[Any] = (), page: int = 5_000) -> Iterator[list[Row]]:
        """The rows of a read-only query a page at a time, from one read transaction."""
        with self.datastore.transaction(commit=False) as c:
            cursor = c.sqlite_cursor
            cursor.execute(sql, list(params))
            while rows := cursor.fetchmany(page):
                yield [dict(r) for r in rows]

    def analyze(self) -> None:
        """Nothing: the views' queries are written for SQLite's planner without statistics
        (see :meth:`services.storage.sqlite.SQLiteDatabase.analyze`)."""

    def close(self) -> None:
        """Close the file's connections."""
        self.datastore.close()
