"""``breach report-stats``: the team's figures over a period, as tables, JSON or CSV."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from services.access.permissions import Permission
from services.cli.app import app, state_of
from services.cli.guard import needs
from services.cli.incidents import JsonOpt
from services.cli.output import emit_json, emit_table, say
from services.operations.stats import stats_over
from services.team_stats import as_csv
from services.timefmt import show_time


def _hours(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f} h"


@app.command("report-stats")
@needs(Permission.STATS_READ)
def report_stats(
    ctx: typer.Context,
    start: Annotated[
        str | None,
        typer.Option(
            "--from", help="First moment of the period (a date or ISO 8601; default: 90 days ago)."
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--to", help="End of the period, not included (default: now)."),
    ] = None,
    as_json: JsonOpt = False,
    as_csv_: Annotated[
        bool, typer.Option("--csv", help="Print the figures as CSV (one per row).")
    ] = False,
) -> None:
    """The team's figures over the incidents reported in a period: median and 90th
    percentile of the time to detect, to become aware, to contain, to notify the authority
    and the people; deadlines met and missed per regime; incidents per month by type and by
    severity; notices sent and failed."""
    state = state_of(ctx)
    stats = stats_over(state.runtime, start, end)
    if as_json:
        emit_json(stats.model_dump(mode="json"))
        return
    if as_csv_:
        sys.stdout.write(as_csv(stats))
        return
    say(
        f"{stats.incidents:,} incidents reported from {show_time(stats.start, state.zone)} "
        f"to {show_time(stats.end, state.zone)}"
    )
    emit_table(
        [
            {
                "span": s.label,
                "n": f"{s.incidents:,}",
                "median": _hours(s.median_hours),
                "p90": _hours(s.p90_hours),
            }
            for s in stats.spans
        ],
        [("span", "Time from"), ("n", "Incidents"), ("median", "Median"), ("p90", "90th pct")],
        title="How long it took",
    )
    if stats.deadlines:
        emit_table(
            [d.model_dump() for d in stats.deadlines],
            [
                ("regime_name", "Regime"),
                ("met", "Met"),
                ("missed", "Missed"),
                ("pending", "Pending"),
            ],
            title="Deadlines",
        )
    months: dict[str, dict[str, list[str]]] = {}
    for key, counts in (("type", stats.by_type), ("severity", stats.by_severity)):
        for c in counts:
            months.setdefault(c.month, {"type": [], "severity": []})[key].append(
                f"{c.kind.replace('_', ' ')} {c.incidents:,}"
            )
    if months:
        emit_table(
            [
                {"month": m, "type": ", ".join(k["type"]), "severity": ", ".join(k["severity"])}
                for m, k in sorted(months.items())
            ],
            [("month", "Month"), ("type", "By type"), ("severity", "By severity")],
            title="Incidents per month",
        )
    notices = ", ".join(f"{n:,} {status}" for status, n in stats.notices.items())
    say(f"Notices: {notices or 'none'}")
