"""The role x command matrix of the command line: every command, run by a user of each role
(proven by a token of their own), is let in or refused with exit 4 exactly as the hand-written
matrix of :mod:`tests.support.access_matrix` promises (the one the API and the dashboard are
walked against); operator commands need no identity, and a command nobody listed fails.

Commands run in this process through ``services.cli.main.main`` on one shared runtime (so
the walk costs no start-up per command), and stop right after their guard: a caller the
guard lets in ends with :data:`LET_IN`, so only whether the role is let in is measured here
(what each command then does is the other tests' business).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from services.application.context import RequestContext
from services.bootstrap import bootstrap
from services.cli.app import app
from services.cli.guard import ACCESS
from services.cli.main import main
from services.cli.state import CliState
from services.config import Settings
from tests.support.access_matrix import OPERATOR_COMMANDS, allowed, listed
from tests.support.identity import provision
from tests.support.reports import report_input

ROLES = ("reporter", "responder", "dpo", "auditor", "admin")
UNKNOWN = "00000000-0000-4000-8000-000000000000"
LET_IN = 99
"""The exit status of a command whose guard let its caller in (the command does not run)."""


def commands() -> dict[str, Any]:
    """Every runnable command (and group callback that runs on its own) by its path."""
    found: dict[str, Any] = {}

    def walk(command: Any, path: list[str]) -> None:
        subs = getattr(command, "commands", None)
        if subs:
            if path and getattr(command, "callback", None) is not None:
                found[" ".join(path)] = command.callback
            for name, sub in subs.items():
                walk(sub, [*path, name])
        else:
            found[" ".join(path)] = command.callback

    walk(typer.main.get_command(app), [])
    return found


def arguments(ids: dict[str, str], tmp: Path) -> dict[str, list[str]]:
    """Arguments each command parses with (refused or failing early when allowed)."""
    i, c, t = ids["incident"], UNKNOWN, UNKNOWN
    return {
        "whoami": [],
        "logout": [],
        "report": ["--title", "Badge lost", "--discovered-at", "now"],
        "list": [],
        "show": [i],
        "timeline": [i],
        "amend": [UNKNOWN, "--reason", "x", "--title", "y"],
        "triage": [UNKNOWN, "--severity", "low"],
        "note": [UNKNOWN, "text"],
        "close": [UNKNOWN, "--resolution", "x"],
        "reopen": [UNKNOWN, "--reason", "x"],
        "assess": [UNKNOWN, "--file", str(tmp / "missing.yaml")],
        "decide": [UNKNOWN, "gdpr/art33", "--decision", "notified", "--reason", "x"],
        "obligations": [],
        "report-stats": [],
        "tasks": [],
        "playbooks": [],
        "playbooks show": ["no-such-playbook"],
        "task add": [UNKNOWN, "--title", "x", "--due", "now"],
        "task assign": [t, "someone"],
        "task start": [t],
        "task block": [t, "--reason", "x"],
        "task unblock": [t],
        "task done": [t, "--outcome", "x"],
        "task reopen": [t, "--reason", "x"],
        "task cancel": [t, "--reason", "x"],
        "task due": [t, "--at", "now", "--reason", "x"],
        "people import": [UNKNOWN, str(tmp / "missing.csv")],
        "people list": [UNKNOWN],
        "people export": ["nobody@example.org"],
        "people correct": ["--incident", UNKNOWN, "--email", "a@example.org", "--reason", "x"],
        "people erase": ["--incident", UNKNOWN, "--email", "a@example.org", "--reason", "x"],
        "retention run": ["--dry-run"],
        "notify status": [c],
        "notify languages": [c],
        "templates check": [],
        "notify draft": [UNKNOWN, "--audience", "people", "--content", str(tmp / "none.yaml")],
        "notify send": [c],
        "notify preview": [c],
        "notify approve": [c],
        "notify pause": [c, "--reason", "x"],
        "notify resume": [c],
        "notify cancel": [c, "--reason", "x"],
        "notify resolve": [UNKNOWN, "--reason", "x", "--delivered"],
        "notify settle": [UNKNOWN, "--reason", "x", "--delivered"],
        "mailbox": [],
        "mailbox show": ["<none@example.org>"],
        "replay": [i, "--as-of", "now"],
        "audit export": [UNKNOWN, "--out", str(tmp / "bundle")],
        "demo": [],
        "owners": [],
        "owners set": [UNKNOWN, "nobody"],
        "owners duty": ["nobody", "--from", "now", "--until", "now"],
        "owners cancel": ["no-such-shift"],
        "alerts": ["--mine"],
        "alerts ack": [UNKNOWN],
        **{
            f"users {c}": a
            for c, a in {
                "list": [],
                "add": ["newbie", "--role", "auditor"],
                "role": ["nobody", "--role", "auditor"],
                "token": ["nobody"],
                "revoke": ["nobody", "0000"],
                "password": ["nobody"],
                "disable": ["nobody", "--reason", "x"],
                "enable": ["nobody"],
                "set": ["nobody", "--language", "en"],
            }.items()
        },
        **{
            f"webhooks {c}": a
            for c, a in {
                "add": ["ftp://nowhere.invalid/", "--kind", "incident.reported"],
                "list": [],
                "test": [UNKNOWN],
                "deliveries": [UNKNOWN],
                "disable": [UNKNOWN, "--reason", "x"],
                "enable": [UNKNOWN],
            }.items()
        },
    }


@pytest.fixture
def setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A store with a user per role (and their tokens) and the reporter's own incident; every
    command of the test runs on its one runtime."""
    data_dir = tmp_path / "var"
    for key in [k for k in os.environ if k.startswith("BREACH_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("BREACH_DATA_DIR", str(data_dir))
    monkeypatch.setenv("BREACH_TOKEN_FILE", str(tmp_path / "no-token-file"))
    monkeypatch.setenv("BREACH_PASSWORD_HASH_MEMORY_KIB", "64")
    monkeypatch.setenv("BREACH_LOG_LEVEL", "error")
    rt = bootstrap(Settings(), configure_logs=False)
    monkeypatch.setattr("services.cli.state.bootstrap", lambda settings: rt)
    monkeypatch.setattr(CliState, "close", lambda self: None)
    authorise = CliState.authorise

    def stop_once_let_in(self: CliState, needed: Any) -> None:
        authorise(self, needed)
        raise typer.Exit(LET_IN)

    monkeypatch.setattr(CliState, "authorise", stop_once_let_in)
    try:
        tokens = {role: provision(rt, role, [role]) for role in ROLES}
        incident = rt.app.incidents.report_incident(
            report_input(rt.app.core.clock.now(), reporter="reporter"),
            RequestContext(actor="reporter"),
        )
        rt.settle()
        yield {"rt": rt, "tokens": tokens, "ids": {"incident": str(incident.id)}, "tmp": tmp_path}
    finally:
        rt.close()


def test_every_command_declares_what_it_needs_and_the_matrix_lists_it() -> None:
    """Each command carries a guard (a permission or the operator mark), and the matrix
    lists exactly the commands there are."""
    found = commands()
    unguarded = [path for path, callback in found.items() if not hasattr(callback, ACCESS)]
    assert not unguarded
    operators = {path for path, callback in found.items() if getattr(callback, ACCESS) is None}
    assert operators == OPERATOR_COMMANDS
    assert set(found) == listed("cli") | OPERATOR_COMMANDS


def test_each_role_is_let_in_or_refused_exactly_as_promised(
    setting: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """For every command and role: allowed roles get past the guard, others get exit 4
    naming the role (and the command does not run)."""
    args = arguments(setting["ids"], setting["tmp"])
    wrong: list[str] = []
    for path in sorted(listed("cli")):  # type: ignore[type-var]
        roles = allowed("cli", path)
        for role in ROLES:
            monkeypatch.setenv("BREACH_TOKEN", setting["tokens"][role])
            code = main([*str(path).split(), *args[str(path)]])
            err = capsys.readouterr().err
            expected = LET_IN if role in roles else 4
            if code != expected or (code == 4 and "role:" not in err):
                wrong.append(f"{path} as {role}: exit {code} {err.strip()[:160]}")
    assert not wrong, "\n".join(wrong)
