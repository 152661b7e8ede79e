"""Declaring view tables and the projection interface, independent of the database."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from events.base import DomainEvent

Row = dict[str, Any]


@dataclass(frozen=True)
class Table:
    """A view table: column name to SQL type (TEXT, INTEGER or REAL), key and indexes."""

    name: str
    columns: Mapping[str, str]
    key: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...] = field(default=())
    merge: tuple[tuple[str, str], ...] = field(default=())
    """For a table rows are merged into (:meth:`ViewTransaction.merge`): how each other
    column of a row combines with the one already stored, ``sum``, ``min`` or ``max``."""


COMBINE: dict[str, Callable[[Any, Any], Any]] = {
    "sum": lambda a, b: a + b,
    "min": min,
    "max": max,
}
"""How a merged column combines two values (see :attr:`Table.merge`)."""


class Merges:
    """The rows merged into tables during one transaction, combined in memory and written
    once, in key order, when the transaction ends: a campaign's counts moved by a batch of
    500 notices are one row, and two workers merging into the same rows lock them in the
    same order."""

    def __init__(self, tables: Mapping[str, Table]) -> None:
        self.tables = tables
        self._pending: dict[str, dict[tuple[Any, ...], Row]] = {}

    def add(self, table: str, row: Mapping[str, Any]) -> None:
        """Merge ``row`` into the pending row with its key."""
        spec = self.tables[table]
        rows = self._pending.setdefault(table, {})
        key = tuple(row[k] for k in spec.key)
        held = rows.get(key)
        if held is None:
            rows[key] = dict(row)
            return
        for column, how in spec.merge:
            held[column] = COMBINE[how](held[column], row[column])

    def drain(self) -> Iterator[tuple[Table, list[Row]]]:
        """Each table's pending rows in key order, forgotten here as they are given."""
        pending, self._pending = self._pending, {}
        for name in sorted(pending):
            rows = pending[name]
            yield self.tables[name], [rows[k] for k in sorted(rows)]


def db_time(moment: datetime | None) -> str | None:
    """Render a moment for a view column: UTC, fixed width, so text order is time order."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def from_db_time(text: str | None) -> datetime | None:
    """Parse a moment written by :func:`db_time` (ISO 8601 with ``Z``: aware, UTC)."""
    if text is None:
        return None
    return datetime.fromisoformat(text)


class ViewTransaction(Protocol):
    """Row operations a projection performs inside the transaction that tracks the event."""

    def get(self, table: str, key: Mapping[str, Any], columns: Sequence[str] = ()) -> Row | None:
        """Return the row with this key (only ``columns``, when given), or None."""
        ...

    def upsert(self, table: str, row: Mapping[str, Any]) -> None:
        """Insert the row, replacing one with the same key."""
        ...

    def update(self, table: str, key: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        """Change some columns of the row with this key (no-op when absent)."""
        ...

    def delete(self, table: str, key: Mapping[str, Any]) -> None:
        """Delete the row with this key."""
        ...

    def select(self, table: str, where: Mapping[str, Any]) -> list[Row]:
        """Return the rows whose columns equal ``where``."""
        ...

    def prefetch(self, table: str, values: Sequence[Any], columns: Sequence[str]) -> None:
        """Read ahead, at once, the rows keyed by ``values`` (the table's key is one column)
        for the gets of this transaction that follow (a store whose reads are cheap may do
        nothing)."""
        ...

    def merge(self, table: str, row: Mapping[str, Any]) -> None:
        """Insert the row, or combine it with the one stored under its key as the table's
        :attr:`Table.merge` says. Written when the transaction ends: not read back in it."""
        ...


class Projection(Protocol):
    """Turns events into rows of its tables.

    ``name`` is the tracking name of the view; raising ``version`` when the tables or the
    way events are turned into rows change makes every store rebuild the view. ``handles``
    names the event classes the view reads (each with its subclasses): it is given no other
    event, and a replay reads no other from the log.
    """

    name: str
    version: int
    tables: Sequence[Table]
    handles: tuple[type[DomainEvent], ...]

    def process(self, event: DomainEvent, position: int, tx: ViewTransaction) -> None:
        """Apply one event to the view's rows."""
        ...


@runtime_checkable
class Preparing(Protocol):
    """A projection that reads ahead what a batch of events will read (optional)."""

    def prepare(self, events: Sequence[DomainEvent], tx: ViewTransaction) -> None:
        """Called with the events of a batch the projection is about to process."""
        ...
