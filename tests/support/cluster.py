"""A distributed breachledger for tests: ``breach worker`` processes on one PostgreSQL schema
and one Kafka topic, each in its own process group, so that a kill takes the whole worker
(the dispatcher's SMTP sender child included), as a stopped container or machine would."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from services.config import Settings
from tests.support import postgres
from tests.support.broker import BREACH, Broker, WorkerProcess, worker_env

SESSION_TIMEOUT = "6"
"""Seconds of the consumers' group session (the broker answers a join after half of it)."""


def distributed_settings(broker: Broker, schema: str, data_dir: Path, **values: object) -> Settings:
    """Settings of a store on the PostgreSQL ``schema`` publishing to a fresh topic of
    ``broker`` (with the shared secrets every process of the store must have)."""
    return broker.settings(
        data_dir,
        database_url=postgres.URL,
        database_schema=schema,
        **postgres.SECRETS,
        **values,
    )


def distributed_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a ``breach`` process on these settings (database, secrets, broker,
    topic and groups), with ``extra`` variables."""
    assert settings.database_url is not None
    env = worker_env(settings)
    env["BREACH_DATABASE_URL"] = settings.database_url.get_secret_value()
    env["BREACH_DATABASE_SCHEMA"] = settings.database_schema
    env.update({f"BREACH_{k.upper()}": v for k, v in postgres.SECRETS.items()})
    env.update(extra)
    return env


@dataclass
class Cluster:
    """The worker processes of one distributed store: started, killed and restarted by kind.

    ``started`` keeps every process ever started (for their logs); ``live`` those not killed
    or stopped."""

    env: dict[str, str]
    logs: Path
    started: list[WorkerProcess] = field(default_factory=list)
    live: list[WorkerProcess] = field(default_factory=list)

    def start(self, kind: str) -> WorkerProcess:
        """Start ``breach worker KIND`` in a new process group, logging to its own file."""
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{kind}-{uuid.uuid4().hex[:8]}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(BREACH), "worker", kind, "--session-timeout", SESSION_TIMEOUT],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = WorkerProcess(kind, process, log)
        self.started.append(worker)
        self.live.append(worker)
        return worker

    def of(self, kind: str) -> list[WorkerProcess]:
        """The live workers of a kind."""
        return [w for w in self.live if w.kind == kind]

    def kill(self, worker: WorkerProcess) -> None:
        """SIGKILL the worker's whole process group and reap it."""
        if worker.process.poll() is None:
            os.killpg(worker.process.pid, signal.SIGKILL)
        worker.process.wait(10)
        if worker in self.live:
            self.live.remove(worker)

    def stop(self, timeout: float = 60.0) -> dict[str, list[int]]:
        """SIGTERM every live worker at once and wait; the exit statuses by kind."""
        for w in self.live:
            if w.process.poll() is None:
                w.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        codes: dict[str, list[int]] = {}
        for w in self.live:
            left = max(deadline - time.monotonic(), 0.1)
            codes.setdefault(w.kind, []).append(w.process.wait(left))
        self.live.clear()
        return codes

    def close(self) -> None:
        """Kill whatever still runs (after a failure)."""
        for w in list(self.live):
            self.kill(w)
        for w in self.started:
            if w.process.poll() is None:
                os.killpg(w.process.pid, signal.SIGKILL)
                w.process.wait(10)

    def lines(self, kind: str, event: str) -> list[dict[str, object]]:
        """The log lines of ``event`` written by every process of a kind ever started."""
        return [line for w in self.started if w.kind == kind for line in w.lines(event)]
