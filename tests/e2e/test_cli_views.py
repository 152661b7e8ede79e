"""Views through the CLI: status, and a rebuild of a 1,000-incident store equal to the live one."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from services.application.context import RequestContext
from services.bootstrap import bootstrap
from services.config import Settings
from tests.e2e.conftest import Cli


def view_tables(cli: Cli) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every view table (not the tracking positions), in key order."""
    with sqlite3.connect(cli.data_dir / "views.db") as db:
        names = [
            r[0]
            for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if r[0] not in ("tracking", "view_meta")
        ]
        return {n: sorted(db.execute(f"SELECT * FROM {n}").fetchall(), key=repr) for n in names}


def test_rebuilding_a_thousand_incidents_gives_the_same_board(cli: Cli) -> None:
    """1,000 incidents with triage, playbooks and closures: every rebuilt view equals the live
    one, the board included."""
    rt = bootstrap(Settings(data_dir=cli.data_dir), configure_logs=False)
    ctx = RequestContext(actor="loader")
    discovered = datetime(2026, 11, 1, tzinfo=UTC)
    for i in range(1000):
        incident = rt.app.incidents.report_incident(
            {
                "title": f"Incident {i}",
                "reporter": "soc",
                "incident_type": "phishing",
                "discovered_at": discovered + timedelta(minutes=i),
            },
            ctx,
        )
        if i % 4 == 0:
            rt.app.incidents.triage_incident(
                incident.id, {"severity": "medium", "personal_data_breach": "no"}, ctx
            )
        if i % 10 == 0:
            rt.app.incidents.close_incident(
                incident.id, {"resolution": "user reported; no click"}, ctx
            )
        if i % 250 == 0:
            rt.views.catch_up()
    rt.close()
    assert len(cli.ok("list", "--json").json()) == 1000
    live = view_tables(cli)
    status = cli.ok("views", "status", "--json").json()
    head = status[0]["head"]
    assert {row["view"] for row in status} >= {"board", "tasks", "obligations"}
    assert all(row["position"] == head and row["behind"] == 0 for row in status)
    result = cli.ok("views", "rebuild", "--json").json()
    assert result == {"views": len(status), "events": head, "applied": head * len(status)}
    assert view_tables(cli) == live
    assert len(live["board"]) == 1000
    assert len(live["tasks"]) > 0


def test_demo_records_an_incident_and_prints_board_and_timeline(cli: Cli) -> None:
    """The scripted demo leaves a triaged, assessed breach and shows timeline and duties."""
    out = cli.ok("demo").out
    assert "Job-application portal" in out
    assert "The timeline of" in out
    [row] = cli.ok("list", "--json").json()
    assert (row["severity"], row["personal_data_breach"]) == ("high", "yes")
    entries = cli.ok("timeline", row["incident_id"], "--json").json()
    kinds = [e["event"] for e in entries]
    assert {"ImpactAssessed", "ObligationsEvaluated", "PlaybookApplied"} <= set(kinds)
    assert "eu_gdpr/supervisory_authority" in out
