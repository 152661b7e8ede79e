"""Adding a legal period to a moment: hours, calendar days, or business days with holidays."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from services.assessment.rules import Deadline

if TYPE_CHECKING:
    from holidays import HolidayBase


@cache
def _holidays(country: str) -> HolidayBase:
    # Imported on first use: the holiday calendars take a while to load.
    import holidays

    return holidays.country_holidays(country)


def add_period(start: datetime, period: Deadline, *, days: int | None = None) -> datetime:
    """The deadline ``period`` after ``start``.

    Hours and calendar days run from the exact moment. Business days are counted in the
    period's zone from the day after ``start``, skipping the weekend and the holidays of
    the calendar ``period.holidays`` (the holidays library's working-day arithmetic); the
    deadline is the end (23:59:59) of the last one. ``days`` overrides the period's number
    of days (for a longer period that applies).
    """
    if period.hours is not None:
        return start + timedelta(hours=period.hours)
    count = days if days is not None else period.days
    assert count is not None
    if period.day_type == "calendar":
        return start + timedelta(days=count)
    zone = ZoneInfo(period.zone)
    assert period.holidays is not None
    day = start.astimezone(zone).date()
    if count > 0:
        day = _holidays(period.holidays).get_nth_working_day(day, count)
    return datetime.combine(day, time(23, 59, 59), tzinfo=zone)
