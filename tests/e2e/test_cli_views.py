"""Views through the CLI: status, and a rebuild of a 1,000-incident store equal to the live one."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from services.application.context import RequestContext
from services.bootstrap import bootstrap
from services.config import Settings
from tests.e2e.conftest import Cli


def board_rows(cli: Cli) -> list[tuple[object, ...]]:
    with sqlite3.connect(cli.data_dir / "views.db") as db:
        return db.execute("SELECT * FROM board ORDER BY incident_id").fetchall()


def test_rebuilding_a_thousand_incidents_gives_the_same_board(cli: Cli) -> None:
    """1,000 incidents with triage and closures: the rebuilt board equals the live board."""
    rt = bootstrap(Settings(data_dir=cli.data_dir), configure_logs=False)
    ctx = RequestContext(actor="loader")
    discovered = datetime(2026, 11, 1, tzinfo=UTC)
    for i in range(1000):
        incident = rt.app.report_incident(
            {
                "title": f"Incident {i}",
                "reporter": "soc",
                "incident_type": "phishing",
                "discovered_at": discovered + timedelta(minutes=i),
            },
            ctx,
        )
        if i % 4 == 0:
            rt.app.triage_incident(
                incident.id, {"severity": "medium", "personal_data_breach": "no"}, ctx
            )
        if i % 10 == 0:
            rt.app.close_incident(incident.id, {"resolution": "user reported; no click"}, ctx)
        if i % 250 == 0:
            rt.views.catch_up()
    rt.close()
    assert len(cli.ok("list", "--json").json()) == 1000
    live = board_rows(cli)
    status = cli.ok("views", "status", "--json").json()
    assert {"view": "board", "position": 1350, "head": 1350, "behind": 0} in status
    assert all(row["behind"] == 0 for row in status)
    result = cli.ok("views", "rebuild", "--json").json()
    views = len(status)
    assert result == {"views": views, "events": 1350, "applied": 1350 * views}
    assert board_rows(cli) == live
    assert len(live) == 1000


def test_demo_records_an_incident_and_prints_board_and_timeline(cli: Cli) -> None:
    """The scripted demo leaves a triaged, assessed breach and shows timeline and duties."""
    out = cli.ok("demo").out
    assert "Job-application portal" in out
    assert "The timeline of" in out
    [row] = cli.ok("list", "--json").json()
    assert (row["severity"], row["personal_data_breach"]) == ("high", "yes")
    assert len(cli.ok("timeline", row["incident_id"], "--json").json()) == 6
    assert "eu_gdpr/supervisory_authority" in out
