"""Signing deliveries, and checking a signature the way a receiver does.

Every delivery carries::

    X-Breachledger-Signature: t=<unix seconds>,v1=sha256=<hex>
    X-Breachledger-Delivery: <delivery id>
    X-Breachledger-Event: <kind>

where ``<hex>`` is HMAC-SHA256 keyed with the subscription's secret (its UTF-8 bytes) over
``<t>.`` followed by the exact body bytes. The timestamp is signed with the body, so a
receiver refusing signatures older than a few minutes refuses replays; the delivery id
(the same on every attempt of one delivery) lets it drop duplicates.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from uuid import UUID, uuid5

SIGNATURE_HEADER = "X-Breachledger-Signature"
DELIVERY_HEADER = "X-Breachledger-Delivery"
EVENT_HEADER = "X-Breachledger-Event"
SECRET_PREFIX = "whsec_"  # noqa: S105  (a prefix, not a secret)
TOLERANCE_SECONDS = 300
"""How old a signature a receiver should accept (clock skew and retries in flight)."""


def new_secret() -> str:
    """A fresh signing secret (shown once, when the subscription is added)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def delivery_id(subscription_id: UUID, position: int) -> UUID:
    """The id of the delivery of the event at ``position`` to a subscription: the same on
    every attempt and after every restart."""
    return uuid5(subscription_id, str(position))


def mac(secret: str, at: int, body: bytes) -> str:
    """The hexadecimal HMAC-SHA256 of ``<at>.<body>`` under ``secret``."""
    return hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()


def signature(secret: str, at: int, body: bytes) -> str:
    """The value of the signature header for ``body`` signed at unix time ``at``."""
    return f"t={at},v1=sha256={mac(secret, at, body)}"


def headers(secret: str, at: int, body: bytes, delivery: UUID, kind: str) -> dict[str, str]:
    """Every header of a delivery."""
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(secret, at, body),
        DELIVERY_HEADER: str(delivery),
        EVENT_HEADER: kind,
        "User-Agent": "breachledger-webhooks/1",
    }


def verify(
    secret: str, header: str, body: bytes, now: float, tolerance: float = TOLERANCE_SECONDS
) -> bool:
    """Whether ``header`` signs ``body`` under ``secret`` at a time within ``tolerance``
    seconds of ``now`` (a receiver's check; constant-time comparison)."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        at = int(fields["t"])
    except (KeyError, ValueError):
        return False
    given = fields.get("v1", "")
    if not given.startswith("sha256=") or abs(now - at) > tolerance:
        return False
    return hmac.compare_digest(given.removeprefix("sha256="), mac(secret, at, body))
