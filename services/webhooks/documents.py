"""A webhook subscription as every face shows it: its receiver's origin and digest, never
its whole URL or its secret."""

from __future__ import annotations

from typing import Any

from events.webhooks import WebhookSubscription


def webhook_document(subscription: WebhookSubscription) -> dict[str, Any]:
    """A subscription as JSON: its origin, never its whole URL or secret."""
    state = subscription.state
    return {
        "webhook_id": str(subscription.id),
        "origin": state.origin,
        "url_sha256": state.url_digest,
        "kinds": [k.value for k in state.kinds],
        "shape": state.shape.value,
        "disabled": state.disabled,
        "disabled_reason": state.disabled_reason,
        "version": subscription.version,
        "created_at": subscription.created_on.isoformat(),
    }
