"""Delivering the log to webhook receivers: each subscription is a processor of its own.

A :class:`SubscriptionProcessor` implements the processor interface of
:mod:`services.feeds.processor` with the tracking key ``webhook:<subscription id>``, its
position kept in the webhook store. It goes through the log in order and does not pass an
event it asked for until that event is delivered or dead-lettered: each attempt is signed
and posted; a failure (an answer other than 2xx or 410, a timeout, a closed connection) is
tried again after a random pause up to a doubling ceiling (full jitter, tenacity's
``wait_random_exponential``), until ``give_up`` after the first attempt, when the delivery
is dead-lettered and the subscription moves on. A 410 Gone dead-letters the delivery and
disables the subscription. The final row of the delivery log and the new position are
written in one transaction; a restart resumes from the position, so an event is delivered
at least once (twice only when the process stops between the receiver's answer and that
transaction), and the receiver drops repeats by the delivery id.

:class:`WebhookWorkers` runs every enabled subscription in its own supervised thread (one
slow or dead receiver never holds up another), starting new ones and stopping disabled ones
as it finds them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

import structlog
from tenacity import RetryCallState, Retrying, retry_if_result, wait_random_exponential

from events.notifications import Campaign
from events.webhooks import WebhookKind, WebhookSubscription
from services.application.context import RequestContext
from services.application.errors import ServiceError
from services.feeds.base import Feed, Positioned
from services.feeds.processor import Outcome, tracking_key
from services.feeds.running import supervised
from services.webhooks import payloads
from services.webhooks.handlers import WebhookHandlers
from services.webhooks.sender import DELIVERED, GONE, RETRY, Answer, Sender
from services.webhooks.signing import delivery_id
from services.webhooks.store import DEAD, PENDING, Delivery
from services.webhooks.store import DELIVERED as ROW_DELIVERED
from services.webhooks.store import GONE as ROW_GONE

log = structlog.get_logger()

GONE_REASON = "the receiver answered 410 Gone"
RECORD_EVERY = 100
"""Deliveries recorded (rows and position) in one transaction at most."""


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often a failing delivery is tried."""

    base: float = 5.0
    """Seconds: the n-th pause is random up to ``base * 2**(n-1)``."""
    max_pause: float = 900.0
    """The longest pause."""
    give_up: timedelta = timedelta(hours=24)
    """After this long since the first attempt, the delivery is dead-lettered."""
    timeout: float = 10.0
    """Seconds a receiver has to answer one attempt."""
    allow_loopback: bool = False


def actor_of(subscription: UUID) -> str:
    """The actor of the changes a subscription's sender records (a system name)."""
    return f"webhook:{subscription}"


class SubscriptionProcessor:
    """One subscription's deliveries, as a processor of the log (see the module)."""

    kind = "webhook"

    def __init__(
        self,
        handlers: WebhookHandlers,
        subscription_id: UUID,
        retry: RetryPolicy,
        stop: threading.Event,
    ) -> None:
        self.handlers = handlers
        self.core = handlers.core
        self.store = handlers.store
        self.subscription_id = subscription_id
        self.retry = retry
        self.stop = stop
        """Set to stop: between attempts, and when the subscription is found disabled."""
        self._sender: Sender | None = None
        self._start: int | None = None
        self._campaigns: dict[UUID, UUID | None] = {}

    @property
    def name(self) -> str:
        """``webhook:<subscription id>``."""
        return f"webhook:{self.subscription_id}"

    @property
    def labels(self) -> dict[str, Any]:
        """The subscription, as log events name it."""
        return {"webhook": str(self.subscription_id)}

    def position(self, stream: str = "") -> int:
        """The last position handled; before the first, the position of the subscription's
        own creation (a subscription is told of what happens after it was added)."""
        found = self.store.position(tracking_key(self.name, stream))
        if found is not None:
            return found
        if self._start is None:
            stored = self.core.stored_events_of([self.subscription_id])
            self._start = stored[0].id if stored else 0
        return self._start

    def subscription(self) -> WebhookSubscription:
        """The subscription as it is now."""
        return self.core.load(self.subscription_id, WebhookSubscription)

    def _incident_of(self, campaign_id: UUID) -> UUID | None:
        if campaign_id not in self._campaigns:
            try:
                campaign = self.core.load(campaign_id, Campaign)
                self._campaigns[campaign_id] = campaign.state.incident_id
            except ServiceError:
                self._campaigns[campaign_id] = None
        return self._campaigns[campaign_id]

    def sender(self, subscription: WebhookSubscription) -> Sender:
        """The sender to the subscription's receiver (opened once)."""
        if self._sender is None:
            self._sender = Sender(
                self.handlers.sealed(self.subscription_id),
                self.subscription_id,
                subscription.state.shape,
                timeout=self.retry.timeout,
                allow_loopback=self.retry.allow_loopback,
            )
        return self._sender

    def close(self) -> None:
        """Close the sender's connections."""
        if self._sender is not None:
            self._sender.close()
            self._sender = None

    def process(self, items: Sequence[Positioned], after: int, stream: str = "") -> Outcome:
        """Deliver the events of ``items`` the subscription asked for, in order; stop early
        when asked to stop or when the subscription is disabled (the position then stays
        before the event in hand).

        Final rows are recorded with the position in one transaction every
        :data:`RECORD_EVERY` deliveries, at the end of the batch, and before the first
        pause of a failing delivery, so a crash repeats at most that many deliveries (the
        receiver drops them by id) and never loses one."""
        key = tracking_key(self.name, stream)
        subscription = self.subscription()
        if subscription.state.disabled:
            self.stop.set()
            return Outcome(0, after)
        retried = {
            d.delivery_id: d
            for d in self.store.deliveries(self.subscription_id, limit=1000, status=PENDING)
        }
        done: list[Delivery] = []
        applied = 0
        last = after

        def flush(to: int) -> bool:
            nonlocal last
            if to <= last:
                return True
            if not self.store.record(key, last, done, to):
                return False
            last = to
            done.clear()
            return True

        for item in items:
            kind = payloads.kind_of(item.event, subscription.wants)
            if kind is None:
                continue
            if self.stop.is_set():
                row = None
            else:
                earlier = retried.get(str(delivery_id(self.subscription_id, item.position)))
                row = self._deliver(
                    subscription, item, kind, earlier, partial(flush, item.position - 1)
                )
            if row is None:
                raced = not flush(item.position - 1)
                return Outcome(applied, last, raced=raced)
            done.append(row)
            applied += 1
            log.debug(
                "webhook.delivery",
                **self.labels,
                position=item.position,
                kind=kind.value,
                status=row.status,
                attempts=row.attempts,
                code=row.last_code,
            )
            if row.status == ROW_GONE:
                if not flush(item.position):
                    return Outcome(applied, last, raced=True)
                self._disable_gone()
                return Outcome(applied, last)
            if len(done) >= RECORD_EVERY and not flush(item.position):
                return Outcome(applied, last, raced=True)
        if not flush(items[-1].position):
            return Outcome(applied, last, raced=True)
        return Outcome(applied, last)

    def _disable_gone(self) -> None:
        self.stop.set()
        try:
            self.handlers.disable_webhook(
                self.subscription_id,
                GONE_REASON,
                RequestContext(actor=actor_of(self.subscription_id)),
            )
        except ServiceError:
            log.info("webhook.disabled_already", **self.labels)

    def _deliver(
        self,
        subscription: WebhookSubscription,
        item: Positioned,
        kind: WebhookKind,
        earlier: Delivery | None,
        before_retrying: Callable[[], bool],
    ) -> Delivery | None:
        """Try to deliver one event until it is delivered, gone or dead; None when asked to
        stop first (the pending row of the delivery log keeps the attempts made).
        ``earlier`` is its pending row, when tried before; ``before_retrying`` records
        what was delivered before it, at its first failure."""
        clock = self.core.clock
        did = delivery_id(self.subscription_id, item.position)
        attempts = earlier.attempts if earlier is not None else 0
        first_at = earlier.first_at if earlier is not None else clock.now().isoformat()
        deadline = datetime.fromisoformat(first_at) + self.retry.give_up
        doc = payloads.document(
            delivery=did,
            subscription=self.subscription_id,
            kind=kind,
            position=item.position,
            event=item.event,
            incident_of=self._incident_of,
        )
        body = payloads.body(subscription.state.shape, doc)
        sender = self.sender(subscription)

        def row(status: str, answer: Answer, at: datetime) -> Delivery:
            return Delivery(
                delivery_id=str(did),
                subscription_id=str(self.subscription_id),
                position=item.position,
                kind=kind.value,
                status=status,
                attempts=attempts,
                last_code=answer.code,
                last_error=answer.error,
                first_at=first_at,
                last_at=at.isoformat(),
            )

        last_at = [clock.now()]

        def attempt() -> Answer:
            nonlocal attempts
            attempts += 1
            at = clock.now()
            last_at[0] = at
            answer = sender.post(body, did, kind.value, at)
            if answer.outcome == RETRY:
                before_retrying()
                self.store.note(row(PENDING, answer, at))
            return answer

        def halted() -> bool:
            return self.stop.is_set() or self.subscription().state.disabled

        def stopping(_state: RetryCallState) -> bool:
            return halted() or clock.now() >= deadline

        def pause(seconds: float) -> None:
            self.stop.wait(seconds)

        def last_answer(state: RetryCallState) -> Answer:
            assert state.outcome is not None
            result = state.outcome.result()
            assert isinstance(result, Answer)
            return result

        retrying = Retrying(
            retry=retry_if_result(lambda answer: answer.outcome == RETRY),
            wait=wait_random_exponential(multiplier=self.retry.base, max=self.retry.max_pause),
            stop=stopping,
            sleep=pause,
            retry_error_callback=last_answer,
            reraise=True,
        )
        answer = retrying(attempt)
        status = {DELIVERED: ROW_DELIVERED, GONE: ROW_GONE}.get(answer.outcome)
        if status is None:
            if halted():
                return None
            status = DEAD
            log.warning("webhook.dead_letter", **self.labels, position=item.position)
        return row(status, answer, last_at[0])


class SubscriptionRunner:
    """Keeps one subscription's processor at the head of the store feed until its stop
    event is set (by the supervisor, or by the processor finding it disabled)."""

    def __init__(
        self, processor: SubscriptionProcessor, feed: Feed, *, batch_size: int = 200
    ) -> None:
        self.processor = processor
        self.feed = feed
        self.batch_size = batch_size

    def run(self, stop: threading.Event, idle_timeout: float = 1.0) -> None:
        """Deliver until ``stop`` is set."""
        processor = self.processor
        log.info("webhook.started", **processor.labels, position=processor.position())
        try:
            at = processor.position()
            while not stop.is_set():
                items = self.feed.read(at, self.batch_size)
                if not items:
                    self.feed.wait(at, idle_timeout)
                    continue
                outcome = processor.process(items, at)
                at = processor.position() if outcome.raced else outcome.reached
        finally:
            processor.close()
        log.info("webhook.stopped", **processor.labels, position=processor.position())


class WebhookWorkers:
    """Every enabled subscription delivering in a supervised thread of its own."""

    def __init__(
        self,
        handlers: WebhookHandlers,
        feed: Feed,
        retry: RetryPolicy,
        *,
        batch_size: int = 200,
        refresh: float = 2.0,
    ) -> None:
        self.handlers = handlers
        self.feed = feed
        self.retry = retry
        self.batch_size = batch_size
        self.refresh_interval = refresh
        self.running: dict[UUID, tuple[threading.Event, threading.Thread]] = {}

    def _start_one(self, subscription_id: UUID) -> None:
        stop = threading.Event()
        processor = SubscriptionProcessor(self.handlers, subscription_id, self.retry, stop)
        runner = SubscriptionRunner(processor, self.feed, batch_size=self.batch_size)
        thread = supervised(f"webhook-{subscription_id}", runner.run, stop)
        self.running[subscription_id] = (stop, thread)

    def refresh(self) -> None:
        """Start a sender for each enabled subscription without one; stop the senders of
        disabled ones."""
        for subscription in self.handlers.list_webhooks():
            current = self.running.get(subscription.id)
            alive = current is not None and current[1].is_alive()
            if subscription.state.disabled:
                if current is not None:
                    current[0].set()
                continue
            if not alive:
                self._start_one(subscription.id)

    def run(self, stop: threading.Event) -> None:
        """Watch the subscriptions until ``stop`` is set, then stop every sender."""
        try:
            while not stop.is_set():
                self.refresh()
                stop.wait(self.refresh_interval)
        finally:
            self.stop_all()

    def stop_all(self, timeout: float = 10.0) -> None:
        """Stop every sender and wait for them."""
        for event, _ in self.running.values():
            event.set()
        for _, thread in self.running.values():
            thread.join(timeout)

    def start(self, stop: threading.Event) -> threading.Thread:
        """Run :meth:`run` in a supervised daemon thread."""
        return supervised("webhooks", self.run, stop)
