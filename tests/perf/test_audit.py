"""Benchmarks: rebuilding every view from 1,000,000 events against reading the same events
raw, and an as-of replay of one incident with 50,000 events. Prints figures; not pass/fail."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

from events.base import Cause
from events.incident import Incident
from events.values import IncidentType, LegalMoments, SourceChannel
from services.bootstrap import bootstrap
from services.config import Settings

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def incident(cause: Cause) -> Incident:
    return Incident.report(
        cause,
        incident_id=uuid4(),
        title="Synthetic incident",
        description="",
        reporter="bench",
        source=SourceChannel.MONITORING,
        incident_type=IncidentType.PHISHING,
        moments=LegalMoments(discovered_at=T0),
    )


def test_rebuild_from_a_million_events(tmp_path: Path) -> None:
    """events/s of a full rebuild of every view, and of plain select_notifications."""
    rt = bootstrap(
        Settings(data_dir=tmp_path / "var", aggregate_cache_size=0), configure_logs=False
    )
    start = time.perf_counter()
    for batch in range(100):
        cause = Cause(actor="bench", correlation_id="bench", at=T0 + timedelta(minutes=batch))
        aggregates = []
        for _ in range(100):
            a = incident(cause)
            for n in range(99):
                a.add_note(cause, text=f"note {n}")
            aggregates.append(a)
        rt.app.core.save_aggregates(aggregates)
    written = time.perf_counter() - start
    head = rt.feed.head()
    start = time.perf_counter()
    raw = 0
    position = 0
    while True:
        page = rt.app.core.recorder.select_notifications(
            start=position, limit=1000, inclusive_of_start=False
        )
        if not page:
            break
        raw += len(page)
        position = page[-1].id
    raw_time = time.perf_counter() - start
    views = len(rt.views.workers)
    start = time.perf_counter()
    rt.views.rebuild()
    rebuild_time = time.perf_counter() - start
    start = time.perf_counter()
    rt.link()
    link_time = time.perf_counter() - start
    rt.close()
    assert raw == head == 1_000_000
    print(
        f"\n{head:,} events written in {written:.0f} s\n"
        f"  raw select_notifications: {head / raw_time:,.0f} events/s ({raw_time:.1f} s)\n"
        f"  rebuild of all {views} views: {head / rebuild_time:,.0f} events/s "
        f"({rebuild_time:.1f} s), ratio to raw {raw_time / rebuild_time:.3f}\n"
        f"  audit chain over the whole log: {head / link_time:,.0f} events/s ({link_time:.1f} s)"
    )


def test_as_of_replay_of_an_incident_with_50k_events(tmp_path: Path) -> None:
    """Milliseconds to replay one long-lived incident as of a moment, with snapshots."""
    rt = bootstrap(
        Settings(data_dir=tmp_path / "var", aggregate_cache_size=0), configure_logs=False
    )
    cause = Cause(actor="bench", correlation_id="bench", at=T0)
    long_lived = incident(cause)
    rt.app.core.save(long_lived)
    for n in range(1, 50_000):
        at = T0 + timedelta(seconds=n)
        long_lived.add_note(Cause(actor="bench", correlation_id="bench", at=at), text=f"n{n}")
        if n % 1000 == 0:
            rt.app.core.save(long_lived)
    rt.app.core.save(long_lived)
    middle = T0 + timedelta(seconds=25_000, milliseconds=500)
    timings = {}
    for label, moment in (("middle", middle), ("latest", T0 + timedelta(days=2))):
        start = time.perf_counter()
        for _ in range(20):
            replayed = rt.app.core.as_of(long_lived.id, moment)
        timings[label] = (time.perf_counter() - start) / 20
        assert replayed is not None
    assert rt.app.core.as_of(long_lived.id, middle).version == 25_001
    start = time.perf_counter()
    folded = None
    for event in rt.app.core.events.get(long_lived.id):
        folded = event.mutate(folded)
    full = time.perf_counter() - start
    snapshots = len(list(rt.app.core.snapshots.get(long_lived.id)))
    rt.close()
    print(
        f"\nas-of replay of one incident with 50,000 events ({snapshots} snapshots):\n"
        f"  as of the middle: {timings['middle'] * 1000:.1f} ms; as of now: "
        f"{timings['latest'] * 1000:.1f} ms\n"
        f"  folding all 50,000 events without snapshots: {full * 1000:.0f} ms"
    )
