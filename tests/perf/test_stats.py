"""Benchmark: team statistics over 10,000 incidents (``BENCH_STATS_INCIDENTS`` to load fewer).

Loads the incidents through the application on a manual clock spread over a year (each
reported with occurred, discovered and aware moments; one in ten assessed, so their
obligations and deadlines count, and half of those notified to the authority), then times
the figures of the metrics page over the whole year, and prints them beside a floor
measured in the same run: reading the period's board rows alone. The target is under
200 ms. Not a pass/fail test.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.application.context import RequestContext
from services.bootstrap import bootstrap
from services.config import Settings
from services.operations.stats import stats_over
from tests.support.clocks import ManualClock
from tests.support.facts import PORTAL_LEAK
from tests.support.identity import dpo_of

INCIDENTS = int(os.environ.get("BENCH_STATS_INCIDENTS", "10000"))
START = datetime(2025, 12, 1, tzinfo=UTC)
ALICE, DORA = RequestContext(actor="alice"), RequestContext(actor="dora")


def median_ms(call: object, times: int = 15) -> float:
    """The median wall time of ``call()`` in milliseconds."""
    assert callable(call)
    took = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took)


def test_team_stats_over_ten_thousand_incidents(tmp_path: Path) -> None:
    """Prints the metrics' time over INCIDENTS incidents and its ratio to the floor."""
    clock = ManualClock(START)
    rt = bootstrap(
        Settings(data_dir=tmp_path / "var", log_level="warning"), clock=clock, configure_logs=False
    )
    try:
        step = timedelta(days=365) / INCIDENTS
        loading = time.perf_counter()
        dpo_of(rt, DORA)
        for i in range(INCIDENTS):
            now = clock.current
            incident = rt.app.incidents.report_incident(
                {
                    "title": f"Incident {i}",
                    "reporter": "soc",
                    "occurred_at": now - timedelta(hours=2 + i % 40),
                    "discovered_at": now - timedelta(hours=2),
                    "aware_at": now - timedelta(minutes=30 + i % 90),
                },
                ALICE,
            ).id
            if i % 10 == 0:
                rt.app.assessment.assess_impact(incident, PORTAL_LEAK, DORA)
                if i % 20 == 0:
                    rt.app.assessment.decide_obligation(
                        incident,
                        {
                            "obligation": "eu_gdpr/supervisory_authority",
                            "decision": "notified",
                            "reason": "filed",
                            "notified_at": now,
                            "reference": f"R-{i}",
                        },
                        DORA,
                    )
            clock.current = now + step
        rt.settle()
        print(f"\nloaded {INCIDENTS:,} incidents in {time.perf_counter() - loading:.0f} s")
        year = (START.isoformat(), (START + timedelta(days=366)).isoformat())
        stats = stats_over(rt, *year)
        assert stats.incidents == INCIDENTS
        took = median_ms(lambda: stats_over(rt, *year))
        floor = median_ms(lambda: rt.board.reported_between(START, START + timedelta(days=366)))
        print(
            f"team stats over {INCIDENTS:,} incidents: {took:.1f} ms (target < 200 ms); "
            f"floor (the period's board rows alone) {floor:.1f} ms; ratio {floor / took:.2f}"
        )
        if os.environ.get("BENCH_STATS_PROFILE"):
            import cProfile
            import pstats

            profile = cProfile.Profile()
            profile.runcall(stats_over, rt, *year)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
        spans = {s.name: s.median_hours for s in stats.spans}
        print(f"figures: {spans}; deadlines {[d.model_dump() for d in stats.deadlines][:2]}")
    finally:
        rt.close()
