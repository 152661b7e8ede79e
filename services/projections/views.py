"""The set of views of a deployment: catch them all up, rebuild them, run them."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from services.feeds.base import Feed
from services.feeds.processor import SharedRunner
from services.projections.schema import Projection
from services.projections.store import ViewStore
from services.projections.worker import Progress, ProjectionWorker, ViewSet

ANALYZE_AFTER = 5_000
"""Events applied by one catch-up (a rebuild, a start after a pause, a bulk import) after
which the views' statistics are refreshed."""

REBUILD_BATCH = 5_000
"""Events applied to the views per transaction when they are rebuilt: fewer, larger
commits (each folds more rows into pages the view store writes once)."""


class Views:
    """Every projection of the application over one view store and one feed."""

    def __init__(self, feed: Feed, store: ViewStore, projections: Sequence[Projection]):
        self.feed = feed
        self.store = store
        self.workers = [ProjectionWorker(feed, store, p) for p in projections]
        self.set = ViewSet(store, projections)

    def catch_up(self, progress: Progress | None = None, batch_size: int = 500) -> int:
        """Bring every view to the head of the log; return the events applied (summed over
        views). Each batch is read and decoded once and applied to every view behind it in
        one transaction.

        ``progress`` is called with (events applied so far, events to apply in all).
        """
        head = self.feed.head()
        views = self.set
        total = sum(max(head - p, 0) for p in views.positions().values())
        applied = 0
        at = views.position()
        while items := self.feed.read(at, batch_size):
            outcome = views.process(items, at)
            applied += outcome.applied
            at = views.position() if outcome.raced else outcome.reached
            if progress is not None:
                progress(applied, max(total, applied))
        if applied >= ANALYZE_AFTER:
            self.store.analyze()
        return applied

    def catch_up_only(self, *names: str) -> int:
        """Bring only the named views to the head of the log."""
        return sum(w.catch_up() for w in self.workers if w.projection.name in names)

    def rebuild(self, progress: Progress | None = None, batch_size: int = REBUILD_BATCH) -> int:
        """Drop every view and build it again from the whole log."""
        for worker in self.workers:
            self.store.reset(worker.projection)
        self.set.forget()
        return self.catch_up(progress, batch_size=batch_size)

    def lag(self) -> dict[str, int]:
        """How many positions each view is behind the head of the log."""
        head = self.feed.head()
        return {w.projection.name: head - w.position for w in self.workers}

    def runner(self, batch_size: int = 500) -> SharedRunner:
        """Every view kept at the head of the log in one thread, each batch read once and
        applied to every view in one transaction."""
        return SharedRunner("views", [self.set], self.feed, batch_size=batch_size)

    def start(self, stop: threading.Event) -> list[threading.Thread]:
        """Run every worker in a daemon thread until ``stop`` is set."""
        threads = [
            threading.Thread(
                target=w.run, args=(stop,), name=f"view-{w.projection.name}", daemon=True
            )
            for w in self.workers
        ]
        for t in threads:
            t.start()
        return threads
