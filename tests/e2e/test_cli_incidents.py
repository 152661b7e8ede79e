"""The incident commands through the real console script, across separate processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.application.context import RequestContext
from services.bootstrap import bootstrap
from services.config import Settings
from tests.e2e.conftest import Cli
from tests.support.store import count_events

DISCOVERED = "2026-11-20T08:30:00Z"


def report(cli: Cli, title: str = "Stolen laptop", *extra: str) -> str:
    return cli.ok(
        "report",
        "--title",
        title,
        "--type",
        "lost_or_stolen_device",
        "--discovered-at",
        DISCOVERED,
        *extra,
    ).out.strip()


def test_an_incident_reported_in_one_process_is_listed_by_a_fresh_one(cli: Cli) -> None:
    """report prints the new id; list, show and their --json forms in new processes agree."""
    incident_id = report(cli)
    listed = cli.ok("list", "--json").json()
    assert [row["incident_id"] for row in listed] == [incident_id]
    assert "Stolen laptop" in cli.ok("list").out
    shown = cli.ok("show", incident_id[:6], "--json").json()
    assert shown["id"] == incident_id
    assert shown["reporter"] == "alice"
    assert shown["discovered_at"] == DISCOVERED
    assert "lost_or_stolen_device" in cli.ok("show", incident_id).out


def test_the_timeline_shows_every_change_with_actor_and_time(cli: Cli) -> None:
    """Report, amend, triage (and the playbook it opens), note, close, reopen: each entry
    with who and when."""
    incident_id = report(cli)
    short = incident_id[:8]
    cli.ok("amend", short, "--aware-at", "2026-11-20T10:00:00Z", "--reason", "ticket", actor="bob")
    cli.ok("triage", short, "--severity", "high", "--breach", "yes", actor="dpo")
    cli.ok("note", short, "Device wiped remotely", actor="bob")
    cli.ok("close", short, "--resolution", "Wiped; no access evidence", actor="dpo")
    cli.ok("reopen", short, "--reason", "Backup disk also missing", actor="dpo")
    entries = cli.ok("timeline", short, "--json").json()
    assert [(e["version"], e["actor"], e["event"]) for e in entries] == [
        (1, "alice", "IncidentReported"),
        (2, "bob", "IncidentFactsAmended"),
        (3, "dpo", "IncidentTriaged"),
        (4, "policy.playbooks", "PlaybookApplied"),
        (5, "bob", "IncidentNoteAdded"),
        (6, "dpo", "IncidentClosed"),
        (7, "dpo", "IncidentReopened"),
    ]
    assert entries[3]["correlation_id"] == f"event:{incident_id}:3"
    assert all(e["recorded_at"] and e["correlation_id"] for e in entries)
    assert "aware_at unknown -> 2026-11-20 10:00 UTC (reason: ticket)" in entries[1]["summary"]
    table = cli.ok("timeline", short).out
    for text in ("bob", "dpo", "reopened: Backup disk also missing", "severity none -> high"):
        assert text in table


def test_triage_tells_of_a_playbook_only_when_it_opens_tasks(cli: Cli) -> None:
    """The triage that makes an incident a breach says its playbook's tasks open; a later
    re-triage that opens nothing does not say so again."""
    short = report(cli)[:8]
    first = cli.ok("triage", short, "--severity", "high", "--breach", "yes", actor="dpo")
    assert "tasks open" in first.out + first.err
    again = cli.ok("triage", short, "--severity", "medium", actor="dpo")
    assert "triaged" in again.out
    assert "tasks open" not in again.out + again.err


def test_report_from_yaml_and_json_files_with_flags_overriding(cli: Cli, tmp_path: Path) -> None:
    """--file takes YAML or JSON with the command's field names; a flag beats the file."""
    yaml_file = tmp_path / "report.yaml"
    yaml_file.write_text(
        "title: Ransomware on HR share\n"
        "incident_type: ransomware\n"
        "source: monitoring\n"
        "discovered_at: 2026-11-21T07:00:00Z\n"
        "aware_at: 2026-11-21 09:00\n"
        "description: |\n  Files renamed to .locked on \\\\hr-fs01\n",
        encoding="utf-8",
    )
    json_file = tmp_path / "report.json"
    json_file.write_text(json.dumps({"title": "Phish", "discovered_at": "2026-11-22T10:00:00Z"}))
    first = cli.ok("report", "--file", str(yaml_file), "--json").json()
    assert first["incident_type"] == "ransomware"
    assert first["aware_at"] == "2026-11-21T09:00:00Z"
    assert first["description"].startswith("Files renamed")
    second = cli.ok("report", "-f", str(json_file), "--title", "Phishing wave", "--json").json()
    assert second["title"] == "Phishing wave"


def test_ids_can_be_given_as_a_unique_prefix_and_ambiguity_is_refused(cli: Cli) -> None:
    """A prefix that matches one incident works; one matching several names the candidates."""
    rt = bootstrap(Settings(data_dir=cli.data_dir), configure_logs=False)
    ctx = RequestContext(actor="loader")
    ids = [
        str(
            rt.app.incidents.report_incident(
                {"title": f"Incident {i}", "reporter": "soc", "discovered_at": DISCOVERED}, ctx
            ).id
        )
        for i in range(17)
    ]
    rt.close()
    for incident_id in ids[:3]:
        assert cli.ok("show", incident_id[:8], "--json").json()["id"] == incident_id
    first_chars = {i[0] for i in ids}
    shared = next(c for c in first_chars if sum(i.startswith(c) for i in ids) > 1)
    result = cli("show", shared)
    assert result.code == 2
    assert "matches several incidents" in result.err


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["report", "--title", "", "--discovered-at", DISCOVERED], "title"),
        (["report", "--title", "x", "--discovered-at", "yesterday-ish"], "discovered_at"),
        (["report", "--title", "x"], "discovered_at"),
        (
            [
                "report",
                "--title",
                "x",
                "--discovered-at",
                DISCOVERED,
                "--occurred-at",
                "2026-11-21T00:00:00Z",
            ],
            "occurred_at",
        ),
        (["report", "--title", "x", "--discovered-at", "2099-01-01T00:00:00Z"], "discovered_at"),
        (["report", "--file", "/nonexistent/report.yaml"], "file"),
        (["report", "--type", "alien", "--title", "x", "--discovered-at", DISCOVERED], "--type"),
        (["show", "ffffffff"], "id"),
        (["show", "not-hex!"], "id"),
        (["triage", "{id}", "--severity", "biblical"], "--severity"),
        (["amend", "{id}", "--reason", "r", "--title", "Stolen laptop"], "title"),
        (["amend", "{id}", "--reason", "r", "--aware-at", "2026-11-19T00:00:00Z"], "aware_at"),
        (["amend", "{id}", "--reason", "r", "--clear", "discovered_at"], "discovered_at"),
        (["reopen", "{id}", "--reason", "never closed"], "status"),
        (["close", "{id}", "--resolution", "  "], "resolution"),
        (["note", "{id}", ""], "text"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_appends_nothing(
    in_process_cli: Cli, args: list[str], field: str
) -> None:
    """Each refusal prints one error line naming the field, no traceback, and stores nothing."""
    cli = in_process_cli
    incident_id = report(cli)
    before = count_events(cli.data_dir)
    result = cli(*(a.replace("{id}", incident_id) for a in args))
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("breach: error: ")
    assert field in lines[0]
    assert "Traceback" not in result.err
    assert count_events(cli.data_dir) == before


def test_a_closed_incident_refuses_triage_with_a_clear_message(cli: Cli) -> None:
    """Breaking a rule is refused with the rule in words."""
    incident_id = report(cli)
    cli.ok("close", incident_id, "--resolution", "duplicate")
    result = cli("triage", incident_id, "--severity", "low")
    assert result.code == 2
    assert result.err.strip() == (
        "breach: error: status: the incident is closed; reopen it before triaging it"
    )


def test_help_explains_every_command(cli: Cli) -> None:
    """--help lists the commands and each command's help names its options."""
    top = cli.ok("--help").out
    for command in (
        "report",
        "list",
        "show",
        "timeline",
        "amend",
        "triage",
        "note",
        "close",
        "reopen",
        "views",
        "demo",
    ):
        assert command in top
    assert "--discovered-at" in cli.ok("report", "--help").out
