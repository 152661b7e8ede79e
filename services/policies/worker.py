"""Running policies: each event is handled once, its consequences saved with its position.

A policy returns the aggregates its reaction changed; the worker saves them together with a
tracking record of the event's position in one transaction of the event store. A second
delivery of the same event (a restart, or another process running the same policy) fails
that transaction on the tracking record and changes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

import structlog
from eventsourcing.domain import BaseAggregate
from eventsourcing.persistence import IntegrityError, Tracking

from events.base import DomainEvent
from services.application.base import LedgerApplication
from services.feeds.base import Feed
from services.feeds.running import follow

log = structlog.get_logger()


class Policy(Protocol):
    """Reacts to events; ``name`` keys its tracking position."""

    name: str

    def handle(self, event: DomainEvent) -> Sequence[BaseAggregate[UUID]]:
        """Return the aggregates changed in reaction to ``event`` (none to ignore it)."""
        ...


class PolicyWorker:
    """Feeds events to one policy and saves its reactions with their positions."""

    def __init__(
        self,
        feed: Feed,
        app: LedgerApplication,
        policy: Policy,
        *,
        batch_size: int = 200,
        max_attempts: int = 20,
    ) -> None:
        self.feed = feed
        self.app = app
        self.policy = policy
        self.batch_size = batch_size
        self.max_attempts = max_attempts

    @property
    def position(self) -> int:
        """The last log position this policy has handled."""
        return self.app.tracked_position(self.policy.name)

    def _save(self, changed: Sequence[BaseAggregate[Any]], position: int) -> bool:
        try:
            self.app.save_tracked(*changed, tracking=Tracking(self.policy.name, position))
        except IntegrityError:
            return False
        return True

    def catch_up(self) -> int:
        """Handle every event up to the head of the log; return how many reactions were saved."""
        saved = 0
        attempts = 0
        while True:
            start = self.position
            items = self.feed.read(start, self.batch_size)
            if not items:
                return saved
            last = start
            for item in items:
                changed = self.policy.handle(item.event)
                if not changed:
                    continue
                if not self._save(changed, item.position):
                    attempts += 1
                    if attempts >= self.max_attempts:
                        msg = f"policy {self.policy.name} keeps conflicting at {item.position}"
                        raise RuntimeError(msg)
                    log.debug("policy.raced", policy=self.policy.name, position=item.position)
                    break
                attempts = 0
                saved += 1
                last = item.position
            else:
                if items[-1].position > last:
                    self._save((), items[-1].position)

    def run(self, stop: threading.Event, idle_timeout: float = 1.0) -> None:
        """Keep handling new events until ``stop`` is set."""
        follow(
            "policy",
            {"policy": self.policy.name},
            self.catch_up,
            lambda: self.position,
            self.feed,
            stop,
            idle_timeout=idle_timeout,
        )


class Policies:
    """Every policy of the application, run in order over one feed."""

    def __init__(self, feed: Feed, app: LedgerApplication, policies: Sequence[Policy]) -> None:
        self.workers = [PolicyWorker(feed, app, p) for p in policies]

    def catch_up(self) -> int:
        """Bring every policy to the head of the log; return the reactions saved."""
        total = 0
        while True:
            saved = sum(w.catch_up() for w in self.workers)
            total += saved
            if not saved:
                return total

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
