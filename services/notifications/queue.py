"""The notice queue the dispatcher works from: what is due, what a crash left sending, and
which campaigns have nothing left to send.

The dispatcher depends on this port only; the notifications view provides it
(:class:`services.notifications.views.NoticeQueueView`). Notices come back as aggregates at
the version the view last saw: saving a change to one that moved since fails, so a stale
answer costs a retry, never a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from events.notifications import Notice


@dataclass(frozen=True)
class StaleNotice:
    """A notice recorded as sending whose outcome was never recorded, with the Message-ID
    it was being sent under."""

    notice_id: UUID
    message_id: str


class NoticeQueue(Protocol):
    """The notices of dispatching campaigns, as the dispatcher needs them."""

    def due(self, now: datetime, limit: int, after: str = "") -> list[Notice]:
        """Notices to send now (queued, or deferred and due, of dispatching campaigns), in
        id order after the notice id ``after`` (so a pass can page through them)."""
        ...

    def next_attempt(self) -> datetime | None:
        """The earliest deferred attempt of a dispatching campaign (None: none waits)."""
        ...

    def stale_sending(self, before: datetime) -> list[StaleNotice]:
        """Notices marked sending before ``before`` with no outcome: a crash left them."""
        ...

    def finished_campaigns(self) -> list[UUID]:
        """Dispatching (or paused) campaigns, all their notices queued and none left open."""
        ...

    def counts(self, campaign_id: UUID) -> dict[str, int]:
        """The notices of a campaign by status (every status named, zero when none)."""
        ...
