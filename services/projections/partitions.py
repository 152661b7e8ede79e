"""Views kept from Kafka partitions: each partition's batch applied to every projection, with
the position tracked per partition (the store-feed worker tracks one position instead)."""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from services.feeds.base import Positioned
from services.feeds.kafka import fresh, stream_of
from services.projections.schema import Projection
from services.projections.store import ViewStore

log = structlog.get_logger()


class ProjectionBatches:
    """Applies a partition's batch to every projection, tracked per partition."""

    def __init__(self, store: ViewStore, projections: Sequence[Projection]) -> None:
        self.store = store
        self.projections = list(projections)

    def handle(self, partition: int, items: Sequence[Positioned]) -> int:
        """Apply the events each view has not applied yet, one transaction per view."""
        stream = stream_of(partition)
        applied = 0
        for projection in self.projections:
            while True:
                at = self.store.position(projection.name, stream)
                pending = fresh(items, at)
                if not pending:
                    break
                if self.store.apply(projection, pending, at, stream=stream):
                    applied += len(pending)
                    log.info(
                        "projection.applied",
                        view=projection.name,
                        stream=stream,
                        first=pending[0].position,
                        last=pending[-1].position,
                        count=len(pending),
                    )
                    break
                log.debug("projection.raced", view=projection.name, stream=stream, position=at)
        return applied
