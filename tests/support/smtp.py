"""Starting and reading the SMTP sink process from tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SinkProcess:
    """A running sink: its port and a way to read its counts."""

    port: int
    state_file: Path
    process: subprocess.Popen[str]

    def state(self) -> dict[str, Any]:
        time.sleep(0.3)
        return json.loads(self.state_file.read_text()) if self.state_file.exists() else {}


@contextmanager
def smtp_sink(tmp_path: Path, *args: str) -> Iterator[SinkProcess]:
    """Run ``tests.support.smtp_sink`` in its own process for the duration."""
    port = free_port()
    state = tmp_path / f"sink-{port}.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.smtp_sink", str(port), str(state), *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    try:
        yield SinkProcess(port, state, proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def send_and_kill(env: dict[str, str], campaign: str, sink: SinkProcess, accepted: int) -> None:
    """Run ``breach notify send CAMPAIGN`` with ``env`` and SIGKILL it (its whole process
    group: the sender process too) once the sink has accepted ``accepted`` messages (or
    after a minute)."""
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "breach"), "notify", "send", campaign],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while sink.state().get("accepted", 0) < accepted and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
