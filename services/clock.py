"""The injected clock: the only place the application reads the time."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
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


class OffsetFileClock:
    """The machine's clock moved forward by the seconds written in a file: for tests that
    move the time of worker processes they cannot reach (``BREACH_CLOCK_FILE``), never for
    production.

    The file holds one number of seconds; it is read again whenever it changes. A missing
    file is no offset; an offset that cannot be read, or that would move the time back, is
    ignored (the last good one stays), so the clock never goes backwards."""

    def __init__(self, path: Path, base: Clock | None = None) -> None:
        self.path = path
        self.base = base or SystemClock()
        self._offset = timedelta(0)
        self._stamp: tuple[int, int, int] | None = None

    @staticmethod
    def write(path: Path, seconds: float) -> None:
        """Set the offset of every clock reading ``path`` (written whole, then renamed)."""
        part = path.with_name(f".{path.name}.{os.getpid()}")
        part.write_text(f"{seconds!r}\n", encoding="utf-8")
        part.replace(path)

    def offset(self) -> timedelta:
        """The offset now in force."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return self._offset
        stamp = (stat.st_mtime_ns, stat.st_ino, stat.st_size)
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                seconds = float(self.path.read_text(encoding="utf-8").strip())
            except (OSError, ValueError):
                return self._offset
            if timedelta(seconds=seconds) > self._offset:
                self._offset = timedelta(seconds=seconds)
        return self._offset

    def now(self) -> datetime:
        """Return the machine's moment in UTC plus the file's offset."""
        return self.base.now() + self.offset()
