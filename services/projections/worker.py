"""Projections as processors: a view applies a batch and records its position in one
transaction of the view store, per stream; the projection worker runs one on the store feed;
a view set applies a batch to every view in one transaction."""

from __future__ import annotations

import threading
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
        """Apply the events of the batch the view has not applied yet (raced when it was
        reset meanwhile)."""
        applied = self.store.apply_many([(self.projection, items, after)], stream=stream)[0]
        if applied is None:
            return Outcome(0, after, raced=True)
        if stream and applied.events:
            log.info(
                "projection.applied",
                view=self.projection.name,
                stream=stream,
                first=applied.first,
                last=applied.position,
                count=applied.events,
            )
        return Outcome(applied.events, applied.position)


class ViewSet:
    """A :class:`~services.feeds.processor.Processor` applying every view of a store at once:
    a batch is offered to each view from its own position, all in one transaction of the
    view store (one commit per batch, not one per view).

    Its position in a stream is the lowest of its views'. The views' positions are kept
    here between batches, per stream, as this set last recorded them; each view's position
    is compared-and-set in the transaction, so a view another worker moved meanwhile is left
    alone, the batch reports a race, and the positions are read again."""

    kind = "projection"
    name = "views"

    def __init__(self, store: ViewStore, projections: Sequence[Projection]) -> None:
        self.store = store
        self.projections = list(projections)
        self._lock = threading.Lock()
        self._known: dict[str, dict[str, int]] = {}

    @property
    def labels(self) -> dict[str, Any]:
        """The views, as log events name them."""
        return {"views": [p.name for p in self.projections]}

    def positions(self, stream: str = "") -> dict[str, int]:
        """Each view's position in ``stream``, read from the store when not known here."""
        with self._lock:
            known = self._known.get(stream)
        if known is None:
            known = self.store.positions([p.name for p in self.projections], stream)
            with self._lock:
                self._known[stream] = known
        return dict(known)

    def forget(self) -> None:
        """Read the positions from the store again next time (after a rebuild)."""
        with self._lock:
            self._known.clear()

    def position(self, stream: str = "") -> int:
        """The position every view has applied up to in ``stream``."""
        return min(self.positions(stream).values(), default=0)

    def process(self, items: Sequence[Positioned], after: int, stream: str = "") -> Outcome:
        """Apply to each view the events of ``items`` above its position, in one
        transaction (raced when a view was reset meanwhile)."""
        positions = self.positions(stream)
        batches = [(p, items, positions[p.name]) for p in self.projections]
        outcomes = self.store.apply_many(batches, stream=stream)
        applied = 0
        with self._lock:
            if any(o is None for o in outcomes):
                self._known.pop(stream, None)
                return Outcome(applied, after, raced=True)
            known = self._known.setdefault(stream, positions)
            for projection, outcome in zip(self.projections, outcomes, strict=True):
                assert outcome is not None
                known[projection.name] = outcome.position
                applied += outcome.events
        if stream:
            for projection, outcome in zip(self.projections, outcomes, strict=True):
                if outcome is not None and outcome.events:
                    log.info(
                        "projection.applied",
                        view=projection.name,
                        stream=stream,
                        first=outcome.first,
                        last=outcome.position,
                        count=outcome.events,
                    )
        return Outcome(applied, min(known.values(), default=items[-1].position))


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
