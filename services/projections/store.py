"""The view store interface the views, their workers and their readers are written against
(:class:`~services.projections.sqlite_store.SQLiteViewStore` and
:class:`~services.projections.postgres_store.PostgresViewStore` provide it).

Readers query views with SQL both databases run alike: ``?`` placeholders, no SQLite-only
constructs (``SUM(a = b)`` is written ``SUM(CASE WHEN a = b THEN 1 ELSE 0 END)``, a unary
``+col`` planner hint ``(col || '')``), subqueries in ``FROM`` given an alias, and
identifiers that are keywords (``"row"``) quoted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple, Protocol

from events.base import DomainEvent
from services.feeds.base import Positioned
from services.feeds.topics import classes_of
from services.projections.schema import Projection, Row, ViewTransaction

Batch = tuple[Projection, Sequence[Positioned], int]
"""A view's share of a batch: its projection, the events it has not applied yet, and the
position it is expected to be at."""


class Applied(NamedTuple):
    """What one view's share of a batch did."""

    position: int
    """The position the view is at after it."""
    events: int
    """The events applied to the view."""
    first: int
    """The position of the first of them (0: none)."""


def apply_from(
    projection: Projection,
    items: Sequence[Positioned],
    expected: int,
    at: int,
    tx: ViewTransaction,
) -> Applied | None:
    """Apply to a view found at ``at`` the events of ``items`` above it (None, nothing
    applied, when it is behind ``expected``: reset since the caller read it). Events of a
    class the projection does not handle move its position without being offered to it."""
    if at < expected:
        return None
    handled = classes_of(projection.handles)
    # Found by name: a check against the runtime protocol costs more than a batch's views.
    prepare: Callable[[list[DomainEvent], ViewTransaction], None] | None = getattr(
        projection, "prepare", None
    )
    if prepare is not None:
        prepare([i.event for i in items if i.position > at and type(i.event) in handled], tx)
    count = first = 0
    for item in items:
        if item.position > at:
            if type(item.event) in handled:
                projection.process(item.event, item.position, tx)
            at = item.position
            first = first or at
            count += 1
    return Applied(at, count, first)


class ViewStore(Protocol):
    """Holds the views of several projections and their tracking positions."""

    def create_table(self) -> None:
        """Create missing tables, and rebuild any view whose projection version changed."""
        ...

    def stored_version(self, name: str) -> int | None:
        """The projection version the view was built with (None when never built)."""
        ...

    def position(self, name: str, stream: str = "") -> int:
        """The log position the named view has applied up to in ``stream`` (0: nothing)."""
        ...

    def positions(self, names: Sequence[str], stream: str = "") -> dict[str, int]:
        """The positions of the named views in ``stream``, read at once (0: nothing)."""
        ...

    def apply_many(self, batches: Sequence[Batch], *, stream: str = "") -> list[Applied | None]:
        """Apply several views' batches in one transaction: to each view, the events of its
        batch above the position the transaction finds it at, which must be at least the
        one expected (another worker may have moved it on meanwhile, and what it applied
        is not applied again), advancing its position with them. For each view, where it
        is left, or None when it was behind the position expected (its view was reset
        meanwhile: nothing was applied to it, and the positions must be read again)."""
        ...

    def reset(self, projection: Projection) -> None:
        """Drop and recreate the projection's tables and forget its position, atomically."""
        ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run a read-only query against the views."""
        ...

    def scan(self, sql: str, params: Sequence[Any] = (), page: int = 5_000) -> Iterator[list[Row]]:
        """The rows of a read-only query a page at a time, all from one snapshot of the
        store (one read transaction, held until the last page): a whole view of a
        million rows read without holding it in memory."""
        ...

    def analyze(self) -> None:
        """Refresh the planner's statistics of every view table after bulk work."""
        ...

    def close(self) -> None:
        """Release the store's connections."""
        ...
