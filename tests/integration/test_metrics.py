"""Prometheus metrics read from a real runtime: values follow what happens in the ledger,
the exposition parses, and no label value carries a title, an address or an id."""

from __future__ import annotations

import asyncio
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from services.application.context import RequestContext
from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from services.demo import DEMO_TITLE, run_demo
from services.feeds.relay import Relay
from services.metrics import registry, serve_metrics
from services.server.distributed import WorkerOptions, projections_feed
from services.server.http_app import create_app
from services.smtp_target import SmtpTarget
from tests.support.broker import Broker, broker  # noqa: F401
from tests.support.campaigns import CONTENT
from tests.support.clocks import ManualClock
from tests.support.identity import dpo_of
from tests.support.people import person, write_csv
from tests.support.reports import report_input
from tests.support.smtp import smtp_sink
from tests.support.store import RawStore, count_events

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
UUID_LIKE = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.I)


def parse(text: str) -> Samples:
    """Every sample of a text exposition, keyed by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def scrape(rt: Runtime, reg: Any = None) -> Samples:
    return parse(generate_latest(reg or registry(rt)).decode())


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def lags(samples: Samples) -> dict[str, float]:
    return {
        dict(labels)["worker"]: v
        for (name, labels), v in samples.items()
        if name == "breach_feed_lag_events"
    }


def test_reporting_incidents_grows_the_events_counter(
    runtime: Runtime, settings: Settings, alice: RequestContext
) -> None:
    """Three reports append events: the counter equals the stored events, by kind too, and
    the events the policies add are counted under their own kind."""
    reg = registry(runtime)
    before = scrape(runtime, reg)
    assert value(before, "breach_events_appended_total") == 0
    for i in range(3):
        runtime.app.incidents.report_incident(
            report_input(runtime.app.core.clock.now(), title=f"Lost laptop {i}"), alice
        )
    after = scrape(runtime, reg)
    stored = count_events(settings)
    assert stored >= 3
    assert value(after, "breach_events_appended_total") == stored
    assert value(after, "breach_events_by_kind_total", kind="incident") == stored
    run_demo(runtime.app)
    runtime.settle()
    settled = scrape(runtime, reg)
    by_kind = {
        dict(labels)["kind"]: v
        for (name, labels), v in settled.items()
        if name == "breach_events_by_kind_total"
    }
    assert sum(by_kind.values()) == count_events(settings) > stored
    assert by_kind["containment"] > 0


def test_lag_grows_while_views_and_policies_are_behind(
    runtime: Runtime, alice: RequestContext
) -> None:
    """Unsettled reports put every view, policy and the audit chain behind; settling
    brings all back to zero; without Kafka there is no relay to report."""
    runtime.settle()
    settled = scrape(runtime)
    assert set(lags(settled).values()) == {0}
    assert not any(labels == (("source", "relay"),) for _, labels in settled)
    runtime.app.incidents.report_incident(report_input(runtime.app.core.clock.now()), alice)
    runtime.app.incidents.report_incident(report_input(runtime.app.core.clock.now()), alice)
    behind = lags(scrape(runtime))
    assert set(behind) == {
        "board",
        "obligations",
        "tasks",
        "people",
        "notifications",
        "alerts",
        "policy.playbooks",
        "policy.containment",
        "policy.notices",
        "policy.mailbox",
        "chain",
    }
    assert set(behind.values()) == {2}
    runtime.settle()
    assert set(lags(scrape(runtime)).values()) == {0}


def test_obligation_deadlines_drive_the_alert_gauges(runtime: Runtime, clock: ManualClock) -> None:
    """An open obligation is on track, then due soon an hour before its deadline, then
    overdue; the time to the nearest deadline follows the clock."""
    run_demo(runtime.app)
    runtime.settle()
    deadlines = sorted(
        r["deadline"] for r in runtime.obligations.rows(open_only=True) if r["deadline"]
    )
    assert deadlines
    nearest = datetime.fromisoformat(deadlines[0])
    assert nearest.tzinfo is not None
    on_track = scrape(runtime)
    assert value(on_track, "breach_obligations_open", urgency="overdue") == 0
    assert value(on_track, "breach_obligations_open", urgency="on_track") == len(deadlines)
    clock.current = nearest - timedelta(hours=1)
    soon = scrape(runtime)
    assert value(soon, "breach_obligations_open", urgency="due_soon") >= 1
    assert value(soon, "breach_obligations_open", urgency="overdue") == 0
    assert 3500 < value(soon, "breach_obligation_next_deadline_seconds") <= 3600
    clock.advance(days=30)
    late = scrape(runtime)
    assert value(late, "breach_obligations_open", urgency="overdue") == len(deadlines)
    assert value(late, "breach_obligation_next_deadline_seconds") < 0


def test_alerts_raised_are_counted_by_step(runtime: Runtime, clock: ManualClock) -> None:
    """Each escalation step the alarm clock raises is counted under its step, once."""
    run_demo(runtime.app)
    runtime.settle()
    deadlines = sorted(
        r["deadline"] for r in runtime.obligations.rows(open_only=True) if r["deadline"]
    )
    assert deadlines
    clock.current = datetime.fromisoformat(deadlines[0]) - timedelta(minutes=30)
    raised = runtime.alarm_clock().scan()
    assert raised
    runtime.settle()
    assert runtime.alarm_clock().scan() == []
    runtime.settle()
    first = raised_by_step(scrape(runtime))
    assert first["due_1h"] >= 1
    assert sum(first.values()) == len(raised)
    clock.advance(days=30)
    late = runtime.alarm_clock().scan()
    assert late
    runtime.settle()
    then = raised_by_step(scrape(runtime))
    assert then["overdue"] - first.get("overdue", 0) >= 1
    assert sum(then.values()) == len(raised) + len(late)


def raised_by_step(samples: Samples) -> dict[str, float]:
    """The alerts-raised counter's samples, by step."""
    return {
        dict(labels)["step"]: v
        for (name, labels), v in samples.items()
        if name == "breach_alerts_raised_total"
    }


@pytest.fixture
def dispatched(settings: Settings, tmp_path: Path) -> Iterator[Runtime]:
    """A runtime whose people campaign of 20 was sent, two addresses refused for good."""
    rt = bootstrap(settings, configure_logs=False)
    alice = RequestContext(actor="alice")
    incident = rt.app.incidents.report_incident(report_input(rt.app.core.clock.now()), alice)
    rows = [person(i) for i in range(20)]
    rt.app.people.import_people(incident.id, write_csv(tmp_path / "people.csv", rows), alice)
    rt.settle()
    campaign = rt.app.notifications.draft_campaign(
        incident.id, {"audience": "people", **CONTENT}, alice
    )
    rt.app.notifications.preview_campaign(campaign.id, alice)
    rt.app.notifications.approve_campaign(campaign.id, dpo_of(rt, RequestContext(actor="dpo")))
    rt.app.notifications.start_dispatch(campaign.id, alice)
    rt.settle()
    refused = [rows[3]["email"], rows[11]["email"]]
    with smtp_sink(tmp_path, "--fail-to", refused[0], "--fail-to", refused[1]) as sink:
        asyncio.run(rt.dispatcher(SmtpTarget("127.0.0.1", sink.port)).run())
    run_demo(rt.app)
    rt.settle()
    yield rt
    rt.close()


def test_sent_and_failed_notices_are_counted(dispatched: Runtime) -> None:
    """18 notices sent and 2 failed: the status gauges, attempts and campaigns say so."""
    samples = scrape(dispatched)
    assert value(samples, "breach_notices", status="sent") == 18
    assert value(samples, "breach_notices", status="failed") == 2
    for status in ("queued", "sending", "deferred", "uncertain", "suppressed"):
        assert value(samples, "breach_notices", status=status) == 0
    assert value(samples, "breach_notice_attempts_total") == 20
    assert value(samples, "breach_campaigns", status="completed") == 1


def test_no_label_value_carries_a_title_an_address_or_an_id(dispatched: Runtime) -> None:
    """With incidents, people and notices in the ledger, every label value is free of
    titles, email addresses and identifiers."""
    text = generate_latest(registry(dispatched)).decode()
    titles = {r["title"] for r in dispatched.board.store.query("SELECT title FROM board")}
    assert DEMO_TITLE in titles
    emails = {person(i)["email"] for i in range(20)}
    values = {
        v
        for family in text_string_to_metric_families(text)
        for s in family.samples
        for v in s.labels.values()
    }
    assert values
    for label in values:
        assert label not in titles
        assert "@" not in label
        assert not UUID_LIKE.search(label)
        assert not any(e in label for e in emails)
    assert not any(t in text for t in titles)
    assert not UUID_LIKE.search(text)


def test_api_serves_a_parsable_exposition_without_credentials(runtime: Runtime) -> None:
    """GET /metrics answers the text format unauthenticated (OpenMetrics when asked), each
    family once, with the process metrics, on one registry kept from scrape to scrape."""
    run_demo(runtime.app)
    with TestClient(create_app(runtime)) as client:
        first = client.get("/metrics")
        second = client.get("/metrics")
        negotiated = client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/plain; version=")
    helps = re.findall(r"^# HELP (\S+)", first.text, re.M)
    assert len(helps) == len(set(helps))
    samples = parse(second.text)
    assert (
        value(samples, "breach_events_appended_total")
        == runtime.app.core.recorder.max_notification_id()
    )
    assert value(samples, "breach_events_by_kind_total", kind="incident") > 0
    assert ("process_cpu_seconds_total", ()) in samples
    assert negotiated.headers["content-type"].startswith("application/openmetrics-text")
    families = {f.name for f in openmetrics_families(negotiated.text)}
    assert {"breach_events_appended", "breach_obligations_open"} <= families
    assert all(
        value(samples, "breach_metrics_source_ok", source=s) == 1
        for s in ("log", "views", "policies", "audit_chain", "notices", "obligations")
    )


def test_a_part_that_cannot_be_read_is_reported_and_the_rest_still_served(
    runtime: Runtime, settings: Settings
) -> None:
    """With the notices table gone from the views, the notices source reads 0 and the
    other parts still answer."""
    RawStore(settings).run("views", "DROP TABLE notices")
    samples = scrape(runtime)
    assert value(samples, "breach_metrics_source_ok", source="notices") == 0
    assert value(samples, "breach_metrics_source_ok", source="obligations") == 1
    assert not any(name == "breach_notices" for name, _ in samples)
    assert value(samples, "breach_feed_lag_events", role="view", worker="board") == 0


def test_worker_metrics_server_answers_on_loopback_and_stops(runtime: Runtime) -> None:
    """serve_metrics listens on 127.0.0.1 (any free port), answers the exposition, and
    releases the port when stopped."""
    server = serve_metrics(runtime, 0)
    try:
        assert server.host == "127.0.0.1"
        with urllib.request.urlopen(server.url, timeout=5) as answer:
            samples = parse(answer.read().decode())
        assert value(samples, "breach_events_appended_total") == 0
    finally:
        server.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(server.url, timeout=2)


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.slow
def test_with_kafka_the_lag_follows_the_relay_and_the_consumers(
    broker: Broker,  # noqa: F811
    tmp_path: Path,
    alice: RequestContext,
) -> None:
    """With Kafka, reports put the relay, views and policies behind; once the relay has
    published, only the consumers are; a projection consumer brings the views to zero."""
    settings = broker.settings(tmp_path / "var")
    rt = bootstrap(settings, configure_logs=False)
    try:
        for i in range(6):
            rt.app.incidents.report_incident(
                report_input(rt.app.core.clock.now(), title=f"Stolen phone {i}"), alice
            )
        head = rt.app.core.recorder.max_notification_id()
        assert head == 6
        samples = scrape(rt)
        assert value(samples, "breach_metrics_source_ok", source="relay") == 1
        before = lags(samples)
        assert before["relay"] == head
        assert {before[v] for v in ("board", "obligations", "people", "policy.notices")} == {6}
        relay = Relay(settings, rt.app.core, rt.feed)
        try:
            while relay.step():
                pass
        finally:
            relay.close()
        published = lags(scrape(rt))
        assert published["relay"] == 0
        assert published["board"] == published["policy.playbooks"] == head
        stop = threading.Event()
        consumer = projections_feed(rt, WorkerOptions())
        thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
        thread.start()
        try:
            views = ("board", "obligations", "tasks", "people", "notifications")
            wait_until(lambda: all(lags(scrape(rt))[v] == 0 for v in views), 60, "the views")
        finally:
            stop.set()
            thread.join(30)
        assert lags(scrape(rt))["policy.playbooks"] == head
    finally:
        rt.close()
