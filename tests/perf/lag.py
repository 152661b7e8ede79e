"""Measuring the lag from a save to the views: a steady appender, and a watcher that polls the
view store's tracking and notes when each saved event's position is reached.

Every time is taken with one clock (``time.perf_counter``) in the benchmark's process: the
save's return by the appender, the sighting by the watcher. A sighting is the end of the poll
round whose read showed the position, so it is late by at most one round (its period is
reported with the figures).
"""

from __future__ import annotations

import queue
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from services.application.context import RequestContext
from services.bootstrap import Runtime
from services.projections.sqlite_store import tracking_name
from tests.support.reports import report_input

CTX = RequestContext(actor="bench", correlation_id="bench-lag")

TRACKING_SQL = {
    "sqlite": "SELECT application_name, notification_id FROM tracking",
    "postgres": "SELECT application_name, notification_id FROM view_tracking",
}
"""Every view's tracking positions in one read (one row per view and stream)."""


@dataclass(frozen=True)
class Saved:
    """An event whose save returned at ``at``, and the stream of the log it belongs to."""

    position: int
    stream: str
    at: float


@dataclass
class Sightings:
    """When the watcher first saw each saved event applied: by the first view, and by all."""

    first: dict[int, float] = field(default_factory=dict)
    every: dict[int, float] = field(default_factory=dict)


class Watch(threading.Thread):
    """Polls the view store's tracking until stopped; for every event handed to :meth:`add`,
    records when ``views[0]`` and when every one of ``views`` reached its position in its
    stream."""

    def __init__(self, rt: Runtime, kind: str, views: Sequence[str], pause: float = 0.001):
        super().__init__(name="lag-watch", daemon=True)
        self.rt = rt
        self.sql = TRACKING_SQL[kind]
        self.views = list(views)
        self.pause = pause
        self.incoming: queue.SimpleQueue[Saved] = queue.SimpleQueue()
        self.waiting_first: dict[str, deque[Saved]] = {}
        self.waiting_every: dict[str, deque[Saved]] = {}
        self.seen = Sightings()
        self.rounds = 0
        self.busy = 0.0
        self.stop_event = threading.Event()
        self.failure: BaseException | None = None

    def add(self, saved: Saved) -> None:
        """Watch for ``saved`` (called from the appender's thread)."""
        self.incoming.put(saved)

    def positions(self) -> dict[str, int]:
        """Every tracking position of the view store, by tracking name."""
        rows = self.rt.views.store.query(self.sql)
        return {str(r["application_name"]): int(r["notification_id"]) for r in rows}

    def _take_incoming(self) -> None:
        while True:
            try:
                saved = self.incoming.get_nowait()
            except queue.Empty:
                return
            self.waiting_first.setdefault(saved.stream, deque()).append(saved)
            self.waiting_every.setdefault(saved.stream, deque()).append(saved)

    def _round(self) -> None:
        self._take_incoming()
        if not any(self.waiting_every.values()):
            return
        tracked = self.positions()
        now = time.perf_counter()
        for stream, waiting in self.waiting_first.items():
            reached = tracked.get(tracking_name(self.views[0], stream), 0)
            while waiting and waiting[0].position <= reached:
                self.seen.first[waiting.popleft().position] = now
        for stream, waiting in self.waiting_every.items():
            reached = min(tracked.get(tracking_name(v, stream), 0) for v in self.views)
            while waiting and waiting[0].position <= reached:
                self.seen.every[waiting.popleft().position] = now

    def run(self) -> None:
        """Poll until stopped."""
        try:
            while not self.stop_event.is_set():
                started = time.perf_counter()
                self._round()
                self.rounds += 1
                self.busy += time.perf_counter() - started
                time.sleep(self.pause)
        except BaseException as e:  # reported by wait_for
            self.failure = e

    @property
    def pending(self) -> int:
        """Events handed over and not yet seen applied by every view."""
        return self.incoming.qsize() + sum(len(w) for w in self.waiting_every.values())

    def wait_for(self, saved: Sequence[Saved], timeout: float) -> None:
        """Wait until every view applied each of ``saved``; fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while any(s.position not in self.seen.every for s in saved):
            if self.failure is not None:
                raise self.failure
            if time.monotonic() > deadline:
                missing = sum(1 for s in saved if s.position not in self.seen.every)
                msg = f"{missing} of {len(saved)} events never reached every view"
                raise AssertionError(msg)
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop polling and wait for the thread."""
        self.stop_event.set()
        self.join(10)


class Appender:
    """Reports incidents and adds notes through the application, one command at a time,
    noting each saved event's position (from the application's ``on_saved``) and stream."""

    def __init__(self, rt: Runtime, stream_of: Callable[[UUID], str], watch: Watch) -> None:
        self.rt = rt
        self.stream_of = stream_of
        self.watch = watch
        self.incidents: list[UUID] = []
        self._known: set[UUID] = set()
        self.save_seconds: list[float] = []
        self._last = 0
        saved = rt.app.core.on_saved

        def noted(position: int) -> None:
            self._last = position
            if saved is not None:
                saved(position)

        rt.app.core.on_saved = noted

    def report(self, title: str) -> Saved:
        """Report an incident; its report event as saved."""
        started = time.perf_counter()
        incident = self.rt.app.incidents.report_incident(
            report_input(self.rt.app.core.clock.now(), title=title), CTX
        )
        return self._saved(incident.id, started)

    def note(self, index: int) -> Saved:
        """Add a note to one of the incidents reported so far (chosen by ``index``)."""
        incident = self.incidents[(index * 7919) % len(self.incidents)]
        started = time.perf_counter()
        self.rt.app.incidents.add_note(
            incident, {"text": f"Note {index}: checked the proxy logs."}, CTX
        )
        return self._saved(incident, started)

    def _saved(self, incident: UUID, started: float) -> Saved:
        at = time.perf_counter()
        self.save_seconds.append(at - started)
        if incident not in self._known:
            self._known.add(incident)
            self.incidents.append(incident)
        saved = Saved(self._last, self.stream_of(incident), at)
        self.watch.add(saved)
        return saved

    def warm_up(self, streams: set[str], timeout: float) -> None:
        """Report incidents until every stream has one, and wait until every view applied
        them (the workers are then connected, assigned and warm)."""
        saved = [self.report(f"Warm-up {i}") for i in range(4)]
        while {s.stream for s in saved} < streams and len(saved) < 200:
            saved.append(self.report(f"Warm-up {len(saved)}"))
        self.watch.wait_for(saved, timeout)
        self.save_seconds.clear()

    def steady(
        self, rate: float, seconds: float, reports_every: int = 5
    ) -> tuple[list[Saved], float]:
        """Save ``rate`` events a second for ``seconds`` (one report, then notes, in each
        ``reports_every``); the events saved and the rate achieved."""
        count = int(rate * seconds)
        out: list[Saved] = []
        start = time.perf_counter()
        for i in range(count):
            due = start + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            out.append(self.report(f"Incident {i}") if i % reports_every == 0 else self.note(i))
        return out, count / (time.perf_counter() - start)


@dataclass(frozen=True)
class Lags:
    """p50, p99 and max of lags in milliseconds."""

    p50: float
    p99: float
    max: float

    @classmethod
    def of(cls, saved: Sequence[Saved], seen: dict[int, float]) -> Lags:
        """The lags from each save's return to its sighting."""
        ms = sorted((seen[s.position] - s.at) * 1000 for s in saved)
        q = statistics.quantiles(ms, n=100, method="inclusive")
        return cls(q[49], q[98], ms[-1])

    def ratio(self, baseline: Lags) -> Lags:
        """Each figure divided by the baseline's."""
        return Lags(self.p50 / baseline.p50, self.p99 / baseline.p99, self.max / baseline.max)
