"""``breach worker``: its help, its refusals, and the whole distributed pipeline in separate
processes (relay, projections, policies, two dispatchers) sending to a real SMTP server."""

from __future__ import annotations

import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.application.context import RequestContext
from services.bootstrap import bootstrap
from tests.support.broker import (  # noqa: F401  (fixtures)
    BREACH,
    Broker,
    WorkerProcess,
    broker,
    start_worker,
    wait_until,
)
from tests.support.campaigns import CONTENT
from tests.support.identity import dpo_of
from tests.support.people import person, write_csv
from tests.support.reports import report_due_within_the_hour, report_input
from tests.support.smtp import free_port, smtp_sink

ALICE = RequestContext(actor="alice")
DPO = RequestContext(actor="dpo")


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    """Worker processes started by a test; killed at the end if still running."""
    started: list[WorkerProcess] = []
    yield started
    for w in started:
        w.kill()


def test_help_explains_each_kind() -> None:
    """``breach worker --help`` names the kinds and what each one does."""
    out = subprocess.run(
        [str(BREACH), "worker", "--help"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    for kind, words in {
        "relay": "publish every stored event",
        "projections": "keep every view",
        "policies": "run every policy",
        "dispatcher": "send due notices",
        "alerts": "the alarm clock",
        "webhooks": "deliver subscribed events",
    }.items():
        assert kind in out
        assert words in out
    assert "SIGTERM" in out


def test_an_unknown_kind_and_a_missing_cluster_are_refused(tmp_path: Path) -> None:
    """Exit status 2 with the reason for a kind that does not exist, and for a Kafka worker
    without BREACH_KAFKA_BOOTSTRAP_SERVERS."""
    env = {"BREACH_DATA_DIR": str(tmp_path / "var"), "PATH": "/usr/bin:/bin"}
    unknown = subprocess.run(
        [str(BREACH), "worker", "sorter"], capture_output=True, text=True, env=env, timeout=60
    )
    assert unknown.returncode == 2
    assert "not a worker kind" in unknown.stderr
    missing = subprocess.run(
        [str(BREACH), "worker", "projections"], capture_output=True, text=True, env=env, timeout=60
    )
    assert missing.returncode == 2
    assert "BREACH_KAFKA_BOOTSTRAP_SERVERS" in missing.stderr


def test_the_alarm_clock_worker_runs_without_kafka_and_raises_the_due_step(
    tmp_path: Path,
) -> None:
    """``breach worker alerts`` runs on the embedded store with no Kafka cluster, raises the
    step due for an obligation an hour from its deadline, and stops cleanly on SIGTERM."""
    from services.config import Settings

    settings = Settings(data_dir=tmp_path / "var")
    rt = bootstrap(settings, configure_logs=False)
    report_due_within_the_hour(rt, ALICE)
    rt.settle()
    rt.close()
    env = {
        "BREACH_DATA_DIR": str(settings.data_dir),
        "BREACH_ALERT_SCAN_SECONDS": "1",
        "PATH": "/usr/bin:/bin",
    }
    proc = subprocess.Popen(
        [str(BREACH), "worker", "alerts"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:

        def raised() -> list[str]:
            seen = bootstrap(settings, configure_logs=False)
            try:
                seen.settle()
                return [r["step"] for r in seen.alerts.rows()]
            finally:
                seen.close()

        wait_until(lambda: "due_1h" in raised(), 60, "the due step to be raised")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    after = bootstrap(settings, configure_logs=False)
    try:
        assert after.alarm_clock().scan() == []  # every due step was raised, none is again
    finally:
        after.close()


@pytest.mark.slow
def test_two_dispatcher_processes_send_each_notice_exactly_once(
    broker: Broker,  # noqa: F811
    workers: list[WorkerProcess],
    tmp_path: Path,
) -> None:
    """Relay, projection and policy workers and two dispatchers, each its own process: the
    SMTP server receives each of 300 notices once, both dispatchers send, the campaign
    completes, and SIGTERM stops every worker with status 0."""
    settings = broker.settings(tmp_path / "var")
    rt = bootstrap(settings, configure_logs=False)
    logs = tmp_path / "logs"
    try:
        with smtp_sink(tmp_path) as sink:
            extra = {
                "BREACH_SMTP_URL": f"smtp://127.0.0.1:{sink.port}",
                "BREACH_DISPATCH_BATCH_SIZE": "25",
                "BREACH_SMTP_CONNECTIONS": "2",
                "BREACH_SMTP_RATE": "60",
            }
            for kind in ("relay", "projections", "policies", "dispatcher", "dispatcher"):
                workers.append(start_worker(settings, kind, logs, env=extra))
            incident = rt.app.incidents.report_incident(
                report_input(rt.app.core.clock.now()), ALICE
            )
            people = write_csv(tmp_path / "people.csv", [person(i) for i in range(300)])
            rt.app.people.import_people(incident.id, people, ALICE)
            campaign = rt.app.notifications.draft_campaign(
                incident.id, {"audience": "people", **CONTENT}, ALICE
            )
            rt.app.notifications.preview_campaign(campaign.id, ALICE)
            rt.app.notifications.approve_campaign(campaign.id, dpo_of(rt, DPO))
            rt.app.notifications.start_dispatch(campaign.id, ALICE)

            def completed() -> bool:
                progress = rt.notifications.progress(campaign.id, rt.app.core.clock.now())
                return progress["status"] == "completed"

            wait_until(completed, 120, "the campaign to complete")
            state = sink.state()
        assert (state["accepted"], state["unique"], state["duplicates"]) == (300, 300, {})
        progress = rt.notifications.progress(campaign.id, rt.app.core.clock.now())
        assert (progress["sent"], progress["total"]) == (300, 300)
        senders = [w for w in workers if w.kind == "dispatcher"]
        sent_by = [sum(1 for _ in w.lines("campaign.completed")) for w in senders]
        assert sum(sent_by) == 1
        assert [w.terminate() for w in workers] == [0] * 5
        reports = [w.lines("dispatch.stopped")[-1]["sent"] for w in senders]
        assert sum(reports) == 300
        assert all(r > 0 for r in reports)
    finally:
        rt.close()


def test_sigterm_stops_an_idle_relay_cleanly(
    broker: Broker,  # noqa: F811
    workers: list[WorkerProcess],
    tmp_path: Path,
) -> None:
    """A relay with nothing to publish serves its metrics on BREACH_METRICS_PORT, and stops
    on SIGTERM with status 0, saying so."""
    settings = broker.settings(tmp_path / "var")
    port = free_port()
    worker = start_worker(
        settings, "relay", tmp_path / "logs", env={"BREACH_METRICS_PORT": str(port)}
    )
    workers.append(worker)
    wait_until(lambda: worker.lines("relay.connected"), 30, "the relay to connect")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        assert answer.status == 200
        assert b"process_cpu_seconds_total" in answer.read()
    worker.process.send_signal(signal.SIGTERM)
    assert worker.process.wait(30) == 0
    assert worker.lines("relay.stopped")
