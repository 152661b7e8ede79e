"""Policies run from Kafka partitions: each reaction saved with a tracking record of
``<policy>@p<partition>`` in the same transaction of the event store."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from eventsourcing.persistence import IntegrityError, Tracking

from services.application.base import LedgerApplication
from services.feeds.base import Positioned
from services.feeds.kafka import fresh, tracked_name
from services.policies.worker import Policy

log = structlog.get_logger()


class PolicyBatches:
    """Runs every policy over a partition's batch, saving each reaction with a tracking
    record of ``<policy>@p<partition>`` in the same transaction of the event store."""

    def __init__(
        self,
        app: LedgerApplication,
        policies: Sequence[Policy],
        *,
        before: Callable[[Positioned], None] | None = None,
        max_attempts: int = 20,
        retry_pause: float = 0.05,
    ) -> None:
        self.app = app
        self.policies = list(policies)
        self.before = before
        self.max_attempts = max_attempts
        self.retry_pause = retry_pause

    def _save(self, changed: Sequence[Any], name: str, position: int) -> bool:
        try:
            self.app.save_tracked(*changed, tracking=Tracking(name, position))
        except IntegrityError:
            return False
        return True

    def _react(self, policy: Policy, name: str, item: Positioned) -> bool:
        """Handle one event; return whether a reaction was saved here."""
        for attempt in range(1, self.max_attempts + 1):
            if self.before is not None:
                self.before(item)
            changed = policy.handle(item.event)
            if not changed:
                return False
            if self._save(changed, name, item.position):
                log.info(
                    "policy.reacted",
                    policy=policy.name,
                    stream=name.rsplit("@", 1)[1],
                    position=item.position,
                    changed=len(changed),
                )
                return True
            if self.app.tracked_position(name) >= item.position:
                log.debug("policy.done_elsewhere", policy=policy.name, position=item.position)
                return False
            log.debug("policy.raced", policy=policy.name, position=item.position, attempt=attempt)
            time.sleep(self.retry_pause * attempt)
        msg = f"policy {policy.name} keeps conflicting at position {item.position}"
        raise RuntimeError(msg)

    def handle(self, partition: int, items: Sequence[Positioned]) -> int:
        """Handle the events each policy has not handled yet; return reactions saved."""
        saved = 0
        for policy in self.policies:
            name = tracked_name(policy.name, partition)
            pending = fresh(items, self.app.tracked_position(name))
            last = 0
            for item in pending:
                if self._react(policy, name, item):
                    saved += 1
                    last = item.position
            if pending and pending[-1].position > last:
                self._save((), name, pending[-1].position)
        return saved
