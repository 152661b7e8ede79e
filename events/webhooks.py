"""Outbound webhook subscriptions, as facts: who subscribed which receiver to which kinds of
event, and when a subscription was disabled or enabled again.

The log records where a subscription delivers only as far as its origin (``https://host``)
and the SHA-256 of the whole URL: the URL's path often is a credential of its own (chat
tools' incoming-webhook URLs are), and the log is exported in audit bundles. The whole URL
and the signing secret are kept sealed beside the log, in the webhook store, the way the
credential store keeps password hashes.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.domain import BaseAggregate
from pydantic import BaseModel, ConfigDict

from events.base import AggregateCreated, Cause, DomainEvent
from events.errors import RuleViolation


class WebhookKind(StrEnum):
    """The kinds of event a subscription can ask for."""

    INCIDENT_REPORTED = "incident.reported"
    INCIDENT_TRIAGED = "incident.triaged"
    INCIDENT_CLOSED = "incident.closed"
    ASSESSMENT_RECORDED = "assessment.recorded"
    OBLIGATION_DUE = "obligation.due"
    OBLIGATION_OVERDUE = "obligation.overdue"
    OBLIGATION_DECIDED = "obligation.decided"
    ALERT_RAISED = "alert.raised"
    CAMPAIGN_APPROVED = "campaign.approved"
    CAMPAIGN_COMPLETED = "campaign.completed"
    TASK_OVERDUE = "task.overdue"


class PayloadShape(StrEnum):
    """What a subscription's deliveries look like: the full JSON document, or a chat
    message (a ``text`` field, as Slack's and Teams' incoming webhooks take)."""

    JSON = "json"
    CHAT = "chat"


class WebhookState(BaseModel):
    """What the aggregate knows about a subscription."""

    model_config = ConfigDict(frozen=True)

    origin: str
    url_digest: str
    kinds: tuple[WebhookKind, ...]
    shape: PayloadShape
    disabled: bool = False
    disabled_reason: str | None = None


class WebhookEvent(DomainEvent):
    """Base class of webhook subscription events."""


class WebhookSubscriptionAdded(AggregateCreated):
    """A receiver was subscribed to kinds of event (its whole URL and secret are sealed in
    the webhook store; ``url_digest`` is the URL's SHA-256)."""

    origin: str
    url_digest: str
    kinds: tuple[WebhookKind, ...]
    shape: PayloadShape

    def apply(self, aggregate: WebhookSubscription) -> None:
        """Start the subscription."""
        aggregate.state = WebhookState(
            origin=self.origin, url_digest=self.url_digest, kinds=self.kinds, shape=self.shape
        )


class WebhookSubscriptionDisabled(WebhookEvent):
    """Deliveries stopped: by an admin, or because the receiver answered 410 Gone. The
    subscription keeps its place in the log; enabled again, it resumes from there."""

    reason: str

    def apply(self, aggregate: WebhookSubscription) -> None:
        """Mark disabled."""
        aggregate.state = aggregate.state.model_copy(
            update={"disabled": True, "disabled_reason": self.reason}
        )


class WebhookSubscriptionEnabled(WebhookEvent):
    """A disabled subscription delivers again, from where it stopped."""

    def apply(self, aggregate: WebhookSubscription) -> None:
        """Mark enabled."""
        aggregate.state = aggregate.state.model_copy(
            update={"disabled": False, "disabled_reason": None}
        )


class WebhookSubscription(BaseAggregate[UUID]):
    """A receiver of signed deliveries of chosen kinds of event."""

    LOG_KEY = "webhook_id"
    STATE = WebhookState

    if TYPE_CHECKING:
        state: WebhookState

    @classmethod
    def add(
        cls,
        cause: Cause,
        *,
        subscription_id: UUID,
        origin: str,
        url_digest: str,
        kinds: tuple[WebhookKind, ...],
        shape: PayloadShape,
    ) -> WebhookSubscription:
        """Subscribe a receiver (at least one kind)."""
        if not kinds:
            raise RuleViolation("kinds", "give at least one kind of event")
        return cls._create(
            WebhookSubscriptionAdded,
            id=subscription_id,
            origin=origin,
            url_digest=url_digest,
            kinds=tuple(dict.fromkeys(kinds)),
            shape=shape,
            **cause.stamp(),
        )

    def disable(self, cause: Cause, *, reason: str) -> None:
        """Stop deliveries."""
        if self.state.disabled:
            raise RuleViolation("webhook", "the subscription is disabled already")
        if not reason.strip():
            raise RuleViolation("reason", "must not be empty")
        self.trigger_event(WebhookSubscriptionDisabled, reason=reason.strip(), **cause.stamp())

    def enable(self, cause: Cause) -> None:
        """Deliver again, from where deliveries stopped."""
        if not self.state.disabled:
            raise RuleViolation("webhook", "the subscription is not disabled")
        self.trigger_event(WebhookSubscriptionEnabled, **cause.stamp())

    def wants(self, kind: str) -> bool:
        """Whether the subscription (enabled or not) asked for ``kind``."""
        return kind in self.state.kinds
