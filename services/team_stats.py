"""Team statistics over a period: how long detection, awareness, containment and telling the
authority and the people took (median and 90th percentile), deadlines met and missed per
regime, incidents per month by type and by severity, and notices sent and failed.

Every figure comes from the views (the board, the obligations, the campaigns and their
notices' moves), over the incidents reported in the period; nothing is replayed. Each
capability answers for its own tables (see their readers); this module only combines.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel

from services.assessment.obligations_view import Obligations
from services.incidents.board import Board
from services.notifications.views import Notifications
from services.projections.schema import from_db_time

SPANS = (
    ("detect", "occurred to discovered"),
    ("aware", "discovered to aware"),
    ("contain", "aware to containment reached"),
    ("notify_authority", "aware to the authority notified"),
    ("notify_people", "aware to the people told (campaign completed)"),
)
"""The durations measured per incident: name and what they run from and to."""


class Span(BaseModel):
    """One duration over the period's incidents: how many had it, median and 90th
    percentile in hours (None when none had it)."""

    name: str
    label: str
    incidents: int
    median_hours: float | None
    p90_hours: float | None


class RegimeDeadlines(BaseModel):
    """Deadlines of one regime: met, missed, still pending."""

    regime: str
    regime_name: str
    met: int
    missed: int
    pending: int


class MonthCount(BaseModel):
    """Incidents reported in a month (``YYYY-MM``) of one kind (a type or a severity)."""

    month: str
    kind: str
    incidents: int


class TeamStats(BaseModel):
    """The team's figures over ``[start, end)``."""

    start: datetime
    end: datetime
    incidents: int
    spans: list[Span]
    deadlines: list[RegimeDeadlines]
    by_type: list[MonthCount]
    by_severity: list[MonthCount]
    notices: dict[str, int]


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile: the smallest value that at least ``share`` of the values
    do not exceed (0.5: the median, the lower middle of an even count; 0.9: the 90th)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def _hours(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None or end < start:
        return None
    return (end - start) / timedelta(hours=1)


def team_stats(
    board: Board,
    obligations: Obligations,
    notifications: Notifications,
    start: datetime,
    end: datetime,
    now: datetime,
) -> TeamStats:
    """The figures of the incidents reported from ``start`` up to ``end`` (deadlines
    judged at ``now``)."""
    rows = board.reported_between(start, end)
    ids = [str(r["incident_id"]) for r in rows]
    authority = obligations.first_notified(ids, "authority")
    campaigns = notifications.of_incidents(ids)
    told: dict[str, datetime] = {}
    notices: Counter[str] = Counter()
    for c in campaigns:
        notices.update({k: v for k, v in c["notices"].items() if v})
        done = from_db_time(c["completed_at"])
        if c["audience"] == "people" and done is not None:
            incident = str(c["incident_id"])
            told[incident] = min(done, told.get(incident, done))
    measured: dict[str, list[float]] = {name: [] for name, _ in SPANS}
    for r in rows:
        incident = str(r["incident_id"])
        occurred, discovered, aware = (
            from_db_time(r[k]) for k in ("occurred_at", "discovered_at", "aware_at")
        )
        for name, value in (
            ("detect", _hours(occurred, discovered)),
            ("aware", _hours(discovered, aware)),
            (
                "contain",
                r["time_to_contain_seconds"] / 3600
                if r["time_to_contain_seconds"] is not None
                else None,
            ),
            ("notify_authority", _hours(aware, authority.get(incident))),
            ("notify_people", _hours(aware, told.get(incident))),
        ):
            if value is not None:
                measured[name].append(value)
    return TeamStats(
        start=start,
        end=end,
        incidents=len(rows),
        spans=[
            Span(
                name=name,
                label=label,
                incidents=len(measured[name]),
                median_hours=percentile(measured[name], 0.5),
                p90_hours=percentile(measured[name], 0.9),
            )
            for name, label in SPANS
        ],
        deadlines=[RegimeDeadlines(**r) for r in obligations.deadlines_by_regime(ids, now)],
        by_type=_per_month(rows, "incident_type"),
        by_severity=_per_month(rows, "severity"),
        notices=dict(sorted(notices.items())),
    )


def _per_month(rows: Iterable[dict[str, object]], column: str) -> list[MonthCount]:
    counts = Counter((str(r["reported_at"])[:7], str(r[column] or "none")) for r in rows)
    return [MonthCount(month=m, kind=k, incidents=n) for (m, k), n in sorted(counts.items())]


def as_csv(stats: TeamStats) -> str:
    """The figures as CSV: one row per figure (section, name, detail, value)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "name", "detail", "value"])
    writer.writerow(["period", "start", "", stats.start.isoformat()])
    writer.writerow(["period", "end", "", stats.end.isoformat()])
    writer.writerow(["period", "incidents", "", stats.incidents])
    for s in stats.spans:
        writer.writerow(["hours", s.name, "incidents", s.incidents])
        writer.writerow(["hours", s.name, "median", _figure(s.median_hours)])
        writer.writerow(["hours", s.name, "p90", _figure(s.p90_hours)])
    for d in stats.deadlines:
        for outcome in ("met", "missed", "pending"):
            writer.writerow(["deadlines", d.regime, outcome, getattr(d, outcome)])
    for kind, counts in (("type", stats.by_type), ("severity", stats.by_severity)):
        for c in counts:
            writer.writerow([f"incidents by {kind}", c.month, c.kind, c.incidents])
    for status, n in stats.notices.items():
        writer.writerow(["notices", status, "", n])
    return out.getvalue()


def _figure(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"
