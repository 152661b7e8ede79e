"""The projection worker: feeds events to a projection and records its position with them."""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

from services.feeds.base import Feed
from services.feeds.running import follow
from services.projections.schema import Projection
from services.projections.store import ViewStore

log = structlog.get_logger()

Progress = Callable[[int, int], None]
"""Called with (position reached, head of the log) after each batch."""


class ProjectionWorker:
    """Applies a projection to a view store from a feed, in batches, exactly once."""

    def __init__(
        self,
        feed: Feed,
        store: ViewStore,
        projection: Projection,
        *,
        batch_size: int = 500,
    ) -> None:
        self.feed = feed
        self.store = store
        self.projection = projection
        self.batch_size = batch_size

    @property
    def position(self) -> int:
        """The log position the view has applied up to."""
        return self.store.position(self.projection.name)

    def catch_up(self, progress: Progress | None = None) -> int:
        """Apply every event up to the head of the log; return how many this call applied."""
        applied = 0
        head = self.feed.head()
        while True:
            start = self.position
            items = self.feed.read(start, self.batch_size)
            if not items:
                return applied
            if self.store.apply(self.projection, items, start):
                applied += len(items)
                if progress is not None:
                    progress(items[-1].position, max(head, items[-1].position))
            else:
                log.debug("projection.raced", view=self.projection.name, position=start)

    def run(self, stop: threading.Event, idle_timeout: float = 1.0) -> None:
        """Keep the view current until ``stop`` is set."""
        follow(
            "projection",
            {"view": self.projection.name},
            self.catch_up,
            lambda: self.position,
            self.feed,
            stop,
            idle_timeout=idle_timeout,
        )
