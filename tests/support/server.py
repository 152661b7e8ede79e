"""Running the HTTP server for tests and benchmarks: ``breach serve`` in its own process, or
a runtime's server in the test's own process."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from services.bootstrap import Runtime
from services.server.runner import Server

BREACH = Path(sys.executable).parent / "breach"


@dataclass
class ServerProcess:
    """A ``breach serve`` process: its URL and what it printed while starting."""

    process: subprocess.Popen[str]
    url: str
    started: list[str] = field(default_factory=list)

    def stop(self) -> str:
        """SIGTERM, wait for a clean exit, and return the rest of its output."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=60)
        return out


def start_server(
    data_dir: Path, *args: str, env: dict[str, str] | None = None, log: Path | None = None
) -> ServerProcess:
    """Start ``breach serve --port 0`` on ``data_dir``; return once it is answering. With
    ``log``, standard error (the log) goes to that file instead of joining the output."""
    environment = {
        **os.environ,
        "BREACH_DATA_DIR": str(data_dir),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    with contextlib.ExitStack() as files:
        stderr = files.enter_context(log.open("w")) if log is not None else subprocess.STDOUT
        proc = subprocess.Popen(
            [str(BREACH), "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=environment,
        )
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "press Ctrl-C" in line:
            found = re.search(r"running at (http://\S+?)/ ", "".join(lines))
            assert found, lines
            return ServerProcess(proc, found.group(1), lines)
    proc.kill()
    raise AssertionError("breach serve did not start:\n" + "".join(lines))


@contextmanager
def running_server(
    data_dir: Path, *args: str, env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[ServerProcess]:
    """``breach serve`` for the duration of the block."""
    server = start_server(data_dir, *args, env=env, log=log)
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def serving(rt: Runtime) -> Iterator[Server]:
    """The HTTP server of ``rt`` in this process on a free loopback port (no background
    workers), for the duration of the block."""
    server = Server(rt, host="127.0.0.1", port=0, workers=False).start()
    try:
        yield server
    finally:
        server.stop()


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    """A memory figure of a process from ``/proc/<pid>/status`` (VmRSS: resident now;
    VmHWM: the highest resident size so far), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


def bytes_read(pid: int) -> int:
    """Bytes the process has read through system calls so far (``rchar`` of
    ``/proc/<pid>/io``: sockets and files alike)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError(f"rchar not in /proc/{pid}/io")
