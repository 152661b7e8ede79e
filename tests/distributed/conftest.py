"""Fixtures of the distributed scenario: a PostgreSQL schema, a Kafka-protocol broker of its
own, a real SMTP server, the test's runtime on that store, and the worker processes."""

from __future__ import annotations

import fcntl
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from tests.distributed.scenario import Scenario
from tests.support import postgres
from tests.support.broker import (
    Broker,
    own_broker,  # noqa: F401  (fixture)
)
from tests.support.cluster import Cluster, distributed_env, distributed_settings
from tests.support.smtp import SinkProcess, smtp_sink


@pytest.fixture(autouse=True)
def one_cluster_at_a_time() -> Iterator[None]:
    """Hold a machine-wide lock for the test: each distributed test starts about nine worker
    processes holding five to seven PostgreSQL connections each, so two at once on parallel
    test processes (with the rest of the suite) would exhaust the server's 100 connections."""
    path = Path(tempfile.gettempdir()) / "breachledger-distributed-tests.lock"
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture
def schema() -> Iterator[str]:
    """A fresh PostgreSQL schema, dropped after the test."""
    with postgres.fresh_schema() as name:
        yield name


@pytest.fixture
def settings(own_broker: Broker, schema: str, tmp_path: Path) -> Settings:  # noqa: F811
    """The store: the schema, and a fresh topic (4 partitions) of the test's broker."""
    return distributed_settings(own_broker, schema, tmp_path / "var")


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[SinkProcess]:
    """The SMTP server every notice goes to."""
    with smtp_sink(tmp_path) as running:
        yield running


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    """The test's own runtime on the store (it waits for the workers to read its writes)."""
    runtime = bootstrap(settings, configure_logs=False)
    yield runtime
    runtime.close()


@pytest.fixture
def cluster(settings: Settings, sink: SinkProcess, tmp_path: Path) -> Iterator[Cluster]:
    """The worker processes (none started yet), sending to the SMTP server; any still running
    at the end are killed."""
    env = distributed_env(
        settings,
        BREACH_SMTP_URL=f"smtp://127.0.0.1:{sink.port}",
        BREACH_DISPATCH_BATCH_SIZE="100",
        BREACH_SMTP_CONNECTIONS="4",
        BREACH_SMTP_BACKOFF_SECONDS="0.2",
        BREACH_SMTP_BACKOFF_MAX_SECONDS="1",
    )
    running = Cluster(env, tmp_path / "logs")
    yield running
    running.close()


@pytest.fixture
def scenario(rt: Runtime, cluster: Cluster, sink: SinkProcess, tmp_path: Path) -> Scenario:
    """The scenario over this store, cluster and SMTP server."""
    return Scenario(rt, cluster, sink, tmp_path)
