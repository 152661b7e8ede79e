"""``breach report-stats`` in a fresh process: tables, JSON and CSV of the team's figures,
and a bad period refused in one line with exit status 2."""

from __future__ import annotations

from tests.e2e.conftest import Cli


def test_report_stats_in_tables_json_and_csv(in_process_cli: Cli) -> None:
    """An incident discovered 5 h after it occurred shows a 5 h median time to detect in
    every form."""
    cli = in_process_cli
    cli.ok(
        "report",
        "--title",
        "Stolen laptop",
        "--occurred-at",
        "2026-11-20T03:00:00Z",
        "--discovered-at",
        "2026-11-20T08:00:00Z",
    )
    shown = cli.ok("report-stats", "--from", "2026-01-01").out
    assert "1 incidents reported" in shown
    assert "occurred to discovered" in shown
    assert "5.0 h" in shown
    figures = cli.ok("report-stats", "--from", "2026-01-01", "--json").json()
    assert figures["incidents"] == 1
    assert figures["spans"][0]["median_hours"] == 5.0
    rows = cli.ok("report-stats", "--from", "2026-01-01", "--csv").out.splitlines()
    assert rows[0] == "section,name,detail,value"
    assert "hours,detect,median,5.00" in rows


def test_a_bad_period_is_one_line_and_exit_2(in_process_cli: Cli) -> None:
    """A reversed period or a bound that is not a time: one line naming the field, exit 2,
    no traceback and no echo of the input."""
    cli = in_process_cli
    for args, field in (
        (["--from", "2026-11-02", "--to", "2026-11-01"], "from"),
        (["--to", "next-tuesday"], "to"),
    ):
        result = cli("report-stats", *args)
        assert result.code == 2, result.err
        assert result.err.strip().count("\n") == 0
        assert field in result.err
        assert "next-tuesday" not in result.err
        assert "Traceback" not in result.err
