"""The data directory is private: real ``breach`` processes create it 0700 and every file in
it 0600, tighten one left open by an older version, and refuse one others may write to."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from tests.e2e.conftest import Cli
from tests.support.people import person, write_csv


def open_to_others(root: Path) -> list[str]:
    """Paths under ``root`` (and root itself) with any group or other permission bit."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = path.lstat().st_mode
        if stat.S_IMODE(mode) & 0o077:
            found.append(f"{path.relative_to(root.parent)} {stat.S_IMODE(mode):o}")
    return found


def session(cli: Cli, tmp_path: Path) -> str:
    """A realistic session: report, import, notify through the capture server, read the
    mailbox, export the audit bundle into the data directory; return the incident id."""
    incident = cli.ok("report", "--title", "CV leak", "--discovered-at", "now").out.strip()
    people = write_csv(tmp_path / "people.csv", [person(i) for i in range(5)])
    cli.ok("people", "import", incident[:8], str(people))
    cli.send_people_campaign(incident[:8], tmp_path)
    assert cli.ok("mailbox", "--json").json()["count"] == 5
    cli.ok("audit", "export", incident[:8], "--out", str(cli.data_dir / "bundle"))
    return incident


def test_a_session_leaves_every_file_and_folder_private(cli: Cli, tmp_path: Path) -> None:
    """Under the default umask of 022, every directory a session creates is 0700 and every
    file 0600 (databases, their WAL files, secrets, mailbox messages, the audit bundle)."""
    previous = os.umask(0o022)
    try:
        session(cli, tmp_path)
    finally:
        os.umask(previous)
    names = {p.name for p in cli.data_dir.rglob("*")}
    assert {"events.db", "keys.db", "credentials.db", "lookup.key", "index.db"} <= names
    assert any(n.endswith(".eml") for n in names)
    assert open_to_others(cli.data_dir) == []


def test_a_data_dir_left_open_by_an_older_version_is_tightened(cli: Cli) -> None:
    """A data directory 0755 with files 0644 (as older versions left them) is made 0700 and
    0600 by the next start, which says so in one log line."""
    cli.ok("report", "--title", "x", "--discovered-at", "now")
    for path in [cli.data_dir, *cli.data_dir.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    assert open_to_others(cli.data_dir) != []
    cli.env["BREACH_LOG_FORMAT"] = "json"
    result = cli.ok("--verbose", "list")
    lines = [json.loads(line) for line in result.err.splitlines() if line.startswith("{")]
    [tightened] = [line for line in lines if line["event"] == "data_dir.tightened"]
    assert tightened["paths"] >= 4
    assert open_to_others(cli.data_dir) == []
    again = cli.ok("--verbose", "list")
    assert "data_dir.tightened" not in again.err


def test_a_data_dir_others_may_write_to_is_refused_and_left_untouched(
    cli: Cli, tmp_path: Path
) -> None:
    """A group-writable data directory: exit 2, one line naming BREACH_DATA_DIR, and
    nothing created in it; the same for one writable by others (shown with the first
    command an operator runs on a new store)."""
    for mode in (0o770, 0o757):
        cli.data_dir.mkdir(exist_ok=True)
        cli.data_dir.chmod(mode)
        result = cli("init")
        assert result.code == 2, result.err
        [line] = result.err.strip().splitlines()
        assert "BREACH_DATA_DIR" in line
        assert "chmod 700" in line
        assert list(cli.data_dir.iterdir()) == []
        assert stat.S_IMODE(cli.data_dir.stat().st_mode) == mode
