"""The Kafka feed: consumer groups read the event stream and hand each partition's batches to
the same projections and policies the store feed drives.

Every partition is a stream of the log whose positions increase (the relay publishes in log
order, keyed by aggregate id, so an aggregate's events keep their order). Projections apply
a partition's batch with ``stream="p<partition>"``: the view store tracks each view's
position per partition and compares-and-sets it, so a redelivered event is skipped. Policies
save their reactions with a tracking record named ``<policy>@p<partition>``; a second
delivery of an event fails that record and changes nothing. Offsets are committed after a
batch is applied, so a worker killed mid-batch resumes from the last committed offset and
skips what its views or policies already recorded.

Order across aggregates is not kept between partitions. What that means for each
projection and policy:

- board, obligations, tasks, people, notifications: every row is written from the events of
  one aggregate (an incident's rows from incident events, a task's from its task events,
  ...); reads join rows of different aggregates, so a reader may briefly see one aggregate
  ahead of another (a task before its incident's title), never a wrong row.
- playbook and containment policies: they decide from the aggregates' current state in the
  store, not from the order events arrive in, and do nothing when the state already says
  it was done.
- notice queueing reads the people view: it waits until that view has applied, in every
  partition, what the relay had published when the campaign's dispatch started (see
  :class:`services.feeds.pipeline.Pipeline`), so nobody imported before the start is missed.
- the dispatcher completes a campaign only when the notifications view holds as many notices
  as the campaign queued, all final (a notice's partition may lag its campaign's).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.persistence import Mapper
from kafka import KafkaConsumer  # type: ignore[import-untyped]
from kafka.admin import KafkaAdminClient, NewTopic  # type: ignore[import-untyped]
from kafka.errors import KafkaError, TopicAlreadyExistsError  # type: ignore[import-untyped]
from kafka.partitioner.default import murmur2  # type: ignore[import-untyped]
from kafka.structs import OffsetAndMetadata  # type: ignore[import-untyped]

from services.config import Settings
from services.feeds.base import Positioned
from services.feeds.envelope import decode, plain_mapper
from services.feeds.processor import Processor, offer, tracking_key

log = structlog.get_logger()


@dataclass(frozen=True)
class GroupTiming:
    """How a consumer keeps its group membership: a member silent for ``session_ms`` is
    dropped and its partitions shared out again; heartbeats go every ``heartbeat_ms``."""

    session_ms: int = 6000
    heartbeat_ms: int = 1000
    max_poll_interval_ms: int = 300_000
    fetch_wait_ms: int = 100
    """How long the broker may hold a fetch that finds nothing new (bounds the latency
    of a new event where a broker does not answer as soon as one arrives)."""


def stream_of(partition: int) -> str:
    """The name of a partition as a stream of the log (tracked as ``<name>@p<partition>``)."""
    return f"p{partition}"


def tracked_name(name: str, partition: int) -> str:
    """The tracking name of a view, policy or the relay in one partition."""
    return tracking_key(name, stream_of(partition))


def partition_of(aggregate_id: UUID, partitions: int) -> int:
    """The partition an aggregate's events go to: Kafka's default (murmur2 of the key,
    as the Java client computes it), over ``partitions`` partitions."""
    return int(murmur2(str(aggregate_id).encode()) & 0x7FFFFFFF) % partitions


def client_options(settings: Settings) -> dict[str, Any]:
    """Connection options of every Kafka client, from the settings."""
    if not settings.kafka_bootstrap_servers:
        msg = "BREACH_KAFKA_BOOTSTRAP_SERVERS is not set"
        raise ValueError(msg)
    options: dict[str, Any] = {
        "bootstrap_servers": [
            s.strip() for s in settings.kafka_bootstrap_servers.split(",") if s.strip()
        ],
        "security_protocol": settings.kafka_security_protocol,
        "client_id": "breachledger",
    }
    if settings.kafka_sasl_mechanism:
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        if settings.kafka_sasl_password is not None:
            options["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return options


def ensure_topic(settings: Settings) -> None:
    """Create the topic with the configured partitions unless it exists (replicated on up to
    three brokers)."""
    admin = KafkaAdminClient(**client_options(settings))
    try:
        brokers = len(admin.describe_cluster().get("brokers") or [None])
        topic = NewTopic(
            settings.kafka_topic,
            num_partitions=settings.kafka_partitions,
            replication_factor=min(3, max(brokers, 1)),
        )
        try:
            admin.create_topics([topic])
            log.info(
                "kafka.topic_created",
                topic=settings.kafka_topic,
                partitions=settings.kafka_partitions,
            )
        except TopicAlreadyExistsError:
            pass
    finally:
        admin.close()


def topic_partitions(settings: Settings, timeout: float = 30.0) -> int:
    """How many partitions the topic has (waits up to ``timeout`` for it to appear)."""
    consumer = KafkaConsumer(**client_options(settings))
    try:
        deadline = time.monotonic() + timeout
        while True:
            found = consumer.partitions_for_topic(settings.kafka_topic)
            if found:
                return len(found)
            if time.monotonic() > deadline:
                msg = f"topic {settings.kafka_topic} has no partitions"
                raise RuntimeError(msg)
            time.sleep(0.2)
    finally:
        consumer.close()


class KafkaFeed:
    """A member of the consumer group ``<prefix>.<kind>``: polls the partitions the group
    assigns it, offers each partition's batch to every processor (in order, each taking
    what it has not handled in that partition's stream), then commits the offsets."""

    def __init__(
        self,
        settings: Settings,
        kind: str,
        mapper: Mapper[UUID],
        processors: Sequence[Processor[Positioned]],
        *,
        batch_size: int = 500,
        timing: GroupTiming | None = None,
        poll_ms: int = 500,
        retry_pause: float = 1.0,
    ) -> None:
        self.settings = settings
        self.kind = kind
        self.group = f"{settings.kafka_group_prefix}.{kind}"
        self.mapper = plain_mapper(mapper)
        self.processors = list(processors)
        self.batch_size = batch_size
        self.timing = timing or GroupTiming()
        self.poll_ms = poll_ms
        self.retry_pause = retry_pause
        self.applied = 0

    def consumer(self) -> Any:
        """A consumer in this feed's group, subscribed to the topic."""
        consumer = KafkaConsumer(
            **client_options(self.settings),
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.batch_size,
            session_timeout_ms=self.timing.session_ms,
            heartbeat_interval_ms=self.timing.heartbeat_ms,
            max_poll_interval_ms=self.timing.max_poll_interval_ms,
            fetch_max_wait_ms=self.timing.fetch_wait_ms,
        )
        consumer.subscribe([self.settings.kafka_topic])
        return consumer

    def _commit(self, consumer: Any, tp: Any, offset: int) -> None:
        try:
            consumer.commit({tp: OffsetAndMetadata(offset, "", -1)})
        except KafkaError as e:
            # The partition moved to another member (or the broker is away): the next owner
            # reads from the last committed offset and skips what was applied here.
            log.warning(
                "kafka.commit_failed", group=self.group, partition=tp.partition, error=str(e)
            )

    def handle(self, partition: int, items: Sequence[Positioned]) -> int:
        """Offer a partition's batch to every processor; return how many events were applied
        (summed over processors; 0 when all were already applied)."""
        return offer(self.processors, items, stream_of(partition))

    def poll_once(self, consumer: Any, stop: threading.Event) -> int:
        """Poll one round of records and handle them; return the events applied."""
        records: dict[Any, list[Any]] = consumer.poll(timeout_ms=self.poll_ms)
        applied = 0
        for tp, batch in sorted(records.items(), key=lambda kv: kv[0].partition):
            if stop.is_set():
                consumer.seek(tp, batch[0].offset)
                continue
            try:
                items = [decode(r.value, self.mapper) for r in batch]
                applied += self.handle(tp.partition, items)
            except Exception:
                log.exception(
                    "kafka.batch_failed",
                    group=self.group,
                    partition=tp.partition,
                    offset=batch[0].offset,
                )
                consumer.seek(tp, batch[0].offset)
                stop.wait(self.retry_pause)
                continue
            self._commit(consumer, tp, batch[-1].offset + 1)
        self.applied += applied
        return applied

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set (the batch in hand is finished and committed)."""
        consumer = self.consumer()
        log.info("kafka.consuming", group=self.group, topic=self.settings.kafka_topic)
        assigned: set[int] = set()
        try:
            while not stop.is_set():
                self.poll_once(consumer, stop)
                now = {tp.partition for tp in consumer.assignment()}
                if now != assigned:
                    assigned = now
                    log.info("kafka.assigned", group=self.group, partitions=sorted(now))
        finally:
            consumer.close(autocommit=False)
            log.info("kafka.stopped", group=self.group, applied=self.applied)
