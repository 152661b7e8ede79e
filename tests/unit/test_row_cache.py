"""The rows a view transaction remembers answer reads as the database would."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.projections.row_cache import CachedRows
from services.projections.schema import Row, Table

ROWS = Table("rows", {"id": "TEXT", "kind": "TEXT", "n": "INTEGER"}, key=("id",))
TABLES = {ROWS.name: ROWS}


class Database:
    """A fake store transaction over dicts, counting the reads that reach it."""

    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}
        self.reads = 0

    def get(self, table: str, key: Mapping[str, Any], columns: Sequence[str] = ()) -> Row | None:
        self.reads += 1
        found = [r for r in self.rows.values() if all(r[k] == v for k, v in key.items())]
        if not found:
            return None
        return {c: found[0][c] for c in columns} if columns else dict(found[0])

    def select(self, table: str, where: Mapping[str, Any]) -> list[Row]:
        return [dict(r) for r in self.rows.values() if all(r[k] == v for k, v in where.items())]

    def upsert(self, table: str, row: Mapping[str, Any]) -> None:
        self.rows[row["id"]] = {c: row.get(c) for c in ROWS.columns}

    def update(self, table: str, key: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        for r in self.select(table, key):
            self.rows.pop(r["id"])
            self.rows[values.get("id", r["id"])] = {**r, **values}

    def delete(self, table: str, key: Mapping[str, Any]) -> None:
        for r in self.select(table, key):
            del self.rows[r["id"]]

    def merge(self, table: str, row: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        """Nothing merged here."""


def test_a_row_read_or_written_by_its_key_is_read_once() -> None:
    """A second read by the key, of all columns or some, costs no read of the database,
    and shows the writes made since; a deleted row reads as absent."""
    db = Database()
    tx = CachedRows(db, TABLES)
    tx.upsert("rows", {"id": "a", "kind": "x"})
    assert tx.get("rows", {"id": "a"}) == {"id": "a", "kind": "x", "n": None}
    db.upsert("rows", {"id": "b", "kind": "y", "n": 1})
    assert tx.get("rows", {"id": "b"}, ("kind",)) == {"kind": "y"}
    tx.update("rows", {"id": "b"}, {"n": 2})
    assert tx.get("rows", {"id": "b"}, ("kind", "n")) == {"kind": "y", "n": 2}
    tx.delete("rows", {"id": "a"})
    assert tx.get("rows", {"id": "a"}) is None
    assert db.reads == 1


def test_writes_not_by_the_whole_key_or_moving_a_key_forget_the_table() -> None:
    """An update by another column, or one changing the key, makes the next read go to the
    database, which holds what was written; the cache never answers with an old row."""
    db = Database()
    tx = CachedRows(db, TABLES)
    tx.upsert("rows", {"id": "a", "kind": "x", "n": 1})
    tx.update("rows", {"kind": "x"}, {"n": 5})
    assert tx.get("rows", {"id": "a"}, ("n",)) == {"n": 5}
    assert db.reads == 1
    tx.update("rows", {"id": "a"}, {"id": "c"})
    assert tx.get("rows", {"id": "a"}) is None
    assert tx.get("rows", {"id": "c"}, ("n",)) == {"n": 5}
    assert db.reads == 3
