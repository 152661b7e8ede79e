"""PostgreSQL view store: view tables and tracking positions in one schema, changed atomically.

The same contract as :class:`~services.projections.sqlite_store.SQLiteViewStore`: each batch
of events is applied in one transaction that first locks the view's tracking row (inserted
if missing, then ``SELECT ... FOR UPDATE``) and checks it is still where the worker read it,
then applies the events and advances the position. Two processes catching up the same view
therefore never apply an event twice: the second waits for the first's row lock, finds the
position moved, and changes nothing.

Column types are mapped so rows read back as they do from SQLite: ``TEXT`` compares
byte-wise (``COLLATE "C"``, as SQLite's ``BINARY``), ``INTEGER`` is 64-bit, ``REAL`` double
precision; booleans are stored as 0 and 1.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from typing import Any

from psycopg import Cursor
from psycopg.rows import DictRow, dict_row

from services.projections.prefetched import PrefetchedRows
from services.projections.schema import Merges, Projection, Row, Table
from services.projections.sqlite_store import _quote, merge_sql, tracking_name
from services.projections.store import Applied, Batch, apply_from
from services.storage.postgres import LOCK_SQL, PostgresDatabase, lock_key, pg_sql

_TYPES = {"TEXT": 'TEXT COLLATE "C"', "INTEGER": "BIGINT", "REAL": "DOUBLE PRECISION"}


def _column_type(declared: str) -> str:
    """The PostgreSQL type of a column declared for SQLite (``TEXT NOT NULL`` and so on)."""
    kind, _, rest = declared.strip().partition(" ")
    mapped = _TYPES.get(kind.upper())
    if mapped is None:
        msg = f"unsupported view column type {declared!r}"
        raise ValueError(msg)
    return f"{mapped} {rest}".strip()


def _value(value: Any) -> Any:
    return int(value) if value is True or value is False else value


@cache
def _where_clause(columns: tuple[str, ...]) -> str:
    if not columns:
        return ""
    return " WHERE " + " AND ".join(f"{_quote(k)} = %s" for k in columns)


def _upsert_sql(table: Table, columns: tuple[str, ...]) -> str:
    return _upsert_statement(table.name, columns, table.key, tuple(table.columns))


@cache
def _upsert_statement(
    table: str, columns: tuple[str, ...], key: tuple[str, ...], every: tuple[str, ...]
) -> str:
    cols = ", ".join(_quote(c) for c in columns)
    values = ", ".join("%s" for _ in columns)
    keys = ", ".join(_quote(k) for k in key)
    others = [c for c in every if c not in key]
    # Every other column is set, to NULL when the row does not give it: a replacement of
    # the whole row, as SQLite's INSERT OR REPLACE.
    action = (
        "DO UPDATE SET " + ", ".join(f"{_quote(c)} = EXCLUDED.{_quote(c)}" for c in others)
        if others
        else "DO NOTHING"
    )
    return f"INSERT INTO {_quote(table)} ({cols}) VALUES ({values}) ON CONFLICT ({keys}) {action}"


@cache
def _update_sql(table: str, columns: tuple[str, ...], keys: tuple[str, ...]) -> str:
    sets = ", ".join(f"{_quote(c)} = %s" for c in columns)
    return f"UPDATE {_quote(table)} SET {sets}{_where_clause(keys)}"


class PostgresTransaction:
    """A :class:`~services.projections.schema.ViewTransaction` on a PostgreSQL cursor."""

    def __init__(self, cursor: Cursor[DictRow], tables: Mapping[str, Table]) -> None:
        self.cursor = cursor
        self.tables = tables
        self.merges = Merges(tables)
        self.ahead = PrefetchedRows(tables)

    def prefetch(self, table: str, values: Sequence[Any], columns: Sequence[str]) -> None:
        """Read the rows keyed by ``values`` (the table's one-column key) in one query; the
        gets of this transaction that follow are answered from them."""

        def read(key: str, chosen: tuple[str, ...], keys: list[Any]) -> list[Row]:
            self.cursor.execute(
                f"SELECT {', '.join(map(_quote, chosen))} FROM {_quote(table)} "
                f"WHERE {_quote(key)} = ANY(%s)",
                [keys],
            )
            return list(self.cursor.fetchall())

        self.ahead.fill(table, values, columns, read)

    def merge(self, table: str, row: Mapping[str, Any]) -> None:
        """Merge the row into the table when the transaction ends (see :class:`Merges`)."""
        self.merges.add(table, row)

    def flush(self) -> None:
        """Write the merged rows (before the transaction commits), in key order."""
        for table, rows in self.merges.drain():
            columns = tuple(table.columns)
            self.cursor.executemany(
                merge_sql(table, mark="%s", low="LEAST", high="GREATEST"),
                [[_value(r[c]) for c in columns] for r in rows],
            )

    def get(self, table: str, key: Mapping[str, Any], columns: Sequence[str] = ()) -> Row | None:
        """Return the row with this key (only ``columns``, when given), or None."""
        known, row = self.ahead.get(table, key, columns)
        if known:
            return row
        chosen = ", ".join(_quote(c) for c in columns) if columns else "*"
        self.cursor.execute(
            f"SELECT {chosen} FROM {_quote(table)}{_where_clause(tuple(key))}",
            [_value(v) for v in key.values()],
        )
        return self.cursor.fetchone()

    def select(self, table: str, where: Mapping[str, Any]) -> list[Row]:
        """Return the rows whose columns equal ``where``."""
        self.cursor.execute(
            f"SELECT * FROM {_quote(table)}{_where_clause(tuple(where))}",
            [_value(v) for v in where.values()],
        )
        return list(self.cursor.fetchall())

    def upsert(self, table: str, row: Mapping[str, Any]) -> None:
        """Insert the row, replacing one with the same key."""
        self.cursor.execute(
            _upsert_sql(self.tables[table], tuple(row)), [_value(v) for v in row.values()]
        )
        self.ahead.upserted(table, row)

    def update(self, table: str, key: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        """Change some columns of the row with this key."""
        if not values:
            return
        self.cursor.execute(
            _update_sql(table, tuple(values), tuple(key)),
            [_value(v) for v in (*values.values(), *key.values())],
        )
        self.ahead.updated(table, key, values)

    def delete(self, table: str, key: Mapping[str, Any]) -> None:
        """Delete the row with this key."""
        self.cursor.execute(
            f"DELETE FROM {_quote(table)}{_where_clause(tuple(key))}",
            [_value(v) for v in key.values()],
        )
        self.ahead.deleted(table, key)


def _create_statements(table: Table) -> list[str]:
    cols = ", ".join(f"{_quote(c)} {_column_type(t)}" for c, t in table.columns.items())
    key = ", ".join(_quote(k) for k in table.key)
    statements = [f"CREATE TABLE IF NOT EXISTS {_quote(table.name)} ({cols}, PRIMARY KEY ({key}))"]
    for index in table.indexes:
        name = _quote(f"{table.name}_by_{'_'.join(index)}")
        cols_ = ", ".join(_quote(c) for c in index)
        statements.append(f"CREATE INDEX IF NOT EXISTS {name} ON {_quote(table.name)} ({cols_})")
    return statements


_META = "CREATE TABLE IF NOT EXISTS view_meta (name TEXT PRIMARY KEY, version BIGINT NOT NULL)"
_TRACKING = (
    "CREATE TABLE IF NOT EXISTS view_tracking "
    "(application_name TEXT PRIMARY KEY, notification_id BIGINT NOT NULL)"
)


class PostgresViewStore:
    """Holds the views of several projections and their tracking positions in one schema
    (every connection of the database's pool has that schema on its search path)."""

    def __init__(self, database: PostgresDatabase, projections: Sequence[Projection]) -> None:
        self.db = database
        self.projections = {p.name: p for p in projections}
        self.tables: dict[str, Table] = {t.name: t for p in projections for t in p.tables}

    def _lock(self, cursor: Cursor[Any]) -> None:
        cursor.execute(LOCK_SQL, [lock_key(self.db.schema, "views")])

    def create_table(self) -> None:
        """Create missing tables, and rebuild any view whose projection version changed
        (one transaction, so processes starting together do it once)."""
        with self.db.connection() as conn, conn.transaction():
            cursor = conn.cursor()
            self._lock(cursor)
            cursor.execute(_META)
            cursor.execute(_TRACKING)
            for table in self.tables.values():
                for statement in _create_statements(table):
                    cursor.execute(statement)
            for projection in self.projections.values():
                cursor.execute("SELECT version FROM view_meta WHERE name = %s", [projection.name])
                row = cursor.fetchone()
                if row is None or int(row[0]) != projection.version:
                    self._reset(cursor, projection)

    def stored_version(self, name: str) -> int | None:
        """The projection version the view was built with (None when never built)."""
        rows = self.db.fetch("SELECT version FROM view_meta WHERE name = ?", [name])
        return None if not rows else int(rows[0][0])

    def position(self, name: str, stream: str = "") -> int:
        """The log position the named view has applied up to (0 when nothing), in one
        stream of the log (``""``: the whole log, read in order)."""
        rows = self.db.fetch(
            "SELECT notification_id FROM view_tracking WHERE application_name = ?",
            [tracking_name(name, stream)],
        )
        return int(rows[0][0]) if rows else 0

    def positions(self, names: Sequence[str], stream: str = "") -> dict[str, int]:
        """The positions of the named views in ``stream``, read at once (0: nothing)."""
        keys = {tracking_name(n, stream): n for n in names}
        found = dict.fromkeys(names, 0)
        if not keys:
            return found
        rows = self.db.fetch(
            "SELECT application_name, notification_id FROM view_tracking "
            f"WHERE application_name IN ({', '.join('?' for _ in keys)})",
            list(keys),
        )
        for key, position in rows:
            found[keys[key]] = int(position)
        return found

    def apply_many(self, batches: Sequence[Batch], *, stream: str = "") -> list[Applied | None]:
        """Apply several views' batches in one transaction (see
        :meth:`services.projections.store.ViewStore.apply_many`)."""
        names = [tracking_name(projection.name, stream) for projection, _, _ in batches]
        outcomes: list[Applied | None] = []
        # One pipeline: the transaction's statements up to the positions read go to the
        # server together, and the views' changes after them.
        with self.db.connection() as conn, conn.pipeline(), conn.transaction():
            cursor = conn.cursor(row_factory=dict_row)
            # A view's batch commits without waiting for the disk: the view is built from
            # the log and its position is in the same transaction, so a batch lost in a
            # database crash is applied again; the event store's commits still wait.
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            cursor.execute(
                "INSERT INTO view_tracking SELECT unnest(%s::text[]), 0 ON CONFLICT DO NOTHING",
                [sorted(names)],
            )
            # Locked in name order, so that two workers applying overlapping sets of views
            # never each hold a row the other waits for.
            cursor.execute(
                "SELECT application_name, notification_id FROM view_tracking "
                "WHERE application_name = ANY(%s) ORDER BY application_name FOR UPDATE",
                [names],
            )
            at = {r["application_name"]: int(r["notification_id"]) for r in cursor.fetchall()}
            with conn.pipeline():
                tx = PostgresTransaction(cursor, self.tables)
                for (projection, items, expected), name in zip(batches, names, strict=True):
                    outcomes.append(apply_from(projection, items, expected, at[name], tx))
                    reached = outcomes[-1]
                    if reached is not None and reached.events:
                        cursor.execute(
                            "UPDATE view_tracking SET notification_id = %s "
                            "WHERE application_name = %s",
                            [reached.position, name],
                        )
                tx.flush()
        return outcomes

    def reset(self, projection: Projection) -> None:
        """Drop and recreate the projection's tables and forget its position, atomically."""
        with self.db.connection() as conn, conn.transaction():
            cursor = conn.cursor()
            self._lock(cursor)
            self._reset(cursor, projection)

    def _reset(self, cursor: Cursor[Any], projection: Projection) -> None:
        for table in projection.tables:
            cursor.execute(f"DROP TABLE IF EXISTS {_quote(table.name)}")
            for statement in _create_statements(table):
                cursor.execute(statement)
        cursor.execute(
            "DELETE FROM view_tracking WHERE application_name = %s OR application_name LIKE %s",
            [projection.name, tracking_name(projection.name, "%")],
        )
        cursor.execute(
            "INSERT INTO view_meta (name, version) VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version",
            [projection.name, projection.version],
        )

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run a read-only query against the views (``?`` placeholders)."""
        with self.db.connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            cursor.execute(pg_sql(sql), [_value(v) for v in params])
            return list(cursor.fetchall())

    def scan(self, sql: str, params: Sequence[Any] = (), page: int = 5_000) -> Iterator[list[Row]]:
        """The rows of a read-only query a page at a time, through a cursor of the server
        in one transaction (the client holds one page, not the whole result)."""
        with self.db.connection() as conn, conn.transaction():
            cursor = conn.cursor(name="breach_view_scan", row_factory=dict_row)
            try:
                cursor.execute(pg_sql(sql), [_value(v) for v in params])
                while rows := cursor.fetchmany(page):
                    yield list(rows)
            finally:
                cursor.close()

    def analyze(self) -> None:
        """``ANALYZE`` every view table and the views' tracking table."""
        self.db.analyze(*self.tables, "view_tracking")

    def close(self) -> None:
        """Nothing to release: the database's pool is shared and closed by its owner."""
