"""Brazil's business-day deadlines from the holidays library's working-day arithmetic are
the ones the counting loop they replaced gave, for every start day of 2024 to 2030."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from services.assessment.deadlines import add_period
from services.assessment.rules import Deadline

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
BRAZIL = holidays.country_holidays("BR")


def counted_by_hand(start: datetime, count: int) -> datetime:
    """The former loop: days after the start, Monday to Friday, not a Brazilian holiday."""
    day = start.astimezone(SAO_PAULO).date()
    counted = 0
    while counted < count:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in BRAZIL:
            counted += 1
    return datetime.combine(day, time(23, 59, 59), tzinfo=SAO_PAULO)


@pytest.mark.parametrize("count", [1, 2, 3, 5, 10])
def test_every_start_day_gives_the_deadline_the_loop_gave(count: int) -> None:
    """From each day of 2024-2030 (at 02:30 UTC, the evening before in Sao Paulo, and at
    15:00 UTC), ``count`` business days in Brazil end where the loop ended."""
    period = Deadline(days=count, day_type="business", holidays="BR", zone="America/Sao_Paulo")
    day = date(2024, 1, 1)
    differ = []
    while day <= date(2030, 12, 31):
        for hour, minute in ((2, 30), (15, 0)):
            start = datetime.combine(day, time(hour, minute), tzinfo=UTC)
            if add_period(start, period) != counted_by_hand(start, count):
                differ.append(start.isoformat())
        day += timedelta(days=1)
    assert differ == []


def test_a_longer_period_given_as_days_is_counted_the_same_way() -> None:
    """``days`` overrides the period's count: Friday 2026-12-24 + 5 business days in Brazil
    skips Christmas, the weekend and New Year's Day (28, 29, 30, 31 Dec, 4 Jan)."""
    period = Deadline(days=3, day_type="business", holidays="BR", zone="America/Sao_Paulo")
    start = datetime(2026, 12, 24, 16, 0, tzinfo=SAO_PAULO)
    deadline = add_period(start, period, days=5)
    assert deadline == datetime(2027, 1, 4, 23, 59, 59, tzinfo=SAO_PAULO)
    assert deadline == counted_by_hand(start, 5)
