"""The relay: publishes every stored event, in log order, to the event stream.

It reads the store feed after its own position, publishes each event's envelope keyed by
aggregate id with an idempotent producer (``acks=all``), and records its position in the
event store's tracking (``relay``, and ``relay@p<partition>`` for the last position published
to each partition) only after the broker acknowledged the whole batch. A broker outage
pauses it (retried with growing pauses, logged); a restart, clean or not, resumes from the
recorded position. Events published but not yet recorded are published again after a crash:
delivery is at least once, and consumers skip what they already applied.

The topic's partition count must not change while it is in use: an aggregate's partition
depends on it, and so does the order of its events.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import structlog
from eventsourcing.persistence import IntegrityError, Notification, Tracking, TrackingRecorder
from kafka import KafkaProducer  # type: ignore[import-untyped]

from services.application.base import LedgerApplication
from services.config import Settings
from services.feeds.envelope import encode
from services.feeds.kafka import client_options, ensure_topic, partition_of, tracked_name
from services.feeds.store import StoreFeed

log = structlog.get_logger()

RELAY = "relay"
"""The tracking name of the relay's position in the log."""


class RelayError(RuntimeError):
    """The broker did not acknowledge a batch."""


class Relay:
    """Publishes the store's events to ``settings.kafka_topic``, at least once, in order."""

    def __init__(
        self,
        settings: Settings,
        app: LedgerApplication,
        feed: StoreFeed,
        *,
        batch_size: int = 500,
        flush_timeout: float = 60.0,
        idle_timeout: float = 1.0,
        backoff: float = 0.5,
        backoff_max: float = 30.0,
    ) -> None:
        self.settings = settings
        self.app = app
        self.feed = feed
        self.batch_size = batch_size
        self.flush_timeout = flush_timeout
        self.idle_timeout = idle_timeout
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.producer: Any = None
        self.partitions = 0
        self.published = 0
        self.failures = 0

    @property
    def recorder(self) -> TrackingRecorder:
        """The event store's tracking, where the relay's positions are kept."""
        recorder = self.app.recorder
        assert isinstance(recorder, TrackingRecorder)
        return recorder

    @property
    def position(self) -> int:
        """The last log position the broker acknowledged (as recorded)."""
        return self.app.tracked_position(RELAY)

    def connect(self) -> None:
        """Create the topic if missing and open an idempotent producer."""
        ensure_topic(self.settings)
        producer = KafkaProducer(
            **client_options(self.settings),
            acks="all",
            enable_idempotence=True,
            max_in_flight_requests_per_connection=1,
            linger_ms=5,
        )
        try:
            found = producer.partitions_for(self.settings.kafka_topic)
        except Exception:
            producer.close(timeout=1)
            raise
        if not found:
            producer.close(timeout=1)
            msg = f"topic {self.settings.kafka_topic} has no partitions"
            raise RelayError(msg)
        self.producer = producer
        self.partitions = len(found)
        log.info(
            "relay.connected",
            topic=self.settings.kafka_topic,
            partitions=self.partitions,
            position=self.position,
        )

    def close(self) -> None:
        """Close the producer (whatever it has not delivered is published again later)."""
        if self.producer is not None:
            try:
                self.producer.close(timeout=1)
            except Exception:  # closing a producer whose broker is away may fail
                log.debug("relay.close_failed")
            self.producer = None

    def publish(self, batch: Sequence[Notification]) -> dict[int, int]:
        """Send a batch and wait until the broker acknowledged every message; return the
        last position sent to each partition."""
        assert self.producer is not None
        futures = []
        last: dict[int, int] = {}
        for notification in batch:
            message = encode(notification, self.app.mapper)
            partition = partition_of(message.aggregate_id, self.partitions)
            futures.append(
                self.producer.send(
                    self.settings.kafka_topic,
                    key=message.key,
                    value=message.value,
                    headers=list(message.headers),
                    partition=partition,
                )
            )
            last[partition] = message.position
        try:
            self.producer.flush(timeout=self.flush_timeout)
        except Exception as e:
            raise RelayError(f"the broker did not acknowledge the batch: {e}") from e
        for future in futures:
            if not future.is_done or future.failed():
                raise RelayError(f"a message was not acknowledged: {future.exception}")
        return last

    def record(self, last: dict[int, int], position: int) -> None:
        """Record what the broker acknowledged: per partition first, then the log position."""
        for partition, at in sorted(last.items()):
            self._track(tracked_name(RELAY, partition), at)
        self._track(RELAY, position)

    def _track(self, name: str, position: int) -> None:
        try:
            self.recorder.insert_tracking(Tracking(name, position))
        except IntegrityError:
            # Another relay recorded this far already: its position stands.
            log.debug("relay.tracking_behind", name=name, position=position)

    def step(self) -> int:
        """Publish the next batch after the recorded position; return how many events."""
        if self.producer is None:
            self.connect()
        start = self.position
        batch = self.feed.read_raw(start, self.batch_size)
        if not batch:
            return 0
        last = self.publish(batch)
        self.record(last, batch[-1].id)
        self.published += len(batch)
        log.info(
            "relay.published",
            first=batch[0].id,
            last=batch[-1].id,
            count=len(batch),
            partitions=len(last),
        )
        return len(batch)

    def run(self, stop: threading.Event) -> None:
        """Publish until ``stop`` is set; an outage pauses and retries with growing pauses."""
        log.info("relay.started", topic=self.settings.kafka_topic, position=self.position)
        try:
            while not stop.is_set():
                try:
                    sent = self.step()
                except Exception as e:
                    self.failures += 1
                    pause = min(self.backoff * 2 ** (self.failures - 1), self.backoff_max)
                    log.warning(
                        "relay.paused",
                        error=f"{type(e).__name__}: {e}",
                        position=self.position,
                        failures=self.failures,
                        retry_in=round(pause, 2),
                    )
                    self.close()
                    stop.wait(pause)
                    continue
                if self.failures:
                    log.info("relay.resumed", position=self.position, after=self.failures)
                    self.failures = 0
                if not sent:
                    self.feed.wait(self.position, self.idle_timeout)
        finally:
            self.close()
            log.info("relay.stopped", position=self.position, published=self.published)
