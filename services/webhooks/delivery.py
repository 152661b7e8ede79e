"""Delivering the log to webhook receivers: each subscription is a processor of its own.

A :class:`SubscriptionProcessor` implements the processor interface of
:mod:`services.feeds.processor` with the tracking key ``webhook:<subscription id>``, its
position kept in the webhook store. Deliveries are at least once, in log order per incident
(an event about no incident is ordered with the other events of its own aggregate): of one
incident, a later event is not sent before the earlier one is delivered or dead-lettered,
while the deliveries of different incidents go out concurrently, up to ``window`` at a time
over one pool of kept-alive connections. The window starts at one and doubles with each
delivery, and falls back to one at the first failure, so a receiver that is down or
struggling is sent one delivery at a time until it answers again.

Each attempt is signed and posted; a failure (an answer other than 2xx or 410, a timeout, a
closed connection) is tried again after a random pause up to a doubling ceiling (full
jitter, :meth:`RetryPolicy.pause`), until ``give_up`` after the first attempt,
when the delivery is dead-lettered and its incident's next one goes. A 410 Gone
dead-letters the delivery and disables the subscription. Final rows of the delivery log are
recorded in batches, in one transaction with the position, which only moves past events
whose delivery is finished (a row finished beyond it, sent ahead of a slower one, is skipped
on resuming); a restart resumes from the position, so an event is delivered at least once
(twice only when the process stops between the receiver's answer and that transaction),
and the receiver drops repeats by the delivery id.

:class:`WebhookWorkers` runs every enabled subscription in its own supervised thread (one
slow or dead receiver never holds up another), starting new ones and stopping disabled ones
as it finds them. Several of them may run on one store (two ``breach worker webhooks``
processes, or a worker and an embedded server): a subscription is delivered by the holder
of its lease in the webhook store, renewed while it delivers and taken over by another
sender once it expires.
"""

from __future__ import annotations

import heapq
import os
import queue
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import structlog
from tenacity import RetryCallState, Retrying, retry_if_result

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
RECORD_AFTER = 1.0
"""Seconds finished deliveries wait to be recorded while another is still being tried."""


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

    def pause(self, failed: int) -> float:
        """Seconds to wait after the ``failed``-th failed attempt: random up to
        ``base * 2**(failed-1)``, at most ``max_pause`` (full jitter, as tenacity's
        ``wait_random_exponential``)."""
        ceiling = min(self.max_pause, self.base * 2 ** (failed - 1))
        return random.uniform(0, ceiling)  # noqa: S311  (jitter, not a secret)


@dataclass(frozen=True)
class Sending:
    """How a sender shares out the work: deliveries in flight per subscription, and the
    lease that lets one sender of several deliver a subscription."""

    window: int = 16
    """Deliveries of one subscription in flight at most (of different incidents)."""
    lease_seconds: float = 30.0
    """How long a lease lasts unless renewed (it is renewed every third of that)."""
    holder: str = ""
    """This sender's id in the leases (empty: a new one, naming host and process)."""

    def with_holder(self) -> Sending:
        """The same, with a holder id (a new one when none was given)."""
        if self.holder:
            return self
        name = f"{socket.gethostname()}:{os.getpid()}:{uuid4().hex[:8]}"
        return Sending(self.window, self.lease_seconds, name)


def _landed(
    landing: queue.SimpleQueue[Future[Delivery | None]], timeout: float
) -> list[Future[Delivery | None]]:
    """The deliveries finished: waiting up to ``timeout`` for the first, then those
    finished meanwhile (none when the wait ran out)."""
    try:
        out = [landing.get(timeout=timeout)]
    except queue.Empty:
        return []
    while True:
        try:
            out.append(landing.get_nowait())
        except queue.Empty:
            return out


def actor_of(subscription: UUID) -> str:
    """The actor of the changes a subscription's sender records (a system name)."""
    return f"webhook:{subscription}"


@dataclass(frozen=True)
class _Job:
    """One delivery to make: the event, its kind, what it goes out as, and the key that
    orders it (its incident, else its aggregate)."""

    index: int
    item: Positioned
    kind: WebhookKind
    lane: UUID
    body: bytes
    delivery: UUID


_SKIPPED = Delivery("", "", 0, "", "", 0, None, None, "", "")
"""Marks a delivery found finished already (recorded beyond the position earlier)."""


class SubscriptionProcessor:
    """One subscription's deliveries, as a processor of the log (see the module)."""

    kind = "webhook"

    def __init__(
        self,
        handlers: WebhookHandlers,
        subscription_id: UUID,
        retry: RetryPolicy,
        stop: threading.Event,
        *,
        window: int = 16,
        keep: Callable[[], bool] = lambda: True,
    ) -> None:
        self.handlers = handlers
        self.core = handlers.core
        self.store = handlers.store
        self.subscription_id = subscription_id
        self.retry = retry
        self.stop = stop
        """Set to stop: between attempts, and when the subscription is found disabled."""
        self.window = max(1, window)
        self.keep = keep
        """Asked while delivering: False when this sender lost the right to deliver the
        subscription (its lease), which stops the batch."""
        self.open = 1
        """Deliveries allowed in flight now: doubled by each delivery up to ``window``,
        one again at a failure."""
        self._sender: Sender | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._start: int | None = None
        self._campaigns: dict[UUID, UUID | None] = {}
        self._campaigns_lock = threading.Lock()

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
        with self._campaigns_lock:
            if campaign_id in self._campaigns:
                return self._campaigns[campaign_id]
        try:
            found: UUID | None = self.core.load(campaign_id, Campaign).state.incident_id
        except ServiceError:
            found = None
        with self._campaigns_lock:
            self._campaigns[campaign_id] = found
        return found

    def sender(self, subscription: WebhookSubscription) -> Sender:
        """The sender to the subscription's receiver (opened once)."""
        if self._sender is None:
            self._sender = Sender(
                self.handlers.sealed(self.subscription_id),
                self.subscription_id,
                subscription.state.shape,
                timeout=self.retry.timeout,
                allow_loopback=self.retry.allow_loopback,
                connections=self.window,
            )
        return self._sender

    def pool(self) -> ThreadPoolExecutor:
        """The threads the deliveries in flight run in (started once)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=self.window, thread_name_prefix=f"webhook-{self.subscription_id}"
            )
        return self._pool

    def close(self) -> None:
        """Close the sender's connections and stop the delivery threads."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._sender is not None:
            self._sender.close()
            self._sender = None

    def _jobs(
        self, subscription: WebhookSubscription, items: Sequence[Positioned]
    ) -> list[_Job]:
        """The deliveries the subscription asked for among ``items``, in log order."""
        jobs: list[_Job] = []
        for item in items:
            kind = payloads.kind_of(item.event, subscription.wants)
            if kind is None:
                continue
            did = delivery_id(self.subscription_id, item.position)
            doc = payloads.document(
                delivery=did,
                subscription=self.subscription_id,
                kind=kind,
                position=item.position,
                event=item.event,
                incident_of=self._incident_of,
            )
            lane = UUID(doc["incident_id"]) if doc["incident_id"] else item.event.originator_id
            body = payloads.body(subscription.state.shape, doc)
            jobs.append(_Job(len(jobs), item, kind, lane, body, did))
        return jobs

    def process(self, items: Sequence[Positioned], after: int, stream: str = "") -> Outcome:
        """Deliver the events of ``items`` the subscription asked for: each incident's in
        order, different incidents' concurrently (see the module); stop early when asked
        to stop, when the subscription is disabled or when this sender lost its lease (the
        position then stays before the first delivery not finished).

        Final rows are recorded with the position in one transaction every
        :data:`RECORD_EVERY` deliveries, at the end of the batch, and every
        :data:`RECORD_AFTER` seconds while a delivery is being tried again, so a crash
        repeats at most that many deliveries (the receiver drops them by id) and never
        loses one."""
        key = tracking_key(self.name, stream)
        subscription = self.subscription()
        if subscription.state.disabled:
            self.stop.set()
            return Outcome(0, after)
        jobs = self._jobs(subscription, items)
        known = self.store.rows_of([j.delivery for j in jobs])
        finished: list[Delivery | None] = [None] * len(jobs)
        lanes: dict[UUID, deque[_Job]] = {}
        for job in jobs:
            row = known.get(str(job.delivery))
            if row is not None and row.status != PENDING:
                finished[job.index] = _SKIPPED
            else:
                lanes.setdefault(job.lane, deque()).append(job)
        ready = [(lane[0].index, lane[0]) for lane in lanes.values()]
        heapq.heapify(ready)
        flying: dict[Future[Delivery | None], _Job] = {}
        landing: queue.SimpleQueue[Future[Delivery | None]] = queue.SimpleQueue()
        done: list[Delivery] = []
        state: dict[str, int] = {"last": after, "settled": 0, "halted": 0, "raced": 0, "gone": 0}
        applied = 0

        def reach() -> int:
            n = state["settled"]
            while n < len(jobs) and finished[n] is not None:
                n += 1
            state["settled"] = n
            if n == len(jobs):
                return items[-1].position
            return jobs[n].item.position - 1

        def flush() -> None:
            if state["raced"]:
                return
            to = reach()
            if to <= state["last"] and not done:
                return
            to = max(to, int(state["last"]))
            if not self.store.record(key, int(state["last"]), done, to):
                state["raced"] = state["halted"] = True
                return
            state["last"] = to
            done.clear()

        sender = self.sender(subscription)
        while True:
            if self.stop.is_set():
                state["halted"] = True
            while ready and not state["halted"] and len(flying) < self.open:
                _, job = heapq.heappop(ready)
                earlier = known.get(str(job.delivery))
                future = self.pool().submit(self._deliver, sender, job, earlier)
                flying[future] = job
                future.add_done_callback(landing.put)
            if not flying:
                break
            landed = _landed(landing, RECORD_AFTER)
            for future in landed:
                job = flying.pop(future)
                row = future.result()
                if row is None:  # asked to stop before it was finished
                    state["halted"] = True
                    continue
                finished[job.index] = row
                done.append(row)
                applied += 1
                log.debug(
                    "webhook.delivery",
                    **self.labels,
                    position=job.item.position,
                    kind=job.kind.value,
                    status=row.status,
                    attempts=row.attempts,
                    code=row.last_code,
                )
                if row.status == ROW_GONE:
                    state["halted"] = state["gone"] = True
                lane = lanes[job.lane]
                lane.popleft()
                if lane:
                    heapq.heappush(ready, (lane[0].index, lane[0]))
            if not self.keep():
                state["halted"] = True
            if len(done) >= RECORD_EVERY or (done and not landed):
                flush()
        flush()
        if state["gone"] and not state["raced"]:
            self._disable_gone()
        return Outcome(applied, int(state["last"]), raced=bool(state["raced"]))

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

    def _deliver(self, sender: Sender, job: _Job, earlier: Delivery | None) -> Delivery | None:
        """Try to deliver one event until it is delivered, gone or dead; None when asked to
        stop first (the pending row of the delivery log keeps the attempts made).
        ``earlier`` is its row, when it was tried before."""
        clock = self.core.clock
        did = job.delivery
        attempts = earlier.attempts if earlier is not None else 0
        first_at = earlier.first_at if earlier is not None else clock.now().isoformat()
        deadline = datetime.fromisoformat(first_at) + self.retry.give_up

        def row(status: str, answer: Answer, at: datetime) -> Delivery:
            return Delivery(
                delivery_id=str(did),
                subscription_id=str(self.subscription_id),
                position=job.item.position,
                kind=job.kind.value,
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
            answer = sender.post(job.body, did, job.kind.value, at)
            if answer.outcome == RETRY:
                self.open = 1
                self.store.note(row(PENDING, answer, at))
            else:
                self.open = min(self.window, self.open * 2)
            return answer

        def halted() -> bool:
            return self.stop.is_set() or self.subscription().state.disabled

        def stopping_now() -> bool:
            return halted() or clock.now() >= deadline

        def stopping(_state: RetryCallState) -> bool:
            return stopping_now()

        def pause(seconds: float) -> None:
            self.stop.wait(seconds)

        def last_answer(state: RetryCallState) -> Answer:
            assert state.outcome is not None
            result = state.outcome.result()
            assert isinstance(result, Answer)
            return result

        if self.stop.is_set():
            return None
        answer = attempt()
        if answer.outcome == RETRY and not stopping_now():
            # the first attempt is made directly (most succeed); the retries go through
            # tenacity, their n-th pause the policy's pause after attempt n + 1
            pause(self.retry.pause(1))
            retrying = Retrying(
                retry=retry_if_result(lambda answer: answer.outcome == RETRY),
                wait=lambda state: self.retry.pause(state.attempt_number + 1),
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
            log.warning("webhook.dead_letter", **self.labels, position=job.item.position)
        return row(status, answer, last_at[0])


class SubscriptionRunner:
    """Keeps one subscription's processor at the head of the store feed until its stop
    event is set (by the supervisor, or by the processor finding it disabled), while this
    sender holds the subscription's lease: without it, it waits for the lease to be free."""

    def __init__(
        self,
        processor: SubscriptionProcessor,
        feed: Feed,
        *,
        batch_size: int = 200,
        sending: Sending | None = None,
    ) -> None:
        self.processor = processor
        self.feed = feed
        self.batch_size = batch_size
        self.sending = (sending or Sending()).with_holder()
        self.holding = False
        self.renewed = 0.0
        processor.keep = self.renew

    def renew(self) -> bool:
        """Whether this sender holds the subscription's lease: taken or renewed in the store
        when a third of its time has passed since the last renewal."""
        p = self.processor
        now = time.monotonic()
        if self.holding and now - self.renewed < self.sending.lease_seconds / 3:
            return True
        held = p.store.lease(p.subscription_id, self.sending.holder, self.sending.lease_seconds)
        if held:
            self.renewed = now
            if not self.holding:
                log.info("webhook.started", **p.labels, position=p.position())
        elif self.holding:
            log.info("webhook.lease_lost", **p.labels)
        self.holding = held
        return held

    def run(self, stop: threading.Event, idle_timeout: float = 1.0) -> None:
        """Deliver until ``stop`` is set."""
        processor = self.processor
        wait = min(idle_timeout, self.sending.lease_seconds / 3)
        try:
            while not stop.is_set():
                if not self.renew():
                    stop.wait(wait)
                    continue
                at = processor.position()
                while not stop.is_set() and self.renew():
                    items = self.feed.read(at, self.batch_size)
                    if not items:
                        self.feed.wait(at, wait)
                        continue
                    outcome = processor.process(items, at)
                    at = processor.position() if outcome.raced else outcome.reached
        finally:
            processor.close()
            if self.holding:
                processor.store.release(processor.subscription_id, self.sending.holder)
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
        sending: Sending | None = None,
    ) -> None:
        self.handlers = handlers
        self.feed = feed
        self.retry = retry
        self.batch_size = batch_size
        self.refresh_interval = refresh
        self.sending = (sending or Sending()).with_holder()
        self.running: dict[UUID, tuple[threading.Event, threading.Thread]] = {}

    def _start_one(self, subscription_id: UUID) -> None:
        stop = threading.Event()
        processor = SubscriptionProcessor(
            self.handlers, subscription_id, self.retry, stop, window=self.sending.window
        )
        runner = SubscriptionRunner(
            processor, self.feed, batch_size=self.batch_size, sending=self.sending
        )
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
