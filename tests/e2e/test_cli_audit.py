"""Audit through the console script: replay, diff, verify, export and check bundles."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.e2e.conftest import Cli, InProcessCli


def test_replay_diff_verify_and_export(in_process_cli: Cli, tmp_path: Path) -> None:
    """A moment before triage replays untriaged; the diff names the triage; the live record
    verifies; a bundle exports and verifies offline; the views check equal."""
    cli = in_process_cli
    incident = cli.ok(
        "report",
        "--title",
        "Lost laptop",
        "--type",
        "lost_or_stolen_device",
        "--discovered-at",
        "now",
    ).out.strip()
    time.sleep(1.1)
    before = datetime.now(UTC).isoformat()
    time.sleep(1.1)
    cli.ok("triage", incident[:8], "--severity", "medium", "--breach", "yes")
    after = datetime.now(UTC).isoformat()
    then = cli.ok("replay", incident[:8], "--as-of", before, "--json").json()
    assert (then["exists"], then["state"]["severity"], then["tasks"]) == (True, None, [])
    now = cli.ok("replay", incident[:8], "--as-of", after, "--json").json()
    assert now["state"]["severity"] == "medium"
    assert len(now["tasks"]) == 5
    changes = cli.ok("replay", incident[:8], "--diff", before, after, "--json").json()["changes"]
    assert "severity: none -> medium" in changes
    board = cli.ok("replay", "--as-of", before, "--json").json()
    assert [r["severity"] for r in board["board"]] == [None]
    assert "Incident" in cli.ok("replay", incident[:8], "--as-of", after).out
    assert cli.ok("audit", "verify", "--json").json()["ok"] is True
    out = tmp_path / "bundle.zip"
    cli.ok("audit", "export", incident[:8], "--out", str(out))
    assert cli.ok("audit", "verify", str(out), "--json").json()["ok"] is True
    assert cli.ok("views", "rebuild", "--check", "--json").json() == {
        "equal": True,
        "differences": {},
    }


def test_tampering_makes_verify_fail_with_the_position(cli: Cli) -> None:
    """An edited stored event: exit 5 and one line naming the first bad position."""
    incident = cli.ok("report", "--title", "Phish", "--discovered-at", "now").out.strip()
    cli.ok("note", incident[:8], "first note")
    cli.ok("note", incident[:8], "second note")
    with sqlite3.connect(cli.data_dir / "events.db") as db:
        [position] = db.execute(
            "SELECT rowid FROM stored_events WHERE instr(state, 'first note') > 0"
        ).fetchone()
        db.execute(
            "UPDATE stored_events SET state = replace(state, 'first', 'other') WHERE rowid = ?",
            (position,),
        )
    result = cli("audit", "verify")
    assert result.code == 5
    assert result.err.startswith(f"breach: error: verification failed at position {position}:")


def test_bad_replay_and_verify_input_is_refused(in_process_cli: Cli, tmp_path: Path) -> None:
    """Malformed times, moments before the incident, a missing bundle, a missing key."""
    cli = in_process_cli
    incident = cli.ok("report", "--title", "x", "--discovered-at", "now").out.strip()
    for args, text in (
        (["replay", incident[:8], "--as-of", "yesterday"], "as_of: is not a time"),
        (["replay", incident[:8], "--as-of", "2001-01-01T00:00:00Z"], "reported later"),
        (["replay", incident[:8]], "give --as-of"),
        (["audit", "verify", str(tmp_path / "nothing")], "does not exist"),
    ):
        result = cli(*args)
        assert result.code == 2, args
        assert text in result.err
    out = tmp_path / "b"
    cli.ok("audit", "export", incident[:8], "--out", str(out))
    elsewhere = InProcessCli(tmp_path / "other-data")
    result = elsewhere("audit", "verify", str(out))
    assert result.code == 2
    assert "BREACH_AUDIT_KEY" in result.err
    key = (cli.data_dir / "secrets" / "audit.key").read_text().strip()
    elsewhere.env["BREACH_AUDIT_KEY"] = key
    assert json.loads(elsewhere.ok("audit", "verify", str(out), "--json").out)["ok"] is True
