"""The view store interface the views, their workers and their readers are written against
(:class:`~services.projections.sqlite_store.SQLiteViewStore` and
:class:`~services.projections.postgres_store.PostgresViewStore` provide it).

Readers query views with SQL both databases run alike: ``?`` placeholders, no SQLite-only
constructs (``SUM(a = b)`` is written ``SUM(CASE WHEN a = b THEN 1 ELSE 0 END)``, a unary
``+col`` planner hint ``(col || '')``), subqueries in ``FROM`` given an alias, and
identifiers that are keywords (``"row"``) quoted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from services.feeds.base import Positioned
from services.projections.schema import Projection, Row


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

    def apply(
        self,
        projection: Projection,
        items: Sequence[Positioned],
        expected: int,
        *,
        stream: str = "",
    ) -> bool:
        """Apply events and advance the position in one transaction if the view is still at
        ``expected``; False (nothing changed) when another worker moved it first."""
        ...

    def reset(self, projection: Projection) -> None:
        """Drop and recreate the projection's tables and forget its position, atomically."""
        ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run a read-only query against the views."""
        ...

    def analyze(self) -> None:
        """Refresh the planner's statistics of every view table after bulk work."""
        ...

    def close(self) -> None:
        """Release the store's connections."""
        ...
