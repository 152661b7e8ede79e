"""Scale-out worker processes: the relay, projection and policy consumers, the dispatcher.

Each ``breach worker KIND`` process runs one kind until SIGTERM (it finishes the batch in
hand first) and resumes, after any stop, from tracked positions and committed offsets:

- ``relay``: publishes stored events to the topic (:class:`services.feeds.relay.Relay`);
- ``projections``: consumer group ``<prefix>.projections``, keeps every view;
- ``policies``: consumer group ``<prefix>.policies``, runs every policy;
- ``dispatcher``: sends due notices from the notifications view the projection workers keep;
- ``chain``: extends the audit chain over the store (signed checkpoints as it goes);
- ``alerts``: the alarm clock raising escalation steps, and the alert mailer emailing them;
- ``webhooks``: the webhook senders.

Run as many projection, policy and dispatcher processes as needed: the group shares the
partitions out among its members, and dispatchers coordinate through aggregate versions.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import structlog

from services.audit.chain import ChainWorker
from services.bootstrap import Runtime, dispatch_settings, webhook_retry, webhook_sending
from services.feeds.kafka import GroupTiming, KafkaFeed
from services.feeds.pipeline import Pipeline, PipelineTimeout, people_as_of
from services.feeds.relay import Relay
from services.feeds.running import keep_running, supervised
from services.notifications.dispatcher import DeliveryCheck, Dispatcher
from services.notifications.views import NoticeQueueView
from services.smtp_target import SmtpTarget
from services.webhooks.delivery import WebhookWorkers

log = structlog.get_logger()


class Kind(StrEnum):
    """The kinds of worker process."""

    PROJECTIONS = "projections"
    POLICIES = "policies"
    DISPATCHER = "dispatcher"
    RELAY = "relay"
    CHAIN = "chain"
    ALERTS = "alerts"
    WEBHOOKS = "webhooks"


WITHOUT_KAFKA = frozenset({Kind.DISPATCHER, Kind.CHAIN, Kind.ALERTS, Kind.WEBHOOKS})
"""The kinds that read the store and its views, not the topic: they run without Kafka."""


@dataclass(frozen=True)
class WorkerOptions:
    """How a worker process reads and waits."""

    batch_size: int = 500
    timing: GroupTiming = field(default_factory=GroupTiming)
    view_timeout: float = 30.0
    """How long the dispatcher waits for the views to show its own records."""


def kafka_configured(rt: Runtime) -> bool:
    """Whether the runtime's settings name a Kafka cluster (distributed mode)."""
    return bool(rt.settings.kafka_bootstrap_servers)


def pipeline(rt: Runtime) -> Pipeline:
    """The progress of the relay and the workers, as this runtime's stores record it (the
    bootstrap wires it whenever a Kafka cluster is configured)."""
    if rt.pipeline is None:
        msg = "no Kafka cluster is configured (BREACH_KAFKA_BOOTSTRAP_SERVERS)"
        raise RuntimeError(msg)
    return rt.pipeline


def distributed_settle(rt: Runtime, *, timeout: float = 5.0) -> Callable[[], None]:
    """Read-your-writes when the workers run elsewhere: after a change, wait (at most
    ``timeout`` seconds) until the policy and projection workers handled everything stored
    so far, instead of running policies and views in the caller's process."""
    progress = pipeline(rt)

    def settle() -> None:
        progress.settle(timeout=timeout)

    return settle


def projections_feed(rt: Runtime, options: WorkerOptions) -> KafkaFeed:
    """A projection consumer keeping every view of ``rt``."""
    return KafkaFeed(
        rt.settings,
        Kind.PROJECTIONS.value,
        rt.app.core.mapper,
        [rt.views.set],
        batch_size=options.batch_size,
        timing=options.timing,
    )


def policies_feed(rt: Runtime, options: WorkerOptions, stop: threading.Event) -> KafkaFeed:
    """A policy consumer running every policy of ``rt`` (notice queueing reads the people
    view as of the event it handles, waiting for the projection workers that keep it)."""
    rt.people_of.read = people_as_of(pipeline(rt), rt.people.recipients_of, stop=stop)
    return KafkaFeed(
        rt.settings,
        Kind.POLICIES.value,
        rt.app.core.mapper,
        rt.policies.processors,
        batch_size=min(options.batch_size, 200),
        timing=options.timing,
    )


def dispatcher(
    rt: Runtime,
    target: SmtpTarget,
    delivery: DeliveryCheck | None,
    options: WorkerOptions,
) -> Dispatcher:
    """A dispatcher over the notifications view. With Kafka, the view is kept by the
    projection workers: before each pass it waits until the view shows everything stored so
    far (its own records included), rather than projecting here."""
    if not kafka_configured(rt):
        return rt.dispatcher(target, delivery)
    progress = pipeline(rt)

    def sync() -> None:
        try:
            progress.wait_views(
                rt.feed.head(), ["notifications", "people"], timeout=options.view_timeout
            )
        except PipelineTimeout as e:
            # Claims are still safe (a stale row loses its race on the notice's version);
            # they are only less efficient until the view catches up.
            log.warning("dispatch.view_behind", reason=str(e))

    return Dispatcher(
        rt.app.notifications,
        NoticeQueueView(rt.notifications.store),
        sync,
        rt.people.sealed,
        target,
        dispatch_settings(rt.settings),
        delivery=delivery,
    )


def serve_metrics(rt: Runtime) -> Callable[[], None]:
    """Serve Prometheus metrics on ``settings.metrics_port`` when it is set (through
    :func:`services.metrics.serve_metrics`); return what stops the server."""
    port = rt.settings.metrics_port
    if port is None:
        return lambda: None
    try:
        from services.metrics import serve_metrics as serve
    except ImportError:
        log.warning("metrics.unavailable", port=port)
        return lambda: None
    server = serve(rt, port)
    log.info("metrics.serving", url=server.url)
    return server.stop


def run_worker(
    rt: Runtime, kind: Kind, stop: threading.Event, options: WorkerOptions | None = None
) -> None:
    """Run one worker of ``kind`` in this thread until ``stop`` is set."""
    options = options or WorkerOptions()
    if kind not in WITHOUT_KAFKA and not kafka_configured(rt):
        msg = f"the {kind.value} worker needs BREACH_KAFKA_BOOTSTRAP_SERVERS"
        raise ValueError(msg)
    stop_metrics = serve_metrics(rt)
    log.info("worker.started", kind=kind.value)
    try:
        _run(rt, kind, stop, options)
    finally:
        stop_metrics()
    log.info("worker.stopped", kind=kind.value)


def _run(rt: Runtime, kind: Kind, stop: threading.Event, options: WorkerOptions) -> None:
    if kind is Kind.RELAY:
        relay = Relay(rt.settings, rt.app.core, rt.feed, batch_size=options.batch_size)
        keep_running("relay", relay.run, stop)
    elif kind is Kind.PROJECTIONS:
        keep_running("projections", projections_feed(rt, options).run, stop)
    elif kind is Kind.POLICIES:
        keep_running("policies", policies_feed(rt, options, stop).run, stop)
    elif kind is Kind.CHAIN:
        chain = ChainWorker(rt.feed, rt.chain, rt.audit_key, clock=rt.app.core.clock)
        keep_running("chain", lambda stop: chain.run(stop, rt.feed), stop)
    elif kind is Kind.ALERTS:
        clock = rt.alarm_clock()
        interval = rt.settings.alert_scan_seconds
        target, delivery, capture = rt.smtp_target()
        mailer = supervised(
            "alert-mail", lambda stop: rt.run_alert_mailer(target, delivery, stop), stop
        )
        try:
            keep_running("alarm-clock", lambda stop: clock.run(stop, interval), stop)
        finally:
            mailer.join(10)
            if capture is not None:
                capture.stop()
    elif kind is Kind.WEBHOOKS:
        senders = WebhookWorkers(
            rt.app.webhooks,
            rt.feed,
            webhook_retry(rt.settings),
            batch_size=rt.settings.webhook_batch_size,
            sending=webhook_sending(rt.settings),
        )
        keep_running("webhooks", senders.run, stop)
    else:
        target, delivery, capture = rt.smtp_target()
        try:

            def dispatch(stop: threading.Event) -> None:
                sender = dispatcher(rt, target, delivery, options)
                report = asyncio.run(sender.run(until_idle=False, stop=stop, poll=0.5))
                log.info(
                    "dispatch.stopped",
                    sent=report.sent,
                    deferred=report.deferred,
                    failed=report.failed,
                )

            keep_running("dispatcher", dispatch, stop)
        finally:
            if capture is not None:
                capture.stop()
