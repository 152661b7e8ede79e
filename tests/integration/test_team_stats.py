"""Team statistics on the real store over a seeded history with known figures: the hours of
each span, deadlines met, missed and pending per regime, incidents per month by type and
severity, notices by status, and the period rule every face shares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.application.context import RequestContext
from services.application.errors import InvalidInput
from services.bootstrap import Runtime
from services.operations.stats import period, stats_over
from services.team_stats import as_csv, percentile
from tests.support.clocks import ManualClock
from tests.support.story import STORY_START, record_story

ALICE = RequestContext(actor="alice")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(STORY_START)


def test_the_told_story_gives_its_known_figures(
    runtime: Runtime, clock: ManualClock, tmp_path: Path
) -> None:
    """Over the story (three incidents in November): detection took 5 h, awareness 1 h and
    0.5 h after discovery (corrected), containment the hours the board recorded, the
    authority was notified 33 h after awareness and the people told 29 h after; each
    regime's deadlines are counted once; 40 notices were sent."""
    record_story(runtime, clock, tmp_path)
    stats = stats_over(runtime, "2026-11-01", "2026-12-01")
    assert stats.incidents == 3
    spans = {s.name: s for s in stats.spans}
    assert (spans["detect"].incidents, spans["detect"].median_hours) == (1, 5.0)
    assert spans["aware"].incidents == 2
    assert (spans["aware"].median_hours, spans["aware"].p90_hours) == (0.5, 1.0)
    assert spans["contain"].incidents == 1
    assert spans["notify_authority"].median_hours == 33.0
    assert spans["notify_people"].incidents == 1
    assert 28.9 < (spans["notify_people"].median_hours or 0) < 29.1
    regimes = {d.regime: d for d in stats.deadlines}
    assert (regimes["eu_gdpr"].met, regimes["eu_gdpr"].missed) == (1, 0)
    assert regimes["uk_gdpr"].pending == 1
    assert [(c.month, c.kind, c.incidents) for c in stats.by_type] == [
        ("2026-11", "lost_or_stolen_device", 1),
        ("2026-11", "misdirected_communication", 1),
        ("2026-11", "web_application_exfiltration", 1),
    ]
    assert {c.kind: c.incidents for c in stats.by_severity} == {"high": 1, "low": 1, "none": 1}
    assert stats.notices == {"sent": 40}
    text = as_csv(stats)
    assert "hours,detect,median,5.00" in text
    assert "notices,sent,,40" in text


def test_a_period_selects_incidents_by_when_they_were_reported(
    runtime: Runtime, clock: ManualClock, tmp_path: Path
) -> None:
    """The period holds the incidents reported from its start up to, not including, its
    end: the laptop reported two days before the story's start is left out of a period that
    starts with the story."""
    record_story(runtime, clock, tmp_path)
    later = stats_over(runtime, STORY_START.isoformat(), "2026-12-01")
    assert later.incidents == 2
    assert stats_over(runtime, "2026-11-01", STORY_START.isoformat()).incidents == 1


def test_the_period_rule_refuses_a_reversed_or_endless_period(runtime: Runtime) -> None:
    """From after to, a period over ten years and a bound that is not a time are refused
    naming the field; with no bounds the period is the 90 days up to now."""
    for start, end, field in (
        ("2026-11-02", "2026-11-01", "from"),
        ("2000-01-01", "2026-11-01", "from"),
        ("yesterday", None, "from"),
        (None, "soon", "to"),
    ):
        with pytest.raises(InvalidInput) as refused:
            period(start, end, runtime)
        assert refused.value.field == field
    first, last = period(None, None, runtime)
    assert last - first == timedelta(days=90)


def test_percentiles_are_nearest_rank() -> None:
    """By nearest rank the median of an even count is its lower middle, the 90th percentile
    of ten values is the ninth, and nothing has none."""
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.0
    assert percentile([float(i) for i in range(1, 11)], 0.9) == 9.0
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0


def test_no_incidents_no_figures(runtime: Runtime) -> None:
    """A period without incidents has zero incidents, no hours, no deadlines, no notices."""
    stats = stats_over(runtime, "2020-01-01", "2020-02-01")
    assert stats.incidents == 0
    assert all(s.median_hours is None for s in stats.spans)
    assert (stats.deadlines, stats.notices) == ([], {})
    assert datetime(2020, 1, 1, tzinfo=UTC) == stats.start
