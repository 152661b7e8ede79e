"""Events of the log counted by kind, reading only what was appended since the last count."""

from __future__ import annotations

import re
import threading
from collections import Counter

from eventsourcing.persistence import ApplicationRecorder

_KIND = re.compile(r"^(?:[a-z_][a-z0-9_]*\.)*([a-z_][a-z0-9_]{0,31}):")


def kind_of(topic: str) -> str:
    """The kind of a stored event: the last part of its module (``events.incident:
    IncidentReported`` is ``incident``), or ``other`` for a topic of another shape."""
    found = _KIND.match(topic)
    return found.group(1) if found else "other"


class KindTally:
    """Counts the stored events by :func:`kind_of`, incrementally.

    Each :meth:`update` reads at most ``budget`` new events (topics only are looked at), so
    a scrape stays short on a large log; the counts reach the log's totals within a few
    scrapes after a restart.
    """

    def __init__(
        self, recorder: ApplicationRecorder, *, batch: int = 5000, budget: int = 20_000
    ) -> None:
        self.recorder = recorder
        self.batch = batch
        self.budget = budget
        self.position = 0
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def update(self) -> dict[str, int]:
        """Count what was appended since the last update; return the counts by kind."""
        with self._lock:
            read = 0
            while read < self.budget:
                rows = self.recorder.select_notifications(
                    start=self.position,
                    limit=min(self.batch, self.budget - read),
                    inclusive_of_start=False,
                )
                if not rows:
                    break
                self.counts.update(kind_of(n.topic) for n in rows)
                self.position = rows[-1].id
                read += len(rows)
            return dict(self.counts)
