"""The command line proves who is acting: a name in the environment proves nothing, a
password gets a token of one's own, and only operator commands run without one."""

from __future__ import annotations

import getpass
import json
import os
import re
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from services.bootstrap import bootstrap
from tests.e2e.conftest import BREACH, Cli
from tests.support.store import count_events

FAST_HASH = {"BREACH_PASSWORD_HASH_MEMORY_KIB": "64"}


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    out = Cli(tmp_path / "var")
    out.env.update(FAST_HASH)
    return out


def _first_password(cli: Cli) -> str:
    found = re.search(r"one-time password: (\S+)", cli.ok("init").out)
    assert found
    return found.group(1)


def _run(env: dict[str, str], text: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``breach`` with exactly ``env`` (no token unless it holds one) and ``text`` as input."""
    return subprocess.run(
        [str(BREACH), *args],
        capture_output=True,
        text=True,
        env=env,
        input=text,
        timeout=60,
        check=False,
    )


def _actors(data_dir: Path) -> list[str]:
    with sqlite3.connect(data_dir / "events.db") as db:
        rows = db.execute("SELECT state FROM stored_events ORDER BY rowid").fetchall()
    return [json.loads(r[0])["actor"] for r in rows]


def test_a_name_in_the_environment_proves_nothing(cli: Cli) -> None:
    """BREACH_ACTOR=dpo (or any name) opens no guarded command: approval, erasure, a
    decision, a report and a read are refused with exit 4, and nothing is recorded."""
    incident = cli.ok("report", "--title", "Lost laptop", "--discovered-at", "now").out.strip()
    before = count_events(cli.data_dir)
    env = {k: v for k, v in cli.env.items() if k != "BREACH_TOKEN"}
    env["BREACH_ACTOR"] = "dpo"
    for args in [
        ("notify", "approve", "0000"),
        ("people", "erase", "--incident", incident, "--email", "a@example.org", "--reason", "x"),
        ("decide", incident, "gdpr/art33", "--decision", "notified", "--reason", "x"),
        ("report", "--title", "x", "--discovered-at", "now"),
        ("list",),
    ]:
        result = _run(env, "", *args)
        assert result.returncode == 4, (args, result.stderr)
        assert "identity: prove who you are" in result.stderr
        assert "BREACH_ACTOR is not read" in result.stderr
    assert count_events(cli.data_dir) == before


def test_login_issues_a_token_of_ones_own_that_later_commands_present(
    cli: Cli, tmp_path: Path
) -> None:
    """init makes the first admin (recorded under the operating-system user); login with the
    one-time password sets a new one and keeps a token readable by its owner alone; commands
    then act as admin; logout revokes it and the next command is refused."""
    one_time = _first_password(cli)
    token_file = tmp_path / "config" / "token"
    env = {k: v for k, v in cli.env.items() if k != "BREACH_TOKEN"}
    env["BREACH_TOKEN_FILE"] = str(token_file)
    answers = f"{one_time}\nmy own password 1\nmy own password 1\n"
    login = _run(env, answers, "login", "admin", "--password-stdin")
    assert login.returncode == 0, login.stderr
    assert "signed in as admin" in login.stdout
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert token_file.parent.stat().st_mode & 0o077 == 0
    assert one_time not in login.stdout + login.stderr
    whoami = _run(env, "", "whoami", "--json")
    assert json.loads(whoami.stdout)["username"] == "admin"
    reported = _run(env, "", "report", "--title", "Phish", "--discovered-at", "now")
    assert reported.returncode == 0, reported.stderr
    actors = _actors(cli.data_dir)
    assert actors[0] == f"os:{getpass.getuser()}"
    assert actors[-1] == "admin"
    assert _run(env, "", "logout").returncode == 0
    assert not token_file.exists()
    assert _run(env, "", "list").returncode == 4


def test_a_wrong_password_is_refused_and_a_throttled_account_held_back(cli: Cli) -> None:
    """A wrong password (or an unknown user) exits 4 saying only that the pair is wrong; an
    account with many recent failures is held back, even with the right password."""
    one_time = _first_password(cli)
    for username in ("admin", "nobody"):
        result = cli("login", username, "--password-stdin", input="not it\n")
        assert result.code == 4
        assert "wrong username or password" in result.err
    rt = bootstrap(cli.settings(), configure_logs=False)
    try:
        assert rt.app.credentials is not None
        attempts, at, failed = rt.app.credentials.attempts, time.time() - 130, 0
        while failed < 12:  # each as soon as the throttle lets it: the last one waits 128 s
            counted, wait = attempts.begin("admin", "elsewhere", at)
            failed += counted is not None
            at += wait + 0.01
    finally:
        rt.close()
    held = cli("login", "admin", "--password-stdin", input=f"{one_time}\n")
    assert held.code == 4
    assert "too many failed sign-ins" in held.err


def test_operator_commands_run_without_an_identity(cli: Cli) -> None:
    """views, audit verify and init need no token (they run as the machine's operator)."""
    cli.ok("report", "--title", "Phish", "--discovered-at", "now")
    env = {k: v for k, v in cli.env.items() if k != "BREACH_TOKEN"}
    for args in [("views", "status"), ("audit", "verify"), ("init",)]:
        result = _run(env, "", *args)
        assert result.returncode == 0, (args, result.stderr)


def test_a_token_file_others_may_read_is_refused(cli: Cli, tmp_path: Path) -> None:
    """As ssh refuses a key others can read, a group- or world-readable token file is
    refused with exit 4 naming the file's mode, and nothing runs."""
    token = cli.user("alice")
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    os.chmod(token_file, 0o644)
    env = {k: v for k, v in cli.env.items() if k != "BREACH_TOKEN"}
    env["BREACH_TOKEN_FILE"] = str(token_file)
    refused = _run(env, "", "list")
    assert refused.returncode == 4
    assert "chmod 600" in refused.stderr
    os.chmod(token_file, 0o600)
    assert _run(env, "", "list").returncode == 0


def test_an_admin_cannot_issue_a_token_in_a_persons_name(cli: Cli) -> None:
    """An admin asking for a token of a person (not a service account) is refused with exit
    4 and nothing is recorded; a service account's token is issued, and it cannot hold the
    dpo role."""
    cli.user("root-admin", "admin")
    cli.user("dpo1", "dpo")
    before = count_events(cli.data_dir)
    refused = cli("users", "token", "dpo1", actor="root-admin")
    assert refused.code == 4
    assert "issued only to their owner" in refused.err
    assert "bl_" not in refused.out
    assert count_events(cli.data_dir) == before
    cli.ok("users", "add", "wazuh", "--role", "reporter", "--service", actor="root-admin")
    assert cli.ok("users", "token", "wazuh", actor="root-admin").out.startswith("bl_")
    dpo = cli("users", "role", "wazuh", "--role", "dpo", actor="root-admin")
    assert dpo.code == 2
    assert "service account" in dpo.err


def test_names_of_the_system_cannot_be_taken(cli: Cli) -> None:
    """Usernames in the system's namespaces (intake:..., os:..., policy.*, dispatcher) are
    refused with exit 2 naming the field, and nothing is recorded."""
    cli.user("root-admin", "admin")
    before = count_events(cli.data_dir)
    for name in ("intake:wazuh", "os:root", "demo:dpo", "policy.playbooks", "dispatcher"):
        result = cli("users", "add", name, "--role", "auditor", actor="root-admin")
        assert result.code == 2, (name, result.err)
        assert "username:" in result.err
    assert count_events(cli.data_dir) == before
