"""Driving the real ``breach`` console script in a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

BREACH = Path(sys.executable).parent / "breach"


@dataclass
class Result:
    """What a command printed and how it exited."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Cli:
    """Runs ``breach`` against one data directory with a fixed actor."""

    def __init__(self, data_dir: Path, actor: str = "alice") -> None:
        self.data_dir = data_dir
        self.env = {
            **os.environ,
            "BREACH_DATA_DIR": str(data_dir),
            "BREACH_ACTOR": actor,
            "BREACH_TIMEZONE": "UTC",
            "COLUMNS": "160",
        }

    def __call__(self, *args: str, input: str | None = None, actor: str | None = None) -> Result:
        env = dict(self.env)
        if actor is not None:
            env["BREACH_ACTOR"] = actor
        proc = subprocess.run(
            [str(BREACH), *args],
            capture_output=True,
            text=True,
            env=env,
            input=input,
            timeout=60,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, actor: str | None = None) -> Result:
        result = self(*args, actor=actor)
        assert result.code == 0, result.err
        return result


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "var")
