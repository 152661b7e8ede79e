"""Queueing: when dispatch starts, a policy gives every recipient one notice, exactly once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.domain import BaseAggregate

from events.base import DomainEvent
from events.notifications import Campaign, DispatchStarted, Notice, NoticeAudience
from services.application.base import LedgerApplication
from services.containment.policies import policy_cause
from services.notifications.handlers import notice_id
from services.notifications.templates import NoticeTemplates

PeopleOf = Callable[[UUID], Sequence[dict[str, Any]]]
"""The people of an incident (rows of the people view: person_id, status, language)."""


class PeopleReader:
    """Where the notice queueing policy reads an incident's people: a port whose reader the
    runtime sets (the people view, brought to the head of the log first) and a process that
    has the view kept elsewhere replaces (see :func:`services.feeds.pipeline.people_as_of`)."""

    def __init__(self, read: PeopleOf) -> None:
        self.read = read

    def __call__(self, incident_id: UUID) -> Sequence[dict[str, Any]]:
        """The incident's people, as the current reader has them."""
        return self.read(incident_id)


class NoticeQueuePolicy:
    """On dispatch start, queue a notice per recipient (erased people: queued, suppressed)."""

    name = "policy.notices"

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
        state = campaign.state
        notices: list[Notice] = []
        if state.audience is NoticeAudience.PEOPLE:
            for row in self.people_of(state.incident_id):
                person = UUID(row["person_id"])
                language, fallback = self.templates.resolve(state.audience, row["language"] or "en")
                notice = Notice.queue(
                    cause,
                    notice_id=notice_id(campaign.id, person_id=person),
                    campaign_id=campaign.id,
                    incident_id=state.incident_id,
                    person_id=person,
                    recipient_index=None,
                    language=language,
                    fallback=fallback,
                )
                if row["status"] == "erased":
                    notice.suppress(cause, reason="person erased")
                notices.append(notice)
        else:
            seen: set[str] = set()
            for index, recipient in enumerate(state.recipients):
                language, fallback = self.templates.resolve(state.audience, recipient.language)
                notice = Notice.queue(
                    cause,
                    notice_id=notice_id(campaign.id, index=index),
                    campaign_id=campaign.id,
                    incident_id=state.incident_id,
                    person_id=None,
                    recipient_index=index,
                    language=language,
                    fallback=fallback,
                )
                address = recipient.email.strip().lower()
                if address in seen:
                    notice.suppress(cause, reason="duplicate address")
                seen.add(address)
                notices.append(notice)
        campaign.record_queued(cause, count=len(notices))
        return [campaign, *notices]
