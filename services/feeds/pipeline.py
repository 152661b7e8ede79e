"""How far the distributed pipeline has got: the relay, the projection and policy workers.

Everything here is read from tracking records, through the event store and the view store,
so it works whichever store is configured:

- ``relay`` is the last log position the broker acknowledged, and ``relay@p<N>`` the last
  position published to partition N (recorded before ``relay`` for the same batch);
- ``<view>@p<N>`` is the last position a view applied from partition N, and
  ``<policy>@p<N>`` the last a policy handled.

To know that a view has applied everything up to a log position P: wait until the relay has
recorded P, read what it had published to each partition by then, and wait until the view
reached that in every partition. That is exact (every event at or before P is at or before
what was published to its partition) and needs no broker offsets.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import structlog

from services.application.base import LedgerApplication
from services.feeds.kafka import stream_of, tracked_name
from services.feeds.processor import handling
from services.feeds.relay import RELAY
from services.feeds.store import StoreFeed

log = structlog.get_logger()


class PipelineTimeout(TimeoutError):
    """The pipeline did not reach a position in time."""


@dataclass
class Pipeline:
    """Reads and waits on the progress of the relay and the workers.

    ``view_position(name, stream)`` is the view store's tracking; ``partitions`` returns the
    topic's partition count (looked up once, when first needed).
    """

    app: LedgerApplication
    feed: StoreFeed
    view_position: Callable[[str, str], int]
    partitions: Callable[[], int]
    views: Sequence[str]
    policies: Sequence[str]
    interval: float = 0.02
    _count: int = field(default=0, init=False)

    @property
    def count(self) -> int:
        """The topic's partition count."""
        if not self._count:
            self._count = self.partitions()
        return self._count

    def relay(self) -> int:
        """The last log position the relay recorded as acknowledged."""
        return self.app.tracked_position(RELAY)

    def published(self) -> dict[int, int]:
        """The last position the relay published to each partition (partitions it never
        published to are left out)."""
        out = {}
        for p in range(self.count):
            at = self.app.tracked_position(tracked_name(RELAY, p))
            if at:
                out[p] = at
        return out

    def _until(
        self, done: Callable[[], bool], deadline: float, stop: threading.Event | None
    ) -> bool:
        while not done():
            if time.monotonic() >= deadline or (stop is not None and stop.is_set()):
                return False
            time.sleep(self.interval)
        return True

    def _targets(
        self, position: int, deadline: float, stop: threading.Event | None
    ) -> dict[int, int]:
        if position <= 0:
            return {}
        if not self._until(lambda: self.relay() >= position, deadline, stop):
            raise PipelineTimeout(f"the relay has not published position {position}")
        return self.published()

    def _reach(
        self,
        targets: dict[int, int],
        names: Sequence[str],
        position_of: Callable[[str, int], int],
        deadline: float,
        stop: threading.Event | None,
    ) -> None:
        pending = [(name, p, at) for name in names for p, at in targets.items()]

        def done() -> bool:
            pending[:] = [(n, p, at) for n, p, at in pending if position_of(n, p) < at]
            return not pending

        if not self._until(done, deadline, stop):
            name, p, at = pending[0]
            raise PipelineTimeout(
                f"{name} has not reached position {at} in partition {p} "
                f"({len(pending)} view or policy partitions behind)"
            )

    def wait_views(
        self,
        position: int,
        views: Sequence[str] | None = None,
        *,
        timeout: float = 5.0,
        stop: threading.Event | None = None,
    ) -> None:
        """Wait until the views (default: all) applied every event up to ``position``."""
        deadline = time.monotonic() + timeout
        targets = self._targets(position, deadline, stop)
        names = self.views if views is None else views
        self._reach(
            targets, names, lambda n, p: self.view_position(n, stream_of(p)), deadline, stop
        )

    def wait_policies(
        self, position: int, *, timeout: float = 5.0, stop: threading.Event | None = None
    ) -> None:
        """Wait until every policy handled every event up to ``position`` (their reactions
        are then in the store)."""
        deadline = time.monotonic() + timeout
        targets = self._targets(position, deadline, stop)
        self._reach(
            targets,
            self.policies,
            lambda n, p: self.app.tracked_position(tracked_name(n, p)),
            deadline,
            stop,
        )

    def settle(self, *, timeout: float = 5.0, policies: bool = True) -> bool:
        """Read-your-writes for a caller that just saved: wait, at most ``timeout`` seconds,
        until the workers have handled everything stored so far (with ``policies``: the
        policies, then the views up to their reactions too). Returns False on timeout
        (logged); the caller's reads may then be a little behind."""
        deadline = time.monotonic() + timeout
        try:
            if policies and self.policies:
                self.wait_policies(self.feed.head(), timeout=timeout)
            left = max(deadline - time.monotonic(), 0.0)
            self.wait_views(self.feed.head(), timeout=left)
        except PipelineTimeout as e:
            log.warning("pipeline.behind", reason=str(e), timeout=timeout)
            return False
        return True

    def lag(self) -> dict[str, Any]:
        """How far each part is behind the head of the log (for status and metrics)."""
        head = self.feed.head()
        published = self.published()
        views = {
            name: sum(
                max(at - self.view_position(name, stream_of(p)), 0) for p, at in published.items()
            )
            for name in self.views
        }
        return {"head": head, "relay": head - self.relay(), "views": views}


def people_as_of(
    pipeline: Pipeline,
    people: Callable[[UUID], Iterable[dict[str, Any]]],
    *,
    timeout: float = 120.0,
    stop: threading.Event | None = None,
) -> Callable[[UUID], Iterable[dict[str, Any]]]:
    """The people of an incident as the people view has them once it applied every event
    before the one the policy is handling (its position, as the engine tells it).

    The notice queueing policy reads the people view; under the Kafka feed, the view's
    partitions advance independently, so the policy must wait for all of them.
    """

    def of_incident(incident_id: UUID) -> Iterable[dict[str, Any]]:
        pipeline.wait_views(handling(), ["people"], timeout=timeout, stop=stop)
        return people(incident_id)

    return of_incident
