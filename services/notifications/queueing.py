"""Queueing: when dispatch starts, a policy gives every recipient one notice, exactly once."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.domain import BaseAggregate
from eventsourcing.persistence import IntegrityError

from events.base import Cause, DomainEvent
from events.notifications import Campaign, DispatchStarted, Notice, NoticeAudience
from services.application.base import LedgerApplication
from services.application.errors import Conflict
from services.containment.policies import policy_cause
from services.notifications.handlers import notice_id
from services.notifications.templates import NoticeTemplates

PeopleOf = Callable[[UUID], Iterable[dict[str, Any]]]
"""The people of an incident (rows of the people view: person_id, status, language), read
as they are taken."""


class PeopleReader:
    """Where the notice queueing policy reads an incident's people: a port whose reader the
    runtime sets (the people view, brought to the head of the log first) and a process that
    has the view kept elsewhere replaces (see :func:`services.feeds.pipeline.people_as_of`)."""

    def __init__(self, read: PeopleOf) -> None:
        self.read = read

    def __call__(self, incident_id: UUID) -> Iterable[dict[str, Any]]:
        """The incident's people, as the current reader has them."""
        return self.read(incident_id)


QUEUE_CHUNK = 1_000
"""Notices of a people campaign saved per transaction while it is queued."""


class NoticeQueuePolicy:
    """On dispatch start, queue a notice per recipient (erased people: queued, suppressed).

    A people campaign's notices are saved a chunk at a time as the incident's people are
    read, and the campaign's count of notices queued with the policy's position last: a
    campaign to a million people never holds them all in memory. Notice ids are derived
    from the campaign and the person, so a chunk saved before a crash is not saved again
    when the event is handled anew (the ids found stored are left out); the campaign counts
    its notices once, in that last transaction."""

    name = "policy.notices"
    handles: tuple[type[DomainEvent], ...] = (DispatchStarted,)

    def __init__(self, app: LedgerApplication, templates: NoticeTemplates, people_of: PeopleOf):
        self.app = app
        self.templates = templates
        self.people_of = people_of

    def handle(self, event: DomainEvent) -> Sequence[BaseAggregate[UUID]]:
        """Queue the campaign's notices, unless that was already done."""
        if not isinstance(event, DispatchStarted):
            return ()
        campaign = self.app.load(event.originator_id, Campaign)
        if campaign.state.queued is not None:
            return ()
        cause = policy_cause(self.app, self.name, event)
        if campaign.state.audience is NoticeAudience.PEOPLE:
            return self._queue_people(campaign, cause)
        return self._queue_recipients(campaign, cause)

    def _queue_people(self, campaign: Campaign, cause: Cause) -> list[BaseAggregate[UUID]]:
        """A notice per person of the incident (an erased person's suppressed), saved a
        chunk at a time; the last chunk is returned with the campaign's count."""
        count = 0
        chunk: list[BaseAggregate[UUID]] = []
        for row in self.people_of(campaign.state.incident_id):
            person = UUID(row["person_id"])
            notice = self._notice(campaign, cause, row["language"] or "en", person_id=person)
            if row["status"] == "erased":
                notice.suppress(cause, reason="person erased")
            chunk.append(notice)
            count += 1
            if len(chunk) == QUEUE_CHUNK:
                self._save_new(chunk)
                chunk = []
        campaign.record_queued(cause, count=count)
        return [campaign, *chunk]

    def _queue_recipients(self, campaign: Campaign, cause: Cause) -> list[BaseAggregate[UUID]]:
        """A notice per recipient the campaign names (a repeated address's suppressed)."""
        notices: list[BaseAggregate[UUID]] = []
        seen: set[str] = set()
        for index, recipient in enumerate(campaign.state.recipients):
            notice = self._notice(campaign, cause, recipient.language, index=index)
            address = recipient.email.strip().lower()
            if address in seen:
                notice.suppress(cause, reason="duplicate address")
            seen.add(address)
            notices.append(notice)
        campaign.record_queued(cause, count=len(notices))
        return [campaign, *notices]

    def _notice(
        self,
        campaign: Campaign,
        cause: Cause,
        language: str,
        *,
        person_id: UUID | None = None,
        index: int | None = None,
    ) -> Notice:
        """A queued notice of the campaign to a person or a recipient, in the language its
        templates give for ``language``."""
        state = campaign.state
        chosen, fallback = self.templates.resolve(state.audience, language)
        _, mixed = state.content_in(chosen)
        return Notice.queue(
            cause,
            notice_id=notice_id(campaign.id, person_id=person_id, index=index),
            campaign_id=campaign.id,
            incident_id=state.incident_id,
            person_id=person_id,
            recipient_index=index,
            language=chosen,
            fallback=fallback,
            mixed=mixed,
        )

    def _save_new(self, notices: list[BaseAggregate[UUID]]) -> None:
        """Save the notices not stored yet (by an earlier handling of the same event, cut
        short, or by another process handling it now)."""
        for _ in range(SAVE_ATTEMPTS):
            stored = self.app.existing_ids([n.id for n in notices])
            fresh = [n for n in notices if n.id not in stored]
            if not fresh:
                return
            try:
                self.app.save_aggregates(fresh)
                return
            except IntegrityError:
                notices = fresh
        msg = "notices kept being stored by another process while this one queued them"
        raise Conflict("campaign", msg)


SAVE_ATTEMPTS = 5
"""How many times a chunk is saved again after another process stored some of it first."""
