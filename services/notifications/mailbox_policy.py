"""Erasure reaches the local capture mailbox: when a person is erased, the messages sent to
them there are deleted, and any still on their way will not be kept when they arrive.

A policy (run by the policy worker like the others, so every face that erases, and the
retention run, goes through it): it changes no aggregate, and its tracked position moves on
with the worker's batch. Deleting is idempotent, so an erasure handled again after a crash
changes nothing more.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from uuid import UUID

import structlog
from eventsourcing.domain import BaseAggregate

from events.base import DomainEvent
from events.people import PersonErased
from services.notifications.mailbox import Mailbox

log = structlog.get_logger()


class MailboxErasurePolicy:
    """On ``PersonErased``, withhold every message to that person from the mailbox."""

    name = "policy.mailbox"
    handles: tuple[type[DomainEvent], ...] = (PersonErased,)

    def __init__(self, directory: Path, message_ids_of: Callable[[UUID], Sequence[str]]) -> None:
        self.directory = directory
        self.message_ids_of = message_ids_of

    def handle(self, event: DomainEvent) -> Sequence[BaseAggregate[UUID]]:
        """Withhold the erased person's messages (nothing to do while no mailbox exists)."""
        if not isinstance(event, PersonErased) or not (self.directory / "index.db").exists():
            return ()
        ids = self.message_ids_of(event.originator_id)
        if not ids:
            return ()
        box = Mailbox(self.directory)
        try:
            removed = box.withhold(ids)
        finally:
            box.close()
        log.info("mailbox.erased", person_id=str(event.originator_id), messages=removed)
        return ()
