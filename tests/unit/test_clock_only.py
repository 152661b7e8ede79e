"""Only the clock module reads the machine's time: no other module of events/ or services/
calls ``datetime.now``, ``datetime.utcnow``, ``datetime.today`` or ``date.today``."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLOCK = ROOT / "services" / "clock.py"
READS = re.compile(r"\b(?:datetime\.(?:now|utcnow|today)|date\.today|utcnow)\s*\(")


def test_no_module_but_the_clock_reads_the_time() -> None:
    """Every ``datetime.now(`` or ``utcnow(`` outside services/clock.py is named here."""
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("events", "services")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != CLOCK
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if READS.search(line)
    ]
    assert offenders == [], f"read the time from the injected clock instead: {offenders}"


def test_the_clock_module_is_where_the_time_is_read() -> None:
    """The pattern does find the one read in services/clock.py (so it can find others)."""
    assert READS.search(CLOCK.read_text())
