"""Deadline alerts and webhooks in the distributed mode: two alarm-clock processes, one of
them killed before each step, raise each escalation step once; a decision stops a ladder;
webhook receivers down for part of the run get every delivery afterwards, in log order."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.bootstrap import Runtime
from services.config import Settings
from tests.distributed.ladder_run import LadderRun
from tests.support.broker import Broker
from tests.support.cluster import Cluster, distributed_settings
from tests.support.smtp import SinkProcess
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.distributed


@pytest.fixture
def clock_file(tmp_path: Path) -> Path:
    """The file moving the clock of the test and of every worker process."""
    return tmp_path / "clock-offset"


@pytest.fixture
def settings(own_broker: Broker, schema: str, tmp_path: Path, clock_file: Path) -> Settings:
    """The store (as the shared fixture makes it), on the clock the file moves."""
    return distributed_settings(
        own_broker, schema, tmp_path / "var", clock_file=clock_file, webhook_allow_loopback=True
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The webhook receiver on loopback."""
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture
def run(
    rt: Runtime, cluster: Cluster, receiver: Receiver, sink: SinkProcess, clock_file: Path
) -> LadderRun:
    """The ladder's walk over this store, cluster and receiver."""
    return LadderRun(rt, cluster, receiver, sink, clock_file)


def test_two_alarm_clocks_raise_each_step_once_and_webhooks_deliver_after_an_outage(
    run: LadderRun,
) -> None:
    """Through 24 h, 6 h, 1 h and overdue with an alarm clock killed before each step: each
    step is raised once per obligation for its recipients, UK GDPR's ladder stops at its
    decision, and the receiver, down from the 6-hour step until after overdue, then gets
    every delivery, signed, first arrivals in log order."""
    began = time.monotonic()
    run.start()
    run.walk()
    deliveries = run.check_deliveries()
    alerts = run.check_alerts()
    owed = run.expected_mail()
    mail = run.check_mail()
    codes = run.cluster.stop()
    print(f"timings: {run.timings}, total {time.monotonic() - began:.1f}s")
    print(f"alerts: {alerts}")
    print(f"deliveries: {deliveries}")
    print(f"mail: {mail}")
    print(f"alarm clocks killed: {run.kills}")
    assert all(code == 0 for kind in codes.values() for code in kind), codes
    assert set(owed) == {"olga", "dora", "ada"}
    assert len(owed["olga"]) == 6
