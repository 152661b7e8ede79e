"""Rows a view transaction read ahead in one query, kept in step with its writes.

On PostgreSQL every read a projection makes inside a batch is a round trip that stops the
batch's pipeline, and on SQLite each is a statement of its own; the notices view reads each
moved notice's campaign and status. A projection that knows which rows a batch will read
asks for them at once
(:meth:`~services.projections.schema.ViewTransaction.prefetch`), and the transaction
answers those reads from here. Nobody else changes the rows meanwhile: the transaction
holds the views' positions locked, and each aggregate's events go to one worker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from services.projections.schema import Row, Table

Read = Callable[[str, tuple[str, ...], list[Any]], Sequence[Row]]
"""Reads rows by their key: (the key column, the columns to read, the keys) to the rows."""


class PrefetchedRows:
    """Rows of some tables by their one-column key (None: read ahead and absent)."""

    def __init__(self, tables: Mapping[str, Table]) -> None:
        self.tables = tables
        self._rows: dict[str, dict[Any, Row | None]] = {}

    def fill(self, table: str, values: Sequence[Any], columns: Sequence[str], read: Read) -> None:
        """Know the rows keyed by ``values`` (the table's one-column key): those not known
        yet are read, each once, with ``read(key column, columns, keys)``, which returns
        their rows (the key column among the columns); a key it does not return is absent."""
        (key,) = self.tables[table].key
        known = self._rows.setdefault(table, {})
        asked = [v for v in dict.fromkeys(values) if v not in known]
        if not asked:
            return
        rows = read(key, tuple(dict.fromkeys((key, *columns))), asked)
        known.update(dict.fromkeys(asked))
        known.update((row[key], dict(row)) for row in rows)

    def get(
        self, table: str, key: Mapping[str, Any], columns: Sequence[str]
    ) -> tuple[bool, Row | None]:
        """(True, the row or None) when known here with the ``columns`` asked, else
        (False, None): read it from the database."""
        known = self._rows.get(table)
        if known is None or len(key) != 1:
            return False, None
        (value,) = key.values()
        if value not in known:
            return False, None
        row = known[value]
        if row is None:
            return True, None
        wanted = columns or tuple(self.tables[table].columns)
        if any(c not in row for c in wanted):
            return False, None
        return True, {c: row[c] for c in wanted}

    def upserted(self, table: str, row: Mapping[str, Any]) -> None:
        """A row replaced (a column it does not give is NULL)."""
        known = self._rows.get(table)
        if known is not None:
            spec = self.tables[table]
            known[row[spec.key[0]]] = {c: row.get(c) for c in spec.columns}

    def updated(self, table: str, key: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        """Columns of the row with ``key`` changed."""
        known = self._rows.get(table)
        if known is None:
            return
        spec = self.tables[table]
        if set(key) != {spec.key[0]} or spec.key[0] in values:
            known.clear()
        elif (row := known.get(key[spec.key[0]])) is not None:
            row.update(values)

    def deleted(self, table: str, key: Mapping[str, Any]) -> None:
        """The row with ``key`` deleted."""
        known = self._rows.get(table)
        if known is None:
            return
        spec = self.tables[table]
        if set(key) == {spec.key[0]}:
            known[key[spec.key[0]]] = None
        else:
            known.clear()
