"""Rows a view transaction already read or wrote, remembered for the rest of it.

A batch of a campaign's dispatch holds each notice's *sending* and, soon after, its *sent*:
the notices view reads the notice's row for both. Within one transaction of the view store
nobody else changes the rows (the batch holds the store's write lock, or the rows' locks),
so the second read is answered from what the first read and the writes since left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from services.projections.schema import Row, Table, ViewTransaction


class StoreTransaction(ViewTransaction, Protocol):
    """A view store's transaction: the row operations, and the merged rows written last."""

    def flush(self) -> None:
        """Write the merged rows (before the transaction commits)."""
        ...


class CachedRows:
    """A :class:`StoreTransaction` remembering rows by their whole key.

    Every write still goes to the database at once, so queries see it; a read by the
    whole key is answered here when the row (or the columns asked for) is known. A write
    not addressed by the whole key, or one changing a key column, forgets the table's rows.
    """

    def __init__(self, inner: StoreTransaction, tables: Mapping[str, Table]) -> None:
        self.inner = inner
        self.tables = tables
        self._rows: dict[tuple[str, tuple[Any, ...]], Row | None] = {}

    def _key(self, table: str, values: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]] | None:
        declared = self.tables[table].key
        if any(k not in values for k in declared):
            return None
        return table, tuple(values[k] for k in declared)

    def _forget(self, table: str) -> None:
        for known in [k for k in self._rows if k[0] == table]:
            del self._rows[known]

    def get(self, table: str, key: Mapping[str, Any], columns: Sequence[str] = ()) -> Row | None:
        """The row with this key (only ``columns``, when given), or None."""
        known = self._key(table, key) if len(key) == len(self.tables[table].key) else None
        if known is not None and known in self._rows:
            row = self._rows[known]
            if row is None:
                return None
            wanted = columns or tuple(self.tables[table].columns)
            if all(c in row for c in wanted):
                return {c: row[c] for c in wanted}
        found = self.inner.get(table, key, columns)
        if known is not None:
            held = self._rows.get(known)
            self._rows[known] = None if found is None else {**(held or {}), **found}
        return found

    def select(self, table: str, where: Mapping[str, Any]) -> list[Row]:
        """The rows whose columns equal ``where`` (from the database)."""
        return self.inner.select(table, where)

    def upsert(self, table: str, row: Mapping[str, Any]) -> None:
        """Insert the row, replacing one with the same key (a column not given is NULL)."""
        self.inner.upsert(table, row)
        known = self._key(table, row)
        if known is None:
            self._forget(table)
        else:
            self._rows[known] = {c: row.get(c) for c in self.tables[table].columns}

    def update(self, table: str, key: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        """Change some columns of the row with this key."""
        self.inner.update(table, key, values)
        known = self._key(table, key) if len(key) == len(self.tables[table].key) else None
        if known is None or any(k in values for k in self.tables[table].key):
            self._forget(table)
        elif (row := self._rows.get(known)) is not None:
            row.update(values)

    def delete(self, table: str, key: Mapping[str, Any]) -> None:
        """Delete the row with this key."""
        self.inner.delete(table, key)
        known = self._key(table, key) if len(key) == len(self.tables[table].key) else None
        if known is None:
            self._forget(table)
        else:
            self._rows[known] = None

    def merge(self, table: str, row: Mapping[str, Any]) -> None:
        """Merge the row into the table when the transaction ends (never read back)."""
        self.inner.merge(table, row)

    def flush(self) -> None:
        """Write the merged rows."""
        self.inner.flush()
