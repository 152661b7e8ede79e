"""Containment through the console script: playbooks, the task board and task commands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.e2e.conftest import Cli
from tests.support.store import count_events

NOW = datetime.now(UTC).replace(microsecond=0)


def triaged(cli: Cli, kind: str = "lost_or_stolen_device") -> str:
    incident = cli.ok(
        "report",
        "--title",
        "Laptop stolen from car",
        "--type",
        kind,
        "--discovered-at",
        (NOW - timedelta(hours=3)).isoformat(),
        "--aware-at",
        (NOW - timedelta(hours=2)).isoformat(),
    ).out.strip()
    result = cli.ok("triage", incident[:8], "--severity", "high", "--breach", "yes")
    assert f"playbook {kind} v1" in result.err
    return incident


def test_triage_opens_the_playbook_and_the_board_marks_overdue_work(cli: Cli) -> None:
    """The device playbook's tasks appear ordered by due; the 2-hour lock is already overdue."""
    incident = triaged(cli)
    rows = cli.ok("tasks", incident[:8], "--json").json()
    assert rows[0]["step"] == "remote_lock"
    assert rows[0]["overdue"] is True
    assert [r["due_at"] for r in rows] == sorted(r["due_at"] for r in rows)
    table = cli.ok("tasks", incident[:8]).out
    assert "Containment: 0/4 mandatory tasks done" in table
    assert "OVERDUE" in table
    overdue = cli.ok("tasks", "--overdue", "--json").json()
    assert {r["step"] for r in overdue} >= {"remote_lock"}


def test_a_task_moves_through_its_life_and_containment_is_reached(in_process_cli: Cli) -> None:
    """assign, start, block, unblock, done with evidence, due, cancel, reopen; then the last
    mandatory task done reaches containment on the board."""
    cli = in_process_cli
    incident = triaged(cli)
    rows = cli.ok("tasks", incident[:8], "--json").json()
    by_step = {r["step"]: r["task_id"][:8] for r in rows}
    lock = by_step["remote_lock"]
    cli.ok("task", "assign", lock, "bob")
    assert cli.ok("tasks", "--owner", "bob", "--json").json()[0]["step"] == "remote_lock"
    cli.ok("task", "start", lock, actor="bob")
    cli.ok("task", "block", lock, "--reason", "device offline", actor="bob")
    cli.ok("task", "unblock", lock, "--reason", "device came online", actor="bob")
    doc = cli.ok(
        "task",
        "done",
        lock,
        "--outcome",
        "wiped remotely",
        "--evidence",
        "ticket:MDM-4411",
        "--evidence",
        "sha256:" + "ab" * 32,
        "--json",
        actor="bob",
    ).json()
    assert doc["status"] == "done"
    assert [e["kind"] for e in doc["evidence"]] == ["ticket", "sha256"]
    police = by_step["police_report"]
    cli.ok(
        "task",
        "due",
        police,
        "--at",
        (NOW + timedelta(days=3)).isoformat(),
        "--reason",
        "station closed at weekend",
    )
    cli.ok("task", "cancel", police, "--reason", "insurer does not need it")
    cli.ok("task", "reopen", police, "--reason", "insurer changed its mind")
    for step in ("check_encryption", "revoke_sessions", "inventory_data"):
        cli.ok("task", "done", by_step[step], "--outcome", "done")
    [row] = cli.ok("list", "--json").json()
    assert row["containment_reached_at"] is not None
    assert row["time_to_contain_seconds"] > 0
    assert "yes," in cli.ok("list").out
    summaries = [e["summary"] for e in cli.ok("timeline", incident[:8], "--json").json()]
    assert any(s.startswith("containment reached") for s in summaries)


def test_playbooks_are_listed_and_shown(cli: Cli) -> None:
    """Every playbook with its version; one playbook's steps with due times and order."""
    listed = {p["id"]: p for p in cli.ok("playbooks", "--json").json()}
    assert len(listed) == 8
    assert listed["ransomware"]["version"] == 1
    steps = cli.ok("playbooks", "show", "ransomware", "--json").json()["steps"]
    assert steps[1]["depends_on"] == ["isolate"]
    assert "aware + 1h" in cli.ok("playbooks", "show", "ransomware").out
    missing = cli("playbooks", "show", "nope")
    assert (missing.code, missing.err.strip()) == (
        2,
        "breach: error: playbook: no such playbook (see breach playbooks)",
    )


def test_bad_task_input_is_one_error_line_and_nothing_stored(in_process_cli: Cli) -> None:
    """Unknown task, bad owner, due before the report, malformed evidence, a finished task."""
    cli = in_process_cli
    incident = triaged(cli)
    rows = cli.ok("tasks", incident[:8], "--json").json()
    task = rows[0]["task_id"][:8]
    cli.ok("task", "cancel", task, "--reason", "not needed")
    before = count_events(cli.data_dir)
    cases = [
        (["task", "start", "ffffffff"], "task: no task has an id that starts so"),
        (["task", "assign", task, "Bob Smith!"], "owner:"),
        (
            ["task", "add", incident[:8], "--title", "x", "--due", "2020-01-01T00:00:00Z"],
            "due_at: must not be before the incident was reported",
        ),
        (
            ["task", "done", rows[1]["task_id"][:8], "--outcome", "x", "--evidence", "md5:abc"],
            "evidence:",
        ),
        (["task", "done", task, "--outcome", "x"], "cancelled; reopen it before completing it"),
    ]
    for args, message in cases:
        result = cli(*args)
        assert result.code == 2, args
        assert message in result.err, result.err
        assert result.err.count("\n") == 1
    assert count_events(cli.data_dir) == before


def test_amending_awareness_moves_the_playbook_tasks_that_count_from_it(
    in_process_cli: Cli,
) -> None:
    """breach amend --aware-at two hours earlier: the restore step (aware + 3 days) is due
    two hours earlier on the board, every changed due is one stored event besides the
    correction, a done task keeps its due, and the timeline says so in words."""
    cli = in_process_cli
    incident = cli.ok(
        "report",
        "--title",
        "File shares encrypted",
        "--type",
        "ransomware",
        "--discovered-at",
        (NOW - timedelta(hours=5)).isoformat(),
        "--aware-at",
        (NOW - timedelta(hours=2)).isoformat(),
    ).out.strip()
    cli.ok("triage", incident[:8], "--severity", "high")
    before = {r["step"]: r for r in cli.ok("tasks", incident[:8], "--json").json()}
    done = before["disable_accounts"]["task_id"]
    cli.ok("task", "done", done[:8], "--outcome", "accounts disabled")
    events = count_events(cli.data_dir)
    cli.ok(
        "amend",
        incident[:8],
        "--aware-at",
        (NOW - timedelta(hours=4)).isoformat(),
        "--reason",
        "EDR alert found earlier",
    )
    after = {r["step"]: r for r in cli.ok("tasks", incident[:8], "--json").json()}
    restore = datetime.fromisoformat(before["restore"]["due_at"])
    assert datetime.fromisoformat(after["restore"]["due_at"]) == restore - timedelta(hours=2)
    assert after["disable_accounts"]["due_at"] == before["disable_accounts"]["due_at"]
    changed = [s for s in after if after[s]["due_at"] != before[s]["due_at"]]
    assert "disable_accounts" not in changed
    assert len(changed) >= 2
    assert count_events(cli.data_dir) == events + 1 + len(changed)
    shown = (restore - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    assert shown in cli.ok("tasks", incident[:8]).out
    assert "aware_at corrected" in cli.ok("timeline", incident[:8]).out
    entries = cli.ok("timeline", incident[:8], "--json").json()
    moves = [e for e in entries if e["event"] == "TaskDueMoved"]
    assert len(moves) == len(changed)
    assert {e["task_id"] for e in moves} == {after[s]["task_id"] for s in changed}
    assert all("aware_at corrected" in e["summary"] for e in moves)
