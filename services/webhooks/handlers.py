"""Webhook commands (admin): add a subscription, list them, disable and enable one, send a
signed test delivery, read the delivery log.

Adding checks the URL (see :mod:`services.webhooks.urls`), seals the whole URL and a new
secret in the webhook store, then records the subscription in the log with the URL's origin
and digest only. The secret is returned once, to be shown once; it is never logged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID, uuid4

import structlog

from events.webhooks import PayloadShape, WebhookKind, WebhookSubscription
from services.application.base import LedgerApplication
from services.application.context import RequestContext
from services.application.errors import InvalidInput, NotFound
from services.application.fields import Line, checked
from services.webhooks.sender import Answer, Sender
from services.webhooks.signing import new_secret
from services.webhooks.store import STATUSES, Delivery, Sealed, WebhookStore
from services.webhooks.urls import check_url

log = structlog.get_logger()


@dataclass(frozen=True)
class WebhookRules:
    """What webhook commands need from the settings."""

    allow_loopback: bool = False
    timeout: float = 10.0


def kinds_of(values: Iterable[str | WebhookKind]) -> tuple[WebhookKind, ...]:
    """Kinds of event from their names, refusing unknown ones (naming the position)."""
    out: list[WebhookKind] = []
    for position, value in enumerate(values, start=1):
        try:
            out.append(WebhookKind(value))
        except ValueError:
            known = ", ".join(k.value for k in WebhookKind)
            raise InvalidInput("kinds", f"item {position} is not one of {known}") from None
    if not out:
        raise InvalidInput("kinds", "give at least one kind of event")
    return tuple(dict.fromkeys(out))


def subscription_id(value: str | UUID) -> UUID:
    """A subscription id given by a face."""
    if isinstance(value, UUID):
        return value
    try:
        return UUID(value.strip())
    except ValueError:
        raise InvalidInput("webhook_id", "is not a subscription id") from None


class WebhookHandlers:
    """Subscriptions and their delivery log."""

    def __init__(
        self, core: LedgerApplication, store: WebhookStore, rules: WebhookRules | None = None
    ) -> None:
        self.core = core
        self.store = store
        self.rules = rules or WebhookRules()

    def add_webhook(
        self,
        url: str,
        kinds: Iterable[str | WebhookKind],
        ctx: RequestContext,
        *,
        shape: str | PayloadShape = PayloadShape.JSON,
    ) -> tuple[WebhookSubscription, str]:
        """Subscribe ``url`` to ``kinds``; return the subscription and its signing secret
        (to be shown once)."""
        chosen = kinds_of(kinds)
        try:
            form = PayloadShape(shape)
        except ValueError:
            known = ", ".join(s.value for s in PayloadShape)
            raise InvalidInput("shape", f"must be one of {known}") from None
        target = check_url(url, allow_loopback=self.rules.allow_loopback)
        new_id = uuid4()
        secret = new_secret()
        self.store.seal(new_id, Sealed(url=target.url, secret=secret))
        subscription = self.core.create(
            lambda cause: WebhookSubscription.add(
                cause,
                subscription_id=new_id,
                origin=target.origin,
                url_digest=target.digest,
                kinds=chosen,
                shape=form,
            ),
            ctx,
            logged="webhook.added",
            origin=target.origin,
            kinds=[k.value for k in chosen],
        )
        return subscription, secret

    def get_webhook(self, webhook_id: str | UUID) -> WebhookSubscription:
        """One subscription, or :class:`NotFound`."""
        return self.core.load(subscription_id(webhook_id), WebhookSubscription)

    def list_webhooks(self) -> list[WebhookSubscription]:
        """Every subscription, oldest first."""
        ids = self.store.subscription_ids()
        found = self.core.load_many(ids) if ids else {}
        subs = [s for s in found.values() if isinstance(s, WebhookSubscription)]
        return sorted(subs, key=lambda s: (s.created_on, str(s.id)))

    def disable_webhook(
        self, webhook_id: str | UUID, reason: str, ctx: RequestContext
    ) -> WebhookSubscription:
        """Stop a subscription's deliveries (it keeps its place in the log)."""
        reason = checked("reason", Line, reason)
        return self.core.change(
            subscription_id(webhook_id),
            WebhookSubscription,
            ctx,
            lambda s, cause: s.disable(cause, reason=reason),
            logged="webhook.disabled",
        )

    def enable_webhook(self, webhook_id: str | UUID, ctx: RequestContext) -> WebhookSubscription:
        """Deliver again from where the subscription stopped."""
        return self.core.change(
            subscription_id(webhook_id),
            WebhookSubscription,
            ctx,
            lambda s, cause: s.enable(cause),
            logged="webhook.enabled",
        )

    def sealed(self, webhook_id: UUID) -> Sealed:
        """A subscription's URL and secret (for its sender only)."""
        found = self.store.unseal(webhook_id)
        if found is None:
            raise NotFound("webhook_id", "no such subscription")
        return found

    def test_webhook(self, webhook_id: str | UUID, ctx: RequestContext) -> Answer:
        """Send a signed ping (kind ``ping``) to a subscription's receiver now, once; the
        answer is returned, and neither the log nor the delivery log records it."""
        subscription = self.get_webhook(webhook_id)
        sealed = self.sealed(subscription.id)
        with Sender(
            sealed,
            subscription.id,
            subscription.state.shape,
            timeout=self.rules.timeout,
            allow_loopback=self.rules.allow_loopback,
        ) as sender:
            answer = sender.ping(self.core.clock.now())
        self.core.log_change(
            "webhook.tested", ctx, webhook_id=str(subscription.id), code=answer.code
        )
        return answer

    def deliveries(
        self, webhook_id: str | UUID, *, limit: int = 100, status: str | None = None
    ) -> list[Delivery]:
        """A subscription's delivery log, latest first (only ``status``, when given)."""
        subscription = self.get_webhook(webhook_id)
        if not 1 <= limit <= 1000:
            raise InvalidInput("limit", "must be between 1 and 1000")
        if status is not None and status not in STATUSES:
            raise InvalidInput("status", f"must be one of {', '.join(STATUSES)}")
        return self.store.deliveries(subscription.id, limit=limit, status=status)

    def delivery_counts(self, webhook_id: str | UUID) -> dict[str, int]:
        """How many deliveries a subscription's log holds, by status (every status named,
        zero when it has none)."""
        subscription = self.get_webhook(webhook_id)
        found = self.store.counts(subscription.id)
        return {status: found.get(status, 0) for status in STATUSES}

    def latest_deliveries(self, webhook_ids: Iterable[UUID]) -> dict[UUID, Delivery]:
        """The latest delivery of each subscription that has delivered (or tried to)."""
        return self.store.latest(list(webhook_ids))
