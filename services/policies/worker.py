"""Running policies: each event is handled once, its consequences saved with its position.

A policy returns the aggregates its reaction changed; its processor saves them together with
a tracking record of the event's position (``<policy>`` on the store feed,
``<policy>@p<partition>`` from a Kafka partition) in one transaction of the event store. A
second delivery of the same event (a restart, or another process running the same policy)
fails that transaction on the tracking record and changes nothing.

Most events need no reaction from a given policy; then only the position moves. A runner
that keeps policies at the head of the log may hold those positions in memory for a moment
(``hold_for``) and record them together later: each would otherwise cost a commit that
waits for the disk. A position held and lost in a crash only means that the events after
the recorded one are offered to the policy again, which is what a policy must bear anyway
(it may always be behind); a reaction is never held.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any, Protocol
from uuid import UUID

import structlog
from eventsourcing.domain import BaseAggregate
from eventsourcing.persistence import IntegrityError, Tracking

from events.base import DomainEvent
from services.application.base import LedgerApplication
from services.feeds.base import Feed, Positioned
from services.feeds.processor import (
    Outcome,
    Runner,
    SharedRunner,
    advance_together,
    handle_at,
    tracking_key,
)
from services.feeds.store import StoreFeed
from services.feeds.topics import Read, sparse_read, topics_of

log = structlog.get_logger()

HOLD_SECONDS = 1.0
"""How long a running server's policies may hold a position that moved without a reaction
before recording it."""


class Policy(Protocol):
    """Reacts to events; ``name`` keys its tracking position. ``handles`` names the event
    classes it may react to (each with its subclasses): a runner of several policies may
    read the log for those alone and offer the policy only them."""

    name: str
    handles: tuple[type[DomainEvent], ...]

    def handle(self, event: DomainEvent) -> Sequence[BaseAggregate[UUID]]:
        """Return the aggregates changed in reaction to ``event`` (none to ignore it)."""
        ...


class PolicyProcessor:
    """A :class:`~services.feeds.processor.Processor` running one policy: each reaction saved
    with its tracking record in one transaction of the event store.

    A save that fails on a conflict is tried again (the reaction recomputed from the state
    then stored) after a pause growing by ``retry_pause`` each time, up to ``max_attempts``;
    when the tracking record shows the event handled elsewhere meanwhile, the batch stops
    there and the position is read again.
    """

    kind = "policy"

    def __init__(
        self,
        app: LedgerApplication,
        policy: Policy,
        *,
        max_attempts: int = 20,
        retry_pause: float = 0.05,
    ) -> None:
        self.app = app
        self.policy = policy
        self.max_attempts = max_attempts
        self.retry_pause = retry_pause
        self.hold_for = 0.0
        """Seconds a position that moved without a reaction may stay unrecorded (0: each
        is recorded with the batch that reached it)."""
        self._lock = threading.Lock()
        self._known: dict[str, int] = {}
        """Per tracking key, the last position handled here (recorded or held)."""
        self._held: dict[str, int] = {}
        """Per tracking key, a position handled here without a reaction and not recorded."""
        self._held_since = 0.0

    @property
    def name(self) -> str:
        """The policy's name."""
        return self.policy.name

    @property
    def labels(self) -> dict[str, Any]:
        """The policy, as log events name it."""
        return {"policy": self.policy.name}

    def position(self, stream: str = "") -> int:
        """The last position this policy handled in ``stream``: as this processor last
        recorded or held it, or as the store tells when it does not know."""
        key = tracking_key(self.policy.name, stream)
        with self._lock:
            known = self._known.get(key)
        if known is not None:
            return known
        stored = self.app.tracked_position(key)
        with self._lock:
            self._known[key] = max(stored, self._known.get(key, 0))
            return self._known[key]

    def _moved(self, key: str, position: int, *, recorded: bool) -> None:
        with self._lock:
            self._known[key] = max(position, self._known.get(key, 0))
            held = self._held.get(key)
            if recorded and held is not None and held <= position:
                del self._held[key]
            elif not recorded:
                if not self._held:
                    self._held_since = time.monotonic()
                self._held[key] = max(position, held or 0)

    def _forget(self, key: str) -> None:
        """Another worker moved the position: read it from the store next time."""
        with self._lock:
            self._known.pop(key, None)
            self._held.pop(key, None)

    def flush(self, *, due_only: bool = False) -> int:
        """Record the positions held (with ``due_only``, only once the oldest has been held
        ``hold_for`` seconds); return how many were recorded. A position another worker has
        recorded beyond meanwhile is dropped."""
        with self._lock:
            if not self._held or (due_only and time.monotonic() - self._held_since < self.hold_for):
                return 0
            held, self._held = self._held, {}
        recorded = 0
        for key, position in held.items():
            if self._save((), key, position):
                recorded += 1
            else:
                self._forget(key)
        return recorded

    def _save(self, changed: Sequence[BaseAggregate[Any]], key: str, position: int) -> bool:
        try:
            self.app.save_tracked(*changed, tracking=Tracking(key, position))
        except IntegrityError:
            return False
        return True

    def _react(self, key: str, item: Positioned, stream: str) -> bool | None:
        """Handle one event: True when a reaction was saved here, False when there was none,
        None when the event was handled elsewhere meanwhile."""
        for attempt in range(1, self.max_attempts + 1):
            changed = handle_at(item.position, lambda: self.policy.handle(item.event))
            if not changed:
                return False
            if self._save(changed, key, item.position):
                (log.info if stream else log.debug)(
                    "policy.reacted",
                    policy=self.policy.name,
                    stream=stream,
                    position=item.position,
                    changed=len(changed),
                )
                return True
            if self.app.tracked_position(key) >= item.position:
                log.debug("policy.done_elsewhere", policy=self.policy.name, position=item.position)
                return None
            log.debug(
                "policy.raced", policy=self.policy.name, position=item.position, attempt=attempt
            )
            time.sleep(self.retry_pause * attempt)
        msg = f"policy {self.policy.name} keeps conflicting at position {item.position}"
        raise RuntimeError(msg)

    def process(self, items: Sequence[Positioned], after: int, stream: str = "") -> Outcome:
        """React to each event in turn; then record the last position if the batch ended
        with events that needed no reaction (or hold it, see ``hold_for``)."""
        key = tracking_key(self.policy.name, stream)
        saved = 0
        last = after
        for item in items:
            reacted = self._react(key, item, stream)
            if reacted is None:
                self._forget(key)
                return Outcome(saved, last, raced=True)
            if reacted:
                saved += 1
                last = item.position
                self._moved(key, last, recorded=True)
        end = items[-1].position
        if end > last:
            if self.hold_for > 0:
                self._moved(key, end, recorded=False)
            elif self._save((), key, end):
                self._moved(key, end, recorded=True)
            else:
                self._forget(key)
                return Outcome(saved, last, raced=True)
        return Outcome(saved, end)


class PolicyWorker(Runner[Positioned]):
    """Runs one policy over the store feed and saves its reactions with their positions."""

    def __init__(
        self,
        feed: Feed,
        app: LedgerApplication,
        policy: Policy,
        *,
        batch_size: int = 200,
        max_attempts: int = 20,
    ) -> None:
        reactions = PolicyProcessor(app, policy, max_attempts=max_attempts)
        super().__init__(reactions, feed, read=reading(feed, policy.handles), batch_size=batch_size)
        self.reactions = reactions

    @property
    def policy(self) -> Policy:
        """The policy this worker runs."""
        return self.reactions.policy

    def follow(
        self, stop: threading.Event, hold_for: float = HOLD_SECONDS, pause: float = 0.0
    ) -> None:
        """Keep the policy at the head of the feed until ``stop`` is set, as a running
        server does: positions that moved without a reaction are held up to ``hold_for``
        seconds and recorded together, and when it stops; ``pause`` seconds at least
        between passes (see :func:`~services.feeds.running.follow`)."""
        self.reactions.hold_for = hold_for

        def flush_due(_applied: int) -> None:
            self.reactions.flush(due_only=True)

        try:
            self.run(stop, after_pass=flush_due, pause=pause)
        finally:
            self.reactions.flush()


def reading(feed: Feed, handles: Iterable[type[DomainEvent]]) -> Read:
    """How policies handling ``handles`` read ``feed``: on the store feed, the events of
    those classes alone (the log's topic index passes over the rest)."""
    return sparse_read(feed, topics_of(handles)) if isinstance(feed, StoreFeed) else feed.read


class Policies:
    """Every policy of the application, run in order over one feed."""

    def __init__(self, feed: Feed, app: LedgerApplication, policies: Sequence[Policy]) -> None:
        self.feed = feed
        self.workers = [PolicyWorker(feed, app, p) for p in policies]
        self.read: Read = reading(feed, [cls for p in policies for cls in p.handles])
        """How the policies read the log together."""

    @property
    def processors(self) -> list[PolicyProcessor]:
        """The policies as processors, in order (for feeds other than the store's)."""
        return [w.reactions for w in self.workers]

    def catch_up(self, batch_size: int = 500) -> int:
        """Bring every policy to the head of the log, every position recorded; return the
        reactions saved. Each batch is read and decoded once and offered to every policy in
        order, again while they react."""
        total = 0
        while True:
            saved = advance_together(self.processors, self.read, batch_size).applied
            total += saved
            if not saved:
                self.flush()
                return total

    def flush(self, *, due_only: bool = False) -> None:
        """Record the positions the policies hold (see :meth:`PolicyProcessor.flush`)."""
        for processor in self.processors:
            processor.flush(due_only=due_only)

    def runner(self, batch_size: int = 200, hold_for: float = HOLD_SECONDS) -> SharedRunner:
        """Every policy kept at the head of the log in one thread, in order, each batch read
        once; a pass ends when a round saves no reaction, so it ends with the reactions to
        every event it passed, and the reactions to those, saved. Positions that moved
        without a reaction are held up to ``hold_for`` seconds: whoever runs it calls
        :meth:`flush` after its passes and when it stops."""
        for processor in self.processors:
            processor.hold_for = hold_for
        return SharedRunner(
            "policies",
            self.processors,
            self.feed,
            batch_size=batch_size,
            until_quiet=True,
            read=self.read,
        )

    def start(self, stop: threading.Event) -> list[threading.Thread]:
        """Run every policy in a daemon thread until ``stop`` is set."""
        threads = [
            threading.Thread(
                target=w.run, args=(stop,), name=f"policy-{w.policy.name}", daemon=True
            )
            for w in self.workers
        ]
        for t in threads:
            t.start()
        return threads
