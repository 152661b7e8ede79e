"""The alert mailer: emails each recipient of an alert raised on the ``email`` channel, once.

It is a policy run on the processing engine (:class:`~services.policies.worker.PolicyWorker`)
with the tracking key ``alert_mail``, but only where the alarm clock runs (``breach serve``,
``breach worker alerts``), never in a one-shot command. For an ``AlertRaised`` event it
sends each recipient with an address one email (the step's template in their language) over
the notices' SMTP target, pool and rate limit, then returns the alert with one record per
recipient: emailed (Message-ID, reply code), failed (reply code and redacted reason), or
skipped (why: no address, disabled, not a user). The processor saves those records together
with the tracking record of the event's position, in one transaction of the event store, so
the position passes an alert only once its emails are recorded, and a recipient already
recorded is never emailed again.

The Message-ID derives from (alert id, username). A process that stops between a send and
its record handles the alert again at restart: a recipient whose message the local capture
mailbox already holds is recorded as emailed without a second send; with a relay, which
cannot be asked, the message is sent again under the same Message-ID (a receiving system can
recognise the copy). A temporary failure (4xx, no connection) is tried again after a pause
doubling from ``backoff_base`` (with jitter) up to ``max_attempts``; the alerts after it
wait meanwhile. A permanent one (5xx) is recorded as failed at once.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any
from uuid import UUID, uuid5

import structlog
from eventsourcing.domain import BaseAggregate

from events.alerts import (
    Alert,
    AlertEmailed,
    AlertEmailFailed,
    AlertEmailSkipped,
    AlertMailEvent,
    AlertRaised,
)
from events.base import Cause, DomainEvent
from services.alerts.mail_templates import AlertTemplates, alert_context
from services.application.base import LedgerApplication
from services.application.errors import InvalidInput, NotFound
from services.notifications import message
from services.notifications.dispatcher import DeliveryCheck
from services.notifications.replies import Recipient, reduce_reply
from services.notifications.transport import Outcome, SmtpPool
from services.smtp_target import SmtpTarget
from services.users.handlers import UserHandlers

log = structlog.get_logger()

ALERT_MAILER = "policy.alert_mail"
"""The actor of the mail records (a system name no user can take)."""
NO_ADDRESS = "no email address"
DISABLED = "the user is disabled"
NOT_A_USER = "not a user"


class MailerStopped(Exception):
    """Raised out of a retry pause when the mailer is asked to stop: the alert in hand is
    left unrecorded, and its position untracked, for the next start."""


@dataclass(frozen=True)
class MailSettings:
    """How alert emails are written and sent."""

    sender: tuple[str, str]
    """The From name and address (the notices')."""
    message_id_domain: str
    zone: tzinfo
    dashboard_url: str
    connections: int = 2
    rate: float = 0.0
    max_attempts: int = 8
    backoff_base: float = 60.0
    backoff_max: float = 3600.0


def message_id(alert_id: UUID, username: str, domain: str) -> str:
    """The Message-ID of an alert's email to a user (the same at every attempt)."""
    return f"<{uuid5(alert_id, username)}@{domain}>"


Record = tuple[type[AlertMailEvent], dict[str, Any]]


class AlertMailer:
    """The policy emailing alerts (see the module)."""

    name = "alert_mail"
    handles: tuple[type[DomainEvent], ...] = (AlertRaised,)

    def __init__(
        self,
        core: LedgerApplication,
        users: UserHandlers,
        templates: AlertTemplates,
        target: SmtpTarget,
        settings: MailSettings,
        *,
        delivery: DeliveryCheck | None = None,
        stop: threading.Event | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.core = core
        self.users = users
        self.templates = templates
        self.target = target
        self.settings = settings
        self.delivery = delivery
        self.stop = stop or threading.Event()
        self.rng = rng or random.Random()  # noqa: S311  (jitter, not secrecy)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool: SmtpPool | None = None
        self._done: tuple[UUID, dict[str, Record]] | None = None
        """The outcomes of the alert in hand, kept until it is handled again with a fresh
        state (a lost save race recomputes the reaction; it must not send again)."""

    def handle(self, event: DomainEvent) -> Sequence[BaseAggregate[UUID]]:
        """Email the recipients of an alert on the email channel not emailed yet; return
        the alert with their records (nothing for any other event)."""
        if not isinstance(event, AlertRaised) or "email" not in event.channels:
            return ()
        alert = self.core.load(event.originator_id, Alert)
        pending = [u for u in alert.state.recipients if u not in alert.state.emailed]
        if not pending:
            return ()
        if self._done is None or self._done[0] != alert.id:
            self._done = (alert.id, {})
        done = self._done[1]
        cause = Cause(
            actor=ALERT_MAILER, correlation_id=f"alert:{alert.id}", at=self.core.clock.now()
        )
        for username in pending:
            if username not in done:
                done[username] = self._mail(alert, username)
            kind, fields = done[username]
            alert.record_email(cause, kind, username=username, **fields)
            log.info(
                "alert.emailed",
                alert_id=str(alert.id),
                recipient=username,
                outcome=kind.outcome,
                code=fields.get("reply_code"),
            )
        return [alert]

    def _mail(self, alert: Alert, username: str) -> Record:
        """Send one recipient's email (or find it sent, or say why not)."""
        try:
            user = self.users.get_user(username)
        except (NotFound, InvalidInput):
            return AlertEmailSkipped, {"reason": NOT_A_USER}
        if user.state.disabled:
            return AlertEmailSkipped, {"reason": DISABLED}
        address = self.users.email_of(user)
        if address is None:
            return AlertEmailSkipped, {"reason": NO_ADDRESS}
        mid = message_id(alert.id, username, self.settings.message_id_domain)
        if self.delivery is not None and self.delivery.delivered(mid):
            log.warning("alert.email_found_delivered", alert_id=str(alert.id), recipient=username)
            return AlertEmailed, {"message_id": mid, "reply_code": None}
        now = self.core.clock.now()
        context = alert_context(
            str(alert.id),
            alert.state,
            username,
            zone=self.settings.zone,
            dashboard_url=self.settings.dashboard_url,
            now=now,
        )
        mail = self.templates.render(user.state.language, context)
        body = message.build(
            message_id=mid,
            sender=self.settings.sender,
            recipient=("", address),
            subject=mail.subject,
            text=mail.text,
            html=None,
            date=now,
            language=mail.language,
        )
        outcome, attempts = self._send(address, body)
        reply = reduce_reply(outcome.reply, Recipient(address))
        if outcome.kind == "sent":
            return AlertEmailed, {"message_id": mid, "reply_code": reply.code}
        reason = str(reply)
        if outcome.kind == "temporary":
            reason = f"retries exhausted after {attempts} attempts: {reason}"
        return AlertEmailFailed, {"message_id": mid, "reply_code": reply.code, "reason": reason}

    def _send(self, address: str, body: bytes) -> tuple[Outcome, int]:
        """Send, trying a temporary failure again after a growing pause; the last outcome
        and the attempts made. :class:`MailerStopped` when asked to stop during a pause."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        if self._pool is None:
            s = self.settings
            self._pool = SmtpPool(self.target, s.connections, s.rate)
        attempt = 0
        while True:
            attempt += 1
            outcome = self._loop.run_until_complete(
                self._pool.send(self.settings.sender[1], address, body)
            )
            if outcome.kind != "temporary" or attempt >= self.settings.max_attempts:
                return outcome, attempt
            s = self.settings
            pause = min(s.backoff_base * 2 ** (attempt - 1), s.backoff_max)
            if self.stop.wait(pause * self.rng.uniform(0.8, 1.2)):
                raise MailerStopped

    def close(self) -> None:
        """Say goodbye on the pooled connections."""
        if self._loop is None:
            return
        if self._pool is not None:
            self._loop.run_until_complete(self._pool.close())
            self._pool = None
        self._loop.close()
        self._loop = None
