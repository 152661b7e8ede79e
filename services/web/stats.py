"""The team metrics page (``/metrics-report``): the figures of :mod:`services.team_stats`
over a chosen period as tables and server-drawn bar charts, and the same as a CSV download
(``/metrics-report.csv``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from services.access.permissions import Permission
from services.application.errors import ServiceError
from services.http.downloads import csv_download
from services.http.runtime import runtime_of
from services.operations.stats import stats_over
from services.team_stats import TeamStats, as_csv
from services.web.access import viewer
from services.web.render import page

router = APIRouter(include_in_schema=False)

CHART_WIDTH = 520
"""The width of a chart's bars' area, in the drawing's units."""


@dataclass(frozen=True)
class Segment:
    """A piece of a bar: where it starts, how wide, what it counts and what colour."""

    x: float
    width: float
    value: float
    kind: str


def _bars(rows: list[dict[str, float]], kinds: tuple[str, ...]) -> list[list[Segment]]:
    """Stacked bars, one per row, scaled so the longest fills :data:`CHART_WIDTH`."""
    longest = max((sum(r[k] for k in kinds) for r in rows), default=0) or 1
    out = []
    for r in rows:
        x, segments = 0.0, []
        for k in kinds:
            width = round(r[k] / longest * CHART_WIDTH, 1)
            segments.append(Segment(x, width, r[k], k))
            x += width
        out.append(segments)
    return out


def charts(stats: TeamStats) -> dict[str, Any]:
    """The bars of the page's three charts: hours (median, then up to the 90th
    percentile), deadlines per regime (met, missed, pending), incidents per month by
    severity."""
    spans = [
        {"median": s.median_hours or 0.0, "rest": (s.p90_hours or 0.0) - (s.median_hours or 0.0)}
        for s in stats.spans
    ]
    deadlines = [
        {"met": float(d.met), "missed": float(d.missed), "pending": float(d.pending)}
        for d in stats.deadlines
    ]
    severities = tuple(sorted({c.kind for c in stats.by_severity}))
    months: dict[str, dict[str, float]] = {}
    for c in stats.by_severity:
        months.setdefault(c.month, dict.fromkeys(severities, 0.0))[c.kind] = c.incidents
    return {
        "spans": _bars(spans, ("median", "rest")),
        "deadlines": _bars(deadlines, ("met", "missed", "pending")),
        "months": list(
            zip(sorted(months), _bars([months[m] for m in sorted(months)], severities), strict=True)
        ),
        "severities": severities,
    }


@router.get("/metrics-report")
def metrics_report(request: Request) -> Response:
    """The team's figures over the period asked for (``from``, ``to``; default the last
    90 days)."""
    caller = viewer(request, Permission.STATS_READ)
    start, end = request.query_params.get("from"), request.query_params.get("to")
    rt = runtime_of(request)
    try:
        stats = stats_over(rt, start, end)
    except ServiceError as e:
        return page(
            request,
            "metrics_report.html",
            caller=caller,
            status=e.http_status,
            stats=None,
            error=f"{e.field}: {e.reason}",
            start=start or "",
            end=end or "",
            query="",
        )
    query = urlencode([(k, v) for k, v in (("from", start), ("to", end)) if v])
    return page(
        request,
        "metrics_report.html",
        caller=caller,
        stats=stats,
        charts=charts(stats),
        chart_width=CHART_WIDTH,
        start=start or stats.start.date().isoformat(),
        end=end or "",
        query=query,
    )


@router.get("/metrics-report.csv")
def metrics_report_csv(request: Request) -> Response:
    """The same figures as CSV."""
    viewer(request, Permission.STATS_READ)
    stats = stats_over(
        runtime_of(request), request.query_params.get("from"), request.query_params.get("to")
    )
    return csv_download(as_csv(stats), "breachledger-stats.csv")
