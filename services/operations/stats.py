"""Team statistics on a wired runtime: the period rule every face shares (``from`` and
``to`` as any moment the commands accept; by default the 90 days up to now) and the
figures over it (:mod:`services.team_stats`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.application.errors import InvalidInput
from services.bootstrap import Runtime
from services.team_stats import TeamStats, team_stats
from services.timefmt import parse_time

DEFAULT_PERIOD = timedelta(days=90)
"""The period when none is given: the last 90 days."""
LONGEST_PERIOD = timedelta(days=3660)
"""The longest period asked for at once (ten years)."""


def period(start: str | None, end: str | None, rt: Runtime) -> tuple[datetime, datetime]:
    """The period ``[start, end)`` a reader asked for: each bound any moment the commands
    accept (a date is its midnight in the configured zone), ``end`` defaulting to now and
    ``start`` to 90 days before ``end``."""
    zone, now = rt.settings.zone, rt.app.core.clock.now()
    last = parse_time("to", end, zone, now=now) if end else now
    first = parse_time("from", start, zone, now=now) if start else last - DEFAULT_PERIOD
    if first >= last:
        raise InvalidInput("from", "must be before to")
    if last - first > LONGEST_PERIOD:
        raise InvalidInput("from", "the period is longer than ten years; ask for less")
    return first, last


def stats_over(rt: Runtime, start: str | None, end: str | None) -> TeamStats:
    """The team's figures over the period asked for, from views brought up to date."""
    first, last = period(start, end, rt)
    rt.gateway.current()
    return team_stats(
        rt.board, rt.obligations, rt.notifications, first, last, rt.app.core.clock.now()
    )
