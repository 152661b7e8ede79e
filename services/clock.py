"""The injected clock: the only place the application reads the time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Tells the time, always timezone-aware."""

    def now(self) -> datetime:
        """Return the current moment."""
        ...


class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> datetime:
        """Return the current moment in UTC."""
        return datetime.now(UTC)
