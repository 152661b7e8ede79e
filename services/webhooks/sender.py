"""One subscription's HTTP sender: signed POSTs on one pool of kept-alive connections (as
many as the deliveries it has in flight at once; it is shared by their threads), each
attempt reduced to an :class:`Answer`.

Redirects are not followed (a redirect could point inside the network; it counts as a
failed attempt). The host is checked again against the address rules when the sender
opens, so a name that came to resolve inside the network since the subscription was added
is not delivered to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import httpx

from events.webhooks import PayloadShape
from services.webhooks import payloads
from services.webhooks.signing import headers
from services.webhooks.store import Sealed
from services.webhooks.urls import check_host

DELIVERED = "delivered"
GONE = "gone"
RETRY = "retry"


@dataclass(frozen=True)
class Answer:
    """How one attempt went: ``outcome`` (delivered, gone or retry), the receiver's status
    code (None when there was no answer) and the kind of failure without one (timeout,
    connection, refused-address)."""

    outcome: str
    code: int | None = None
    error: str | None = None


def judge(code: int) -> Answer:
    """The outcome of an answer: 2xx delivered, 410 gone, anything else tried again."""
    if 200 <= code < 300:
        return Answer(DELIVERED, code)
    if code == 410:
        return Answer(GONE, code)
    return Answer(RETRY, code)


class Sender:
    """Posts signed bodies to one subscription's receiver."""

    def __init__(
        self,
        sealed: Sealed,
        subscription_id: UUID,
        shape: PayloadShape,
        *,
        timeout: float,
        allow_loopback: bool,
        connections: int = 1,
    ) -> None:
        self.sealed = sealed
        self.subscription_id = subscription_id
        self.shape = shape
        self.allow_loopback = allow_loopback
        self.client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(
                max_connections=connections, max_keepalive_connections=connections
            ),
        )
        self._checked = False

    def _check(self) -> Answer | None:
        if self._checked:
            return None
        parts = urlsplit(self.sealed.url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            check_host(parts.hostname or "", port, allow_loopback=self.allow_loopback)
        except Exception:
            return Answer(RETRY, None, "refused-address")
        self._checked = True
        return None

    def post(self, body: bytes, delivery: UUID, kind: str, at: datetime) -> Answer:
        """One attempt to deliver ``body``, signed at ``at``."""
        refused = self._check()
        if refused is not None:
            return refused
        sent = headers(self.sealed.secret, int(at.timestamp()), body, delivery, kind)
        try:
            response = self.client.post(self.sealed.url, content=body, headers=sent)
        except httpx.TimeoutException:
            return Answer(RETRY, None, "timeout")
        except httpx.TransportError:
            self._checked = False
            return Answer(RETRY, None, "connection")
        return judge(response.status_code)

    def ping(self, at: datetime) -> Answer:
        """Send a test delivery (kind ``ping``) once."""
        delivery = uuid4()
        doc = payloads.ping(self.subscription_id, delivery, at)
        return self.post(payloads.body(self.shape, doc), delivery, "ping", at)

    def close(self) -> None:
        """Close the connections."""
        self.client.close()

    def __enter__(self) -> Sender:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
