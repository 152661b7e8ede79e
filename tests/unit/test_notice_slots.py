"""The tenth of a second a moment falls in is exact at every moment a datetime can hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notifications.views import SLOT, slot_of, slot_start

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def test_a_moment_falls_in_the_tenth_that_holds_it_from_year_1_to_9999() -> None:
    """At the first and last microsecond of tenths around the epoch, today and at both ends
    of the calendar (where a float of seconds would round), the slot starts at or before the
    moment and the next one after it."""
    tenth = timedelta(milliseconds=100)
    moments = [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        EPOCH - timedelta(microseconds=1),
        EPOCH,
        datetime(2026, 12, 6, 4, 0, 0, 100_000, tzinfo=UTC),
        datetime(2026, 12, 6, 4, 0, 0, 99_999, tzinfo=UTC),
    ]
    for moment in moments:
        slot = slot_of(moment)
        assert slot == (moment - EPOCH) // SLOT, moment
        assert slot_start(slot) <= moment, moment
        if moment < datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC):
            assert slot_start(slot) + tenth > moment, moment
