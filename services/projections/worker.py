"""Projections as processors: a view applies a batch and records its position in one
transaction of the view store, per stream; the projection worker runs one on the store feed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import structlog

from services.feeds.base import Feed, Positioned
from services.feeds.processor import Outcome, Runner
from services.projections.schema import Projection
from services.projections.store import ViewStore

log = structlog.get_logger()

Progress = Callable[[int, int], None]
"""Called with (events applied so far, events to apply in all) as a catch-up goes."""


class ViewProcessor:
    """A :class:`~services.feeds.processor.Processor` applying a projection to a view store:
    each batch with the view's position in the stream, compared-and-set."""

    kind = "projection"

    def __init__(self, store: ViewStore, projection: Projection) -> None:
        self.store = store
        self.projection = projection

    @property
    def name(self) -> str:
        """The view's name."""
        return self.projection.name

    @property
    def labels(self) -> dict[str, Any]:
        """The view, as log events name it."""
        return {"view": self.projection.name}

    def position(self, stream: str = "") -> int:
        """The position the view has applied up to in ``stream``."""
        return self.store.position(self.projection.name, stream)

    def process(self, items: Sequence[Positioned], after: int, stream: str = "") -> Outcome:
        """Apply the batch if the view is still at ``after`` (raced otherwise)."""
        if not self.store.apply(self.projection, items, after, stream=stream):
            return Outcome(0, after, raced=True)
        if stream:
            log.info(
                "projection.applied",
                view=self.projection.name,
                stream=stream,
                first=items[0].position,
                last=items[-1].position,
                count=len(items),
            )
        return Outcome(len(items), items[-1].position)


class ProjectionWorker(Runner[Positioned]):
    """Applies a projection to a view store from the store feed, in batches, exactly once."""

    def __init__(
        self,
        feed: Feed,
        store: ViewStore,
        projection: Projection,
        *,
        batch_size: int = 500,
    ) -> None:
        view = ViewProcessor(store, projection)
        super().__init__(view, feed, read=feed.read, batch_size=batch_size)
        self.view = view

    @property
    def projection(self) -> Projection:
        """The projection this worker applies."""
        return self.view.projection
