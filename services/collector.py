"""The garbage collector's tuning for a process that serves, or runs one long command.

The objects built while such a process starts (its modules, the wired application) live as
long as it does: they are moved out of the collector's sight, so a full collection no longer
walks them; and young objects are collected less often, since bulk work (an import, a
rebuild, a campaign) and requests allocate many short-lived ones. At a hundred thousand
events both together take about a fifth off a rebuild of the views or an import.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000
"""Allocations between two collections of the youngest generation (the interpreter's
default is 700)."""


def tune_for_long_work(*, collect_first: bool = True) -> None:
    """Freeze what the process holds, and collect young objects less often.
    ``collect_first`` collects once before (tens of milliseconds: worth it before a
    server's days, not before a command of a second, whose start leaves little garbage)."""
    if collect_first:
        gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, 20, 20)
