"""A hand-written clock for tests: starts at a fixed moment and moves only when told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ManualClock:
    """Returns the same moment until :meth:`advance` moves it; each read ticks 1 ms so
    that events recorded in one test still have distinct, ordered times."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        """Return the current moment, then tick one millisecond."""
        moment = self.current
        self.current += timedelta(milliseconds=1)
        return moment

    def advance(self, **delta: float) -> datetime:
        """Move the clock forward by a timedelta's keyword arguments."""
        self.current += timedelta(**delta)
        return self.current
