"""The relay against a real Kafka-protocol broker: order, positions, envelopes, personal
data, a relay killed mid-way, and a broker that stops answering for a while."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from events.incident import IncidentTriaged
from events.values import BreachDetermination
from services.application.context import RequestContext
from services.application.encoding import canonical_json
from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from services.feeds.envelope import decode, encode, plain_mapper
from services.feeds.kafka import partition_of, tracked_name
from services.feeds.relay import RELAY, Relay
from tests.support.broker import (  # noqa: F401  (fixtures)
    BREACH,
    Broker,
    broker,
    kcat_broker,
    own_broker,
    read_topic,
    wait_until,
    worker_env,
)
from tests.support.people import write_csv
from tests.support.reports import report_input

ALICE = RequestContext(actor="alice", correlation_id="req-relay")


@pytest.fixture
def kafka_settings(broker: Broker, tmp_path: Path) -> Settings:  # noqa: F811
    return broker.settings(tmp_path / "var")


@pytest.fixture
def rt(kafka_settings: Settings) -> Iterator[Runtime]:
    runtime = bootstrap(kafka_settings, configure_logs=False)
    yield runtime
    runtime.close()


def record_incidents(rt: Runtime, count: int, notes: int = 2) -> None:
    """``count`` incidents, each with ``notes`` notes (interleaved across incidents)."""
    ids = [
        rt.app.incidents.report_incident(
            report_input(rt.app.core.clock.now(), title=f"Incident {i}"), ALICE
        ).id
        for i in range(count)
    ]
    for n in range(notes):
        for incident in ids:
            rt.app.incidents.add_note(incident, {"text": f"note {n}"}, ALICE)


def drain(relay: Relay) -> None:
    """Publish until the relay has nothing left."""
    while relay.step():
        pass


def test_every_event_is_published_once_in_log_order_per_key_with_its_position(
    rt: Runtime, kafka_settings: Settings
) -> None:
    """60 events of 20 incidents: each once, keyed by incident, in its partition in order,
    header position = envelope position, bytes equal to a fresh encoding of the stored event."""
    record_incidents(rt, 20)
    relay = Relay(kafka_settings, rt.app.core, rt.feed, batch_size=25)
    drain(relay)
    head = rt.feed.head()
    assert head == 60
    assert relay.position == head
    records = read_topic(kafka_settings, head)
    assert len(records) == head
    mapper = plain_mapper(rt.app.core.mapper)
    stored = {n.id: n for n in rt.feed.read_raw(0, 1000)}
    by_key: dict[bytes, list[tuple[int, int]]] = defaultdict(list)
    for r in records:
        item = decode(r.value, mapper)
        envelope = json.loads(r.value)
        assert int(r.headers["position"]) == item.position == envelope["position"]
        assert r.key == str(item.event.originator_id).encode()
        assert r.partition == partition_of(item.event.originator_id, relay.partitions)
        assert r.value == encode(stored[item.position], rt.app.core.mapper).value
        assert envelope["aggregate_version"] == item.event.originator_version
        assert (envelope["actor"], envelope["correlation_id"]) == ("alice", "req-relay")
        by_key[r.key].append((item.position, item.event.originator_version))
    assert sorted(p for pairs in by_key.values() for p, _ in pairs) == list(range(1, head + 1))
    for pairs in by_key.values():
        assert pairs == sorted(pairs)
        assert [v for _, v in pairs] == list(range(1, len(pairs) + 1))
    for p in range(relay.partitions):
        in_partition = [int(r.headers["position"]) for r in records if r.partition == p]
        assert rt.app.core.tracked_position(tracked_name(RELAY, p)) == max(in_partition, default=0)


def test_envelopes_carry_clear_fields_of_encrypted_events_and_decode_through_upcasting(
    broker: Broker,  # noqa: F811
    tmp_path: Path,
) -> None:
    """With the store encrypted at rest, an envelope still holds the event's fields; an
    envelope of a version 1 triage (a boolean determination) decodes upcast to version 2."""
    key = base64.b64encode(os.urandom(32)).decode()
    settings = broker.settings(tmp_path / "var", cipher_key=key)
    runtime = bootstrap(settings, configure_logs=False)
    try:
        incident = runtime.app.incidents.report_incident(
            report_input(runtime.app.core.clock.now()), ALICE
        )
        runtime.app.incidents.triage_incident(
            incident.id, {"severity": "high", "personal_data_breach": "no"}, ALICE
        )
        stored = runtime.feed.read_raw(0, 10)
        assert b"Resumes downloadable" not in stored[0].state
        relay = Relay(settings, runtime.app.core, runtime.feed)
        drain(relay)
        records = read_topic(settings, 2)
        values = {int(r.headers["position"]): r.value for r in records}
        report = json.loads(values[1])
        assert report["payload"]["title"] == "Resumes downloadable without login"
        triage = json.loads(values[2])
        assert (triage["class_version"], triage["payload"]["personal_data_breach"]) == (2, "no")
        triage["class_version"] = 1
        triage["payload"]["personal_data_breach"] = True
        old = decode(canonical_json(triage), plain_mapper(runtime.app.core.mapper))
        assert isinstance(old.event, IncidentTriaged)
        assert old.event.personal_data_breach is BreachDetermination.YES
        assert old.position == 2
    finally:
        runtime.close()


def test_kcat_reads_the_topic_and_no_personal_data_travels_in_clear(
    kcat_broker: Broker,  # noqa: F811
    tmp_path: Path,
) -> None:
    """People imported with planted addresses and names: an independent client (kcat) reads
    every message; the incident's title is there in clear, no planted value is."""
    kafka_settings = kcat_broker.settings(tmp_path / "var")
    rt = bootstrap(kafka_settings, configure_logs=False)
    try:
        _planted_values_stay_sealed(rt, kafka_settings, tmp_path)
    finally:
        rt.close()


def _planted_values_stay_sealed(rt: Runtime, kafka_settings: Settings, tmp_path: Path) -> None:
    incident = rt.app.incidents.report_incident(
        report_input(rt.app.core.clock.now(), title="Exfiltration via careers portal"), ALICE
    )
    planted = [
        {
            "email": f"planted.zq{i}x@victims.example.net",
            "name": f"Plantedname Zq{i}x",
            "language": "en",
            "jurisdiction": "DE",
            "reference": f"PLANTREF-{i:04d}",
            "phone": f"+49 30 5550{i:04d}",
        }
        for i in range(40)
    ]
    rt.app.people.import_people(incident.id, write_csv(tmp_path / "people.csv", planted), ALICE)
    rt.app.people.correct_person(
        rt.app.people.person_on(incident.id, planted[0]["email"]).id,
        {"name": "Correctedname Zq0x", "reason": "typo in the import"},
        ALICE,
    )
    relay = Relay(kafka_settings, rt.app.core, rt.feed)
    drain(relay)
    head = rt.feed.head()
    out = subprocess.run(
        [
            "/usr/bin/kcat",
            "-b",
            str(kafka_settings.kafka_bootstrap_servers),
            "-t",
            kafka_settings.kafka_topic,
            "-C",
            "-e",
            "-q",
            "-f",
            "%p %o %k %h %s\n",
        ],
        capture_output=True,
        timeout=60,
        check=True,
    ).stdout.decode()
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == head == 42
    assert "Exfiltration via careers portal" in out
    assert all(f"position={n}" in out for n in (1, head))
    lowered = out.lower()
    for person in planted:
        for value in (person["email"], person["name"], person["reference"], person["phone"]):
            assert value.lower() not in lowered, value
    assert "correctedname" not in lowered
    for fragment in ("plantedname", "victims.example.net", "plantref"):
        assert fragment not in lowered


@pytest.mark.slow
def test_a_relay_killed_mid_way_and_restarted_loses_nothing(
    rt: Runtime, kafka_settings: Settings
) -> None:
    """SIGKILL while publishing 1,500 events in batches of 20, then a restart: every
    position reaches the topic (some twice), and the relay's position ends at the head."""
    record_incidents(rt, 500)
    head = rt.feed.head()
    env = worker_env(kafka_settings)
    command = [str(BREACH), "worker", "relay", "--batch-size", "20"]
    first = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: rt.app.core.tracked_position(RELAY) >= 200, 60, "the first batches")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    at_kill = rt.app.core.tracked_position(RELAY)
    assert 0 < at_kill < head
    second = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: rt.app.core.tracked_position(RELAY) == head, 60, "the relay to catch up")
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
    records = read_topic(kafka_settings, head)
    positions = [int(r.headers["position"]) for r in records]
    assert set(positions) == set(range(1, head + 1))
    assert len(positions) >= head


@pytest.mark.slow
def test_a_paused_broker_delays_the_relay_but_loses_nothing(
    own_broker: Broker,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The broker stops answering for 4 s while events are being stored: the relay waits,
    then publishes every position after the broker is back."""
    settings = own_broker.settings(tmp_path / "var")
    runtime = bootstrap(settings, configure_logs=False)
    stop = threading.Event()
    relay = Relay(settings, runtime.app.core, runtime.feed, batch_size=50, flush_timeout=30)
    thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    try:
        record_incidents(runtime, 10)
        thread.start()
        wait_until(lambda: relay.position == runtime.feed.head(), 30, "the first events")
        before = relay.position
        with own_broker.paused():
            record_incidents(runtime, 30)
            time.sleep(4)
            assert relay.position == before
        head = runtime.feed.head()
        wait_until(lambda: relay.position == head, 60, "the relay to resume")
        stop.set()
        thread.join(30)
        records = read_topic(settings, head)
        assert {int(r.headers["position"]) for r in records} == set(range(1, head + 1))
    finally:
        stop.set()
        thread.join(30)
        runtime.close()
