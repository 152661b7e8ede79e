"""The test-only clock moved by a file: the machine's time plus the file's offset, read
again when the file changes, never going backwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.bootstrap import clock_of
from services.clock import OffsetFileClock, SystemClock
from services.config import Settings
from tests.support.clocks import ManualClock

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_the_offset_in_the_file_moves_the_clock_forward_only(tmp_path: Path) -> None:
    """No file is no offset; a written offset is seen at once; a bad or smaller one is
    ignored, so the clock never goes backwards."""
    path = tmp_path / "clock"
    base = ManualClock(START)
    clock = OffsetFileClock(path, base)
    assert clock.offset() == timedelta(0)
    OffsetFileClock.write(path, 3600.5)
    assert clock.offset() == timedelta(seconds=3600.5)
    assert clock.now() >= START + timedelta(seconds=3600.5)
    path.write_text("soon\n", encoding="utf-8")
    assert clock.offset() == timedelta(seconds=3600.5)
    OffsetFileClock.write(path, 60)
    assert clock.offset() == timedelta(seconds=3600.5)
    OffsetFileClock.write(path, 7200)
    assert clock.offset() == timedelta(hours=2)


def test_only_a_configured_clock_file_moves_the_time(tmp_path: Path) -> None:
    """Without ``clock_file`` the runtime's clock is the machine's; with it, the file's."""
    assert isinstance(clock_of(Settings(data_dir=tmp_path)), SystemClock)
    moved = clock_of(Settings(data_dir=tmp_path, clock_file=tmp_path / "clock"))
    assert isinstance(moved, OffsetFileClock)
    assert moved.path == tmp_path / "clock"
