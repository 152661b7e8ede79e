"""Driving the real ``breach`` console script in a subprocess, as a user would."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from events.users import Role
from services.cli import output
from services.cli.main import main
from services.config import Settings
from tests.support.campaigns import CONTENT
from tests.support.identity import EVERY_ROLE, provision_in

BREACH = Path(sys.executable).parent / "breach"


@dataclass
class Result:
    """What a command printed and how it exited."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


OPERATOR_COMMANDS = frozenset({"serve", "worker", "views", "init", "login", "--help", "-h"})
"""Commands that need no proven identity (``audit verify`` too)."""


def _operator(args: tuple[str, ...]) -> bool:
    return not args or args[0] in OPERATOR_COMMANDS or args[:2] == ("audit", "verify")


class Cli:
    """Runs ``breach`` against one data directory as a proven user: ``actor`` (created on
    first use with every role, unless :meth:`user` made them with others) presents a token
    of their own, as after ``breach login``. Operator commands run without one."""

    def __init__(self, data_dir: Path, actor: str = "alice") -> None:
        self.data_dir = data_dir
        self.actor = actor
        self.tokens: dict[str, str] = {}
        self.env = {
            **os.environ,
            "BREACH_DATA_DIR": str(data_dir),
            "BREACH_TOKEN_FILE": str(data_dir.parent / "no-token-file"),
            "BREACH_TIMEZONE": "UTC",
            "BREACH_PASSWORD_HASH_MEMORY_KIB": "64",
            "COLUMNS": "160",
        }
        self.env.pop("BREACH_TOKEN", None)

    def settings(self) -> Settings:
        """The settings the commands run with (the test's environment, this data dir)."""
        keys = {k: v for k, v in self.env.items() if k.startswith("BREACH_")}
        with pytest.MonkeyPatch.context() as mp:
            for key in [k for k in os.environ if k.startswith("BREACH_")]:
                mp.delenv(key)
            for key, value in keys.items():
                mp.setenv(key, value)
            return Settings()

    def user(self, username: str, *roles: Role | str) -> str:
        """Make ``username`` with ``roles`` (every role when none) and return their token."""
        if username not in self.tokens:
            self.tokens[username] = provision_in(self.settings(), username, roles or EVERY_ROLE)
        return self.tokens[username]

    def __call__(self, *args: str, input: str | None = None, actor: str | None = None) -> Result:
        env = dict(self.env)
        if not _operator(args) or actor is not None:
            env["BREACH_TOKEN"] = self.user(actor or self.actor)
        proc = subprocess.run(
            [str(BREACH), *args],
            capture_output=True,
            text=True,
            env=env,
            input=input,
            timeout=60,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def login(self, username: str, password: str, new_password: str | None = None) -> str:
        """Sign in as ``breach login --print-token`` does (choosing ``new_password`` when the
        password is one-time) and return the token."""
        lines = [password] if new_password is None else [password, new_password, new_password]
        result = self(
            "login", username, "--password-stdin", "--print-token", input="\n".join(lines) + "\n"
        )
        assert result.code == 0, result.err
        return result.out.strip()

    def send_people_campaign(self, incident: str, folder: Path) -> str:
        """Draft (as the default actor) a people campaign of ``incident`` with the content of
        :data:`tests.support.campaigns.CONTENT`, preview it, approve it as a DPO (``dpo``) and
        send it; return the campaign's id."""
        content = folder / "content.yaml"
        content.write_text(yaml.safe_dump(CONTENT), encoding="utf-8")
        campaign = self.ok(
            "notify", "draft", incident, "--audience", "people", "--content", str(content)
        ).out.strip()
        self.ok("notify", "preview", campaign)
        self.user("dpo", "dpo")
        self.ok("notify", "approve", campaign, actor="dpo")
        self.ok("notify", "send", campaign)
        return campaign

    def ok(self, *args: str, actor: str | None = None) -> Result:
        result = self(*args, actor=actor)
        assert result.code == 0, result.err
        return result


class InProcessCli(Cli):
    """The same as :class:`Cli`, but each command runs ``services.cli.main.main`` (what the
    console script calls) in this process, with the command's environment, standard input
    and outputs swapped in for the call: for tests that run many commands to check what they
    answer, without paying a process start-up for each."""

    def __call__(self, *args: str, input: str | None = None, actor: str | None = None) -> Result:
        env = {k: v for k, v in self.env.items() if k.startswith("BREACH_") or k == "COLUMNS"}
        if not _operator(args) or actor is not None:
            env["BREACH_TOKEN"] = self.user(actor or self.actor)
        out, err = io.StringIO(), io.StringIO()
        with pytest.MonkeyPatch.context() as mp:
            for key in [k for k in os.environ if k.startswith("BREACH_")]:
                mp.delenv(key)
            for key, value in env.items():
                mp.setenv(key, value)
            mp.setattr(sys, "stdin", io.StringIO(input or ""))
            mp.setattr(output, "_out", None)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(list(args))
        return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "var")


@pytest.fixture
def in_process_cli(tmp_path: Path) -> Cli:
    """Commands run in this process (:class:`InProcessCli`): for tests of what many commands
    answer (refusals above all), where a process start-up per command costs the most."""
    return InProcessCli(tmp_path / "var")
