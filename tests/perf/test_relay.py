"""Benchmarks of the distributed mode, each against a raw baseline measured in the same run.

1. Relay throughput: a log of 50,000 events (10,000 incidents, each reported and noted four
   times, saved through the application in batches, notes interleaved across incidents) on
   the embedded SQLite store and on PostgreSQL; the relay publishes it to a fresh topic and
   is timed until the broker acknowledged the last batch and the relay recorded it. Baseline:
   plain kafka-python producing the same messages (the relay's envelope bytes, keys, headers
   and partitions, encoded beforehand) with the relay's producer settings, to a fresh topic
   with the same partitions, flushed once at the end. Also printed, to show where the time
   goes: the same producer flushing every batch (as the relay waits for each), and the
   relay's reading and encoding of the log alone, without sending.

2. Lag from a save to the views: while 200 events a second are saved for 20 seconds (one
   incident reported, then four notes), the time from each save's return to the moment the
   view store's tracking shows the event's position in its stream, for the board view (the
   first applied) and for all five views. Distributed: a relay process and a projection
   worker process (Kafka feed); baseline: every view's ProjectionWorker on the store feed,
   in the saving process (as ``breach serve`` runs them). On SQLite and on PostgreSQL (where
   the relay is woken by the server as soon as an event is stored).

Not pass/fail (only what makes the figures meaningless is asserted); every process started
is stopped and every PostgreSQL schema dropped, whatever happens.
"""

from __future__ import annotations

import logging
import os
import platform
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import kafka  # type: ignore[import-untyped]
import psycopg
import structlog
from kafka import KafkaProducer

from events.base import Cause
from events.incident import Incident
from events.values import IncidentType, LegalMoments, SourceChannel
from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from services.feeds.envelope import Message, encode
from services.feeds.kafka import (
    GroupTiming,
    ensure_topic,
    partition_of,
    stream_of,
)
from services.feeds.relay import Relay
from services.server.distributed import WorkerOptions
from tests.perf.lag import Appender, Lags, Watch
from tests.support import postgres
from tests.support.broker import (  # noqa: F401  (fixture)
    Broker,
    WorkerProcess,
    own_broker,
    start_worker,
    tansu_binary,
)
from tests.support.store import Store

STORES = ("sqlite", "postgres")
EVENTS = 50_000
CHUNK = 5_000
"""Events each publisher sends before the next takes its turn."""
NOTES = 4
"""Notes per incident in the relay's log (each incident: a report and this many notes)."""
PARTITIONS = Settings.model_fields["kafka_partitions"].default
RELAY_BATCH = WorkerOptions().batch_size
RATE = 200
SECONDS = 20
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def quiet() -> None:
    """Keep the application's info lines out of the figures (the default level, warning)."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


@contextmanager
def store_settings(
    kind: str, broker: Broker, data_dir: Path, **values: Any
) -> Iterator[tuple[Settings, dict[str, str]]]:
    """Settings of a fresh store of ``kind`` on a fresh topic, and what a worker process needs
    in its environment besides; a PostgreSQL schema is dropped afterwards."""
    if kind == "sqlite":
        yield broker.settings(data_dir, **values), {}
        return
    with postgres.fresh_schema() as schema:
        settings = broker.settings(
            data_dir,
            database_url=postgres.URL,
            database_schema=schema,
            **postgres.SECRETS,
            **values,
        )
        env = {k: v for k, v in Store("postgres", schema).env().items() if os.environ.get(k) != v}
        yield settings, env


# ---------------------------------------------------------------------------------------------
# 1. Relay throughput


def load_log(rt: Runtime, events: int) -> float:
    """Save ``events`` events through the application: batches of 200 incidents reported,
    then noted in rounds; return the seconds it took."""
    started = time.perf_counter()
    made = 0
    batch = 0
    while made < events:
        cause = Cause(
            actor="bench", correlation_id=f"load-{batch}", at=T0 + timedelta(seconds=batch)
        )
        incidents: list[Incident] = []
        while made < events and len(incidents) < 200:
            incidents.append(
                Incident.report(
                    cause,
                    incident_id=uuid4(),
                    title=f"Incident {made}: suspicious access to the HR share",
                    description="Bulk downloads of CVs from the careers portal.",
                    reporter="bench",
                    source=SourceChannel.MONITORING,
                    incident_type=IncidentType.PHISHING,
                    moments=LegalMoments(discovered_at=T0),
                )
            )
            made += 1
        rt.app.core.save_aggregates(incidents)
        for n in range(NOTES):
            noted = incidents[: max(0, min(len(incidents), events - made))]
            for incident in noted:
                incident.add_note(cause, text=f"Note {n}: checked the proxy logs.")
            made += len(noted)
            if noted:
                rt.app.core.save_aggregates(noted)
        batch += 1
    return time.perf_counter() - started


def encode_log(rt: Runtime, head: int) -> tuple[list[Message], float]:
    """The relay's messages for the whole log, read and encoded in the relay's batches; and
    the seconds that took."""
    started = time.perf_counter()
    out: list[Message] = []
    position = 0
    while position < head:
        batch = rt.feed.read_raw(position, RELAY_BATCH)
        out.extend(encode(n, rt.app.core.mapper) for n in batch)
        position = batch[-1].id
    return out, time.perf_counter() - started


def producer_settings(relay: Relay) -> dict[str, Any]:
    """The options the relay's producer was created with (those that differ from
    kafka-python's defaults, the version it probed left out)."""
    defaults = KafkaProducer.DEFAULT_CONFIG
    used = {
        k: v
        for k, v in relay.producer.config.items()
        if k in defaults and v != defaults[k] and k != "api_version"
    }
    return {"acks": "all", "enable_idempotence": True, **used}


class Plain:
    """A plain kafka-python producer of the relay's options, sending pre-encoded messages to
    a fresh topic of its own (same partitions), flushing once per chunk or every
    ``flush_every`` messages; its sending time is summed over the chunks."""

    def __init__(
        self, settings: Settings, options: dict[str, Any], topic: str, flush_every: int = 0
    ) -> None:
        ensure_topic(settings.model_copy(update={"kafka_topic": topic}))
        self.topic = topic
        self.flush_every = flush_every
        self.producer = KafkaProducer(**options)
        assert len(self.producer.partitions_for(topic)) == PARTITIONS
        self.futures: list[Any] = []
        self.seconds = 0.0

    def send(self, chunk: list[tuple[bytes, bytes, list[tuple[str, bytes]], int]]) -> None:
        """Send a chunk and wait until the broker acknowledged all of it."""
        started = time.perf_counter()
        for i, (key, value, headers, partition) in enumerate(chunk, 1):
            self.futures.append(
                self.producer.send(
                    self.topic, key=key, value=value, headers=headers, partition=partition
                )
            )
            if self.flush_every and i % self.flush_every == 0:
                self.producer.flush()
        self.producer.flush()
        self.seconds += time.perf_counter() - started

    def close(self) -> None:
        """Check every message was acknowledged, and close the producer."""
        try:
            assert all(f.is_done and f.succeeded() for f in self.futures)
        finally:
            self.producer.close(timeout=5)


class Relaying:
    """The relay, connected beforehand, publishing the log a chunk at a time; its time is
    summed over the chunks, and split into its parts: encoding, sending and waiting for the
    broker (``publish``), recording its positions (``record``), and the rest (reading)."""

    def __init__(self, settings: Settings, rt: Runtime) -> None:
        self.relay = Relay(settings, rt.app.core, rt.feed, batch_size=RELAY_BATCH)
        self.relay.connect()
        self.seconds = 0.0
        self.parts = {"publish": 0.0, "record": 0.0}
        for name in self.parts:
            setattr(self.relay, name, self._timed(name, getattr(self.relay, name)))

    def _timed(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args)
            finally:
                self.parts[name] += time.perf_counter() - started

        return timed

    def send(self, last: int) -> None:
        """Publish until the broker acknowledged, and the relay recorded, position ``last``."""
        started = time.perf_counter()
        while self.relay.position < last:
            assert self.relay.step()
        self.seconds += time.perf_counter() - started


def race(
    settings: Settings, rt: Runtime, messages: list[Message]
) -> tuple[dict[str, float], dict[str, Any]]:
    """Publish the log three ways, interleaved chunk by chunk (in rotating order, so that a
    busy spell of the machine weighs on each alike): by the relay, and by two plain
    producers of the relay's settings; the seconds each took in all, and its options."""
    relaying = Relaying(settings, rt)
    options = producer_settings(relaying.relay)
    topic = settings.kafka_topic
    once = Plain(settings, options, f"{topic}-plain")
    batched = Plain(settings, options, f"{topic}-batched", flush_every=RELAY_BATCH)
    prepared = [
        (m.key, m.value, list(m.headers), partition_of(m.aggregate_id, PARTITIONS))
        for m in messages
    ]
    try:
        for i in range(0, len(messages), CHUNK):
            chunk = prepared[i : i + CHUNK]
            last = messages[min(i + CHUNK, len(messages)) - 1].position
            runs = [
                partial(relaying.send, last),
                partial(once.send, chunk),
                partial(batched.send, chunk),
            ]
            turn = (i // CHUNK) % len(runs)
            for run in runs[turn:] + runs[:turn]:
                run()
    finally:
        relaying.relay.close()
        once.close()
        batched.close()
    assert relaying.relay.published == len(messages) == rt.feed.head()
    seconds = {
        "relay": relaying.seconds,
        "plain": once.seconds,
        "batched": batched.seconds,
        **relaying.parts,
    }
    return seconds, options


def test_relay_throughput_against_a_plain_producer(own_broker: Broker, tmp_path: Path) -> None:  # noqa: F811
    """events/s from the store to the broker through the relay, on SQLite and PostgreSQL, and
    the rate of plain kafka-python producing the same messages, with their ratio."""
    quiet()
    print(context_lines())
    print(
        f"\nRelay throughput: a log of {EVENTS:,} events ({EVENTS // (NOTES + 1):,} incidents, "
        f"a report and {NOTES} notes each) to fresh topics of {PARTITIONS} partitions; relay "
        f"batches of {RELAY_BATCH}; the three publishers take turns, {CHUNK:,} events at a time"
    )
    options: dict[str, Any] = {}
    for kind in STORES:
        with store_settings(kind, own_broker, tmp_path / kind, kafka_partitions=PARTITIONS) as (
            settings,
            _,
        ):
            rt = bootstrap(settings, configure_logs=False)
            try:
                loaded = load_log(rt, EVENTS)
                head = rt.feed.head()
                assert head == EVENTS
                messages, encoding = encode_log(rt, head)
                seconds, options = race(settings, rt, messages)
            finally:
                rt.close()
        mean_bytes = sum(len(m.value) for m in messages) / len(messages)
        raw, ours = seconds["plain"], seconds["relay"]
        print(
            f"  {kind}: log saved in {loaded:.1f} s; envelopes of {mean_bytes:,.0f} bytes on "
            "average"
        )
        print(rate("plain kafka-python, pre-encoded (baseline)", head, raw))
        print(rate(f"plain kafka-python, flushing every {RELAY_BATCH}", head, seconds["batched"]))
        print(rate("relay: reading + encoding alone (no broker)", head, encoding))
        print(rate("relay: store to broker, acknowledged, recorded", head, ours))
        publish, record = seconds["publish"], seconds["record"]
        print(
            f"      of which encoding, sending, waiting for acks {publish:.1f} s; recording "
            f"positions {record:.1f} s ({head // RELAY_BATCH} batches); reading "
            f"{ours - publish - record:.1f} s"
        )
        print(
            f"    ratio, relay time / baseline time: {ours / raw:.2f} (/ the plain producer "
            f"flushing every {RELAY_BATCH}: {ours / seconds['batched']:.2f})"
        )
    print(f"  producer settings (the relay's, used by the baseline too): {printable(options)}")


def rate(label: str, events: int, seconds: float) -> str:
    """One line of the throughput figures."""
    return f"    {label:<50}{events / seconds:>8,.0f} events/s ({seconds:.1f} s)"


def printable(options: dict[str, Any]) -> str:
    """Producer options without the connection details."""
    shown = {k: v for k, v in options.items() if k not in ("bootstrap_servers", "client_id")}
    return ", ".join(f"{k}={v}" for k, v in sorted(shown.items()))


# ---------------------------------------------------------------------------------------------
# 2. Lag from a save to the views


def measure(rt: Runtime, kind: str, stream: Any, streams: set[str]) -> tuple[Lags, Lags, str]:
    """Warm up, save steadily, and wait for the views; the lags to the first view and to all
    of them, and a line on the run (rate achieved, save time, poll period)."""
    views = [w.projection.name for w in rt.views.workers]
    watch = Watch(rt, kind, views)
    watch.start()
    try:
        appender = Appender(rt, stream, watch)
        appender.warm_up(streams, timeout=120)
        saved, achieved = appender.steady(RATE, SECONDS)
        watch.wait_for(saved, timeout=120)
    finally:
        watch.stop()
    first = Lags.of(saved, watch.seen.first)
    every = Lags.of(saved, watch.seen.every)
    saves = sorted(appender.save_seconds)
    period = (watch.busy / max(watch.rounds, 1) + watch.pause) * 1000
    note = (
        f"{len(saved):,} saves at {achieved:,.0f}/s, save p50 {saves[len(saves) // 2] * 1000:.1f}"
        f" ms, watch round ~{period:.1f} ms"
    )
    return first, every, note


def in_process(kind: str, broker: Broker, data_dir: Path) -> tuple[Lags, Lags, str]:
    """Lags with every view's ProjectionWorker on the store feed, in this process."""
    poll = Settings.model_fields["feed_poll_interval"].default
    with store_settings(
        kind, broker, data_dir, kafka_bootstrap_servers=None, feed_poll_interval=poll
    ) as (settings, _):
        rt = bootstrap(settings, configure_logs=False)
        stop = threading.Event()
        threads = rt.views.start(stop)
        try:
            return measure(rt, kind, lambda _: "", {""})
        finally:
            stop.set()
            for t in threads:
                t.join(10)
            rt.close()


def distributed(
    kind: str, broker: Broker, data_dir: Path, poll_interval: float
) -> tuple[Lags, Lags, str]:
    """Lags with a relay process and a projection worker process (Kafka feed), the relay
    polling the store every ``poll_interval`` seconds."""
    with store_settings(kind, broker, data_dir, kafka_partitions=PARTITIONS) as (settings, env):
        rt = bootstrap(settings, configure_logs=False)
        ensure_topic(settings)
        env = {
            **env,
            "BREACH_LOG_LEVEL": "warning",
            "BREACH_FEED_POLL_INTERVAL": str(poll_interval),
        }
        workers: list[WorkerProcess] = []
        try:
            for worker in ("projections", "relay"):
                workers.append(start_worker(settings, worker, data_dir / "logs", env=env))

            def stream(incident: UUID) -> str:
                return stream_of(partition_of(incident, PARTITIONS))

            streams = {stream_of(p) for p in range(PARTITIONS)}
            return measure(rt, kind, stream, streams)
        finally:
            for w in workers:
                try:
                    w.terminate(30)
                finally:
                    w.kill()
            rt.close()


def test_lag_from_save_to_views_against_the_store_feed(own_broker: Broker, tmp_path: Path) -> None:  # noqa: F811
    """p50/p99/max ms from a save's return to the views' tracking reaching its position,
    through the relay and a projection worker process, and through the store feed in
    process, with their ratios."""
    quiet()
    poll = Settings.model_fields["feed_poll_interval"].default
    timing = GroupTiming()
    print(context_lines())
    print(
        f"\nLag from a save's return to the views' tracking showing its position: "
        f"{RATE} saves/s for {SECONDS} s (an incident reported, then 4 notes), {PARTITIONS} "
        f"partitions; the relay polls the store every {poll} s (the default; on PostgreSQL "
        f"the server also wakes it, LISTEN/NOTIFY), publishes in batches of up to "
        f"{RELAY_BATCH}; the worker polls up to {RELAY_BATCH} records, fetch wait "
        f"{timing.fetch_wait_ms} ms"
    )
    header = f"  {'':<44}{'board view (ms)':>26}{'all five views (ms)':>26}"
    columns = f"  {'':<44}" + f"{'p50':>8}{'p99':>9}{'max':>9}" * 2
    rows = [header, columns]
    for kind in STORES:
        base = in_process(kind, own_broker, tmp_path / f"{kind}-local")
        ours = distributed(kind, own_broker, tmp_path / f"{kind}-kafka", poll)
        fast = distributed(kind, own_broker, tmp_path / f"{kind}-kafka-fast", 0.05)
        rows += [
            row(f"{kind}: store feed, in process (baseline)", base[0], base[1], "ms"),
            row(f"{kind}: relay + worker process (poll {poll} s)", ours[0], ours[1], "ms"),
            row("    ratio to baseline", ours[0].ratio(base[0]), ours[1].ratio(base[1]), "x"),
            row("  relay + worker process (poll 0.05 s)", fast[0], fast[1], "ms"),
            row("    ratio to baseline", fast[0].ratio(base[0]), fast[1].ratio(base[1]), "x"),
            f"    runs: baseline {base[2]}; relay {ours[2]}; relay 0.05 s {fast[2]}",
        ]
    print("\n".join(rows))


def row(label: str, first: Lags, every: Lags, unit: str) -> str:
    """One line of the lag table."""
    if unit == "x":
        cells = "".join(f"{v:>8.1f}x" for v in (first.p50, first.p99, first.max))
        cells += "".join(f"{v:>8.1f}x" for v in (every.p50, every.p99, every.max))
        return f"  {label:<44}{cells}"
    cells = "".join(f"{v:>8.1f}{'':1}" for v in (first.p50, first.p99, first.max))
    cells += "".join(f"{v:>8.1f}{'':1}" for v in (every.p50, every.p99, every.max))
    return f"  {label:<44}{cells}"


# ---------------------------------------------------------------------------------------------
# Context


def context_lines() -> str:
    """The machine and the software the figures were measured on."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    tansu = subprocess.run(
        [str(tansu_binary()), "--version"], capture_output=True, text=True, timeout=10
    ).stdout.strip()
    with psycopg.connect(postgres.URL, connect_timeout=5) as conn:
        row_ = conn.execute("SHOW server_version").fetchone()
    pg = row_[0] if row_ else "?"
    return (
        f"\nMachine: {cpu}, {os.cpu_count()} cores ({usable} usable), load average {load}; "
        f"Python {platform.python_version()}, kafka-python {kafka.__version__}, {tansu} "
        f"(in memory, loopback), PostgreSQL {pg} (loopback), SQLite {sqlite3.sqlite_version}"
    )
