"""The team's figures over a period (``GET /stats``), as JSON or CSV."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from services.access.permissions import Permission
from services.http.auth import Caller, require
from services.http.downloads import csv_download
from services.http.runtime import runtime_of
from services.operations.stats import stats_over
from services.team_stats import TeamStats, as_csv

router = APIRouter(tags=["stats"])

StatsReader = Annotated[Caller, Depends(require(Permission.STATS_READ))]


@router.get(
    "/stats",
    summary="Team statistics over a period",
    response_model=TeamStats,
    responses={200: {"content": {"text/csv": {}}}},
)
def stats(
    request: Request,
    caller: StatsReader,
    start: Annotated[str | None, Query(alias="from", max_length=64)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=64)] = None,
    output: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> TeamStats | Response:
    """Over the incidents reported from ``from`` up to ``to`` (ISO 8601 moments or dates;
    default the 90 days up to now): median and 90th percentile hours to detect, to become
    aware, to contain, to notify the authority and the people; deadlines met, missed and
    pending per regime; incidents per month by type and by severity; notices by status.
    ``format=csv`` answers the same figures as CSV, one per row."""
    figures = stats_over(runtime_of(request), start, end)
    if output == "csv":
        return csv_download(as_csv(figures), "breachledger-stats.csv")
    return figures
