"""How far each worker is behind the head of the log, read from tracking records.

On the store feed (one process reads the whole log in order) a view or policy is tracked by
its name alone, and its lag is the head minus its position.

With Kafka, the relay records ``relay`` (the last position the broker acknowledged) and
``relay@p<N>`` (the last position it published to partition N), and each view or policy
records ``<name>@p<N>`` per partition. A worker has then applied everything up to the
relay's position except, in each partition where it is behind what was published there, the
events after its position in that partition: it is complete up to the smallest such
position, and its lag is the head minus that. Nothing here asks the broker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from services.bootstrap import Runtime
from services.feeds.kafka import stream_of, tracked_name
from services.feeds.relay import RELAY


@dataclass(frozen=True)
class Lag:
    """One worker's distance to the head of the log, in log positions."""

    role: str
    worker: str
    positions: int


def streamed(rt: Runtime) -> bool:
    """Whether the workers read the log through Kafka (distributed mode)."""
    return bool(rt.settings.kafka_bootstrap_servers)


def _complete(relay: int, published: dict[int, int], position_in: Callable[[int], int]) -> int:
    """The log position up to which a worker has applied every event."""
    behind = [at for p, target in published.items() if (at := position_in(p)) < target]
    return min([relay, *behind])


class Lags:
    """Reads the lag of the views, the policies and (with Kafka) the relay of a runtime."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def _head(self) -> int:
        return self.rt.app.core.recorder.max_notification_id() or 0

    def _published(self) -> tuple[int, dict[int, int]]:
        """The relay's position, and the last position it published to each partition of
        the topic (``BREACH_KAFKA_PARTITIONS``, the count the relay creates it with)."""
        app = self.rt.app
        published = {}
        for p in range(self.rt.settings.kafka_partitions):
            at = app.core.tracked_position(tracked_name(RELAY, p))
            if at:
                published[p] = at
        return app.core.tracked_position(RELAY), published

    def relay(self) -> list[Lag]:
        """The relay's distance to the head (none on the store feed)."""
        if not streamed(self.rt):
            return []
        head = self._head()
        return [Lag("relay", "relay", max(head - self.rt.app.core.tracked_position(RELAY), 0))]

    def views(self) -> list[Lag]:
        """Each view's distance to the head."""
        if not streamed(self.rt):
            return [
                Lag("view", name, max(behind, 0))
                for name, behind in sorted(self.rt.views.lag().items())
            ]
        head = self._head()
        relay, published = self._published()
        store = self.rt.views.store
        out = []
        for worker in self.rt.views.workers:
            name = worker.projection.name

            def position_in(p: int, name: str = name) -> int:
                return store.position(name, stream_of(p))

            out.append(Lag("view", name, max(head - _complete(relay, published, position_in), 0)))
        return sorted(out, key=lambda lag: lag.worker)

    def policies(self) -> list[Lag]:
        """Each policy's distance to the head."""
        app = self.rt.app
        head = self._head()
        names = [w.policy.name for w in self.rt.policies.workers]
        if not streamed(self.rt):
            return [Lag("policy", n, max(head - app.core.tracked_position(n), 0)) for n in names]
        relay, published = self._published()
        out = []
        for name in names:

            def position_in(p: int, name: str = name) -> int:
                return app.core.tracked_position(tracked_name(name, p))

            out.append(Lag("policy", name, max(head - _complete(relay, published, position_in), 0)))
        return out

    def audit_chain(self) -> list[Lag]:
        """The audit chain's distance to the head."""
        linked, _ = self.rt.chain.last()
        return [Lag("audit", "chain", max(self._head() - linked, 0))]
