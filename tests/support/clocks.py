"""A hand-written clock for tests: starts at a fixed moment and moves only when told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ManualClock:
    """Returns the same moment until :meth:`advance` moves it; each read ticks 1 ms so
    that events recorded in one test still have distinct, ordered times."""

    def __init__(
        self, start: datetime | None = None, tick: timedelta = timedelta(milliseconds=1)
    ) -> None:
        self.current = start or datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
        self.tick = tick

    def now(self) -> datetime:
        """Return the current moment, then tick (one millisecond unless told)."""
        moment = self.current
        self.current += self.tick
        return moment

    def advance(self, **delta: float) -> datetime:
        """Move the clock forward by a timedelta's keyword arguments."""
        self.current += timedelta(**delta)
        return self.current
