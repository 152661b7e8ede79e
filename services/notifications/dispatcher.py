"""The dispatcher: renders and sends due notices, recording each step so none goes twice.

For each batch it (1) records every claimed notice as *sending* in one transaction, (2)
hands the messages to SMTP over a small pool of persistent connections, then (3) records
every outcome in one transaction: sent (Message-ID, content hash, the server's reply),
deferred (4xx or a connection error: exponential backoff with jitter), or failed (5xx, or
retries exhausted). A reply or relay error is recorded only as its codes and a redacted text
(:mod:`services.notifications.replies`): servers echo the recipient, the record must not.

A crash between (1) and (3) leaves notices in *sending*: at most two batches (the one on the
wire and the next one, claimed while it travels). On start, and again every lease while
running (so that a dispatcher restarted within the lease, or another one still running,
resolves them), any notice that has been *sending* for longer than the lease, as the store
records it, is resolved by this rule, and reported:

- when the delivery can be checked (the local capture mailbox), a notice found there is
  recorded sent and one not found is re-queued at once (sending it cannot duplicate it);
- otherwise it is recorded *uncertain*: never resent silently, never dropped silently, until
  someone decides (``breach notify resolve``).

The Message-ID derives from the notice id, so a receiving system can also recognise a copy.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID, uuid4

import structlog
from eventsourcing.persistence import IntegrityError

from events.base import Cause
from events.errors import RuleViolation
from events.notifications import Campaign, Notice, NoticeStatus
from events.people import Sealed
from services.access import actors
from services.notifications import message
from services.notifications.handlers import NotificationHandlers
from services.notifications.queue import NoticeQueue
from services.notifications.replies import Recipient, reduce_reply
from services.notifications.sender import SenderProcess
from services.notifications.templates import Renderer
from services.notifications.transport import Outcome, SmtpPool
from services.smtp_target import SmtpTarget
from services.vault.sealing import PersonData

log = structlog.get_logger()

OPT_OUT = ("1", "true", "yes", "y")


class DeliveryCheck(Protocol):
    """Answers whether a message with a Message-ID reached its server (None: cannot tell)."""

    def delivered(self, message_id: str) -> bool | None:
        """Whether the message arrived."""
        ...


@dataclass(frozen=True)
class DispatchSettings:
    """How the dispatcher sends."""

    connections: int = 4
    rate: float = 0.0
    batch_size: int = 200
    max_attempts: int = 8
    backoff_base: float = 60.0
    backoff_max: float = 3600.0
    sending_lease: float = 120.0
    sender_process: bool = True


@dataclass
class Claim:
    """A notice marked sending, with its message and who it is for (the address and name
    its recorded outcome must not hold)."""

    notice: Notice
    recipient: str
    name: str
    message: bytes
    content_hash: str


@dataclass
class RunReport:
    """What a dispatcher run did."""

    sent: int = 0
    deferred: int = 0
    failed: int = 0
    suppressed: int = 0
    recovered: dict[str, int] = field(default_factory=dict)
    completed: list[UUID] = field(default_factory=list)


class Dispatcher:
    """Sends due notices of dispatching campaigns."""

    def __init__(
        self,
        app: NotificationHandlers,
        queue: NoticeQueue,
        sync: Callable[[], object],
        sealed_of: Callable[[Sequence[UUID]], dict[UUID, Sealed | None]],
        target: SmtpTarget,
        settings: DispatchSettings,
        *,
        delivery: DeliveryCheck | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.app = app
        self.queue = queue
        self.sync = sync
        self.sealed_of = sealed_of
        self.target = target
        self.settings = settings
        self.delivery = delivery
        self.rng = rng or random.Random()  # noqa: S311  (jitter, not secrecy)
        self.run_id = str(uuid4())
        assert app.notice_settings is not None
        self.sender = app.notice_settings.sender
        self.domain = app.notice_settings.message_id_domain
        self.report = RunReport()

    def cause(self) -> Cause:
        """The cause of the dispatcher's records."""
        return Cause(
            actor=actors.DISPATCHER,
            correlation_id=f"dispatch:{self.run_id}",
            at=self.app.core.clock.now(),
        )

    def _save(self, aggregates: Sequence[Notice | Campaign]) -> list[Notice | Campaign]:
        """Save together, or nothing: when another process moved one of them first, the
        whole batch is dropped and the next round starts from the store again."""
        if not aggregates:
            return []
        try:
            self.app.core.save_aggregates(aggregates)
        except IntegrityError:
            log.info("dispatch.raced", notices=len(aggregates))
            return []
        return list(aggregates)

    def recover(self) -> dict[str, int]:
        """Resolve notices a crash left in 'sending' (see the module's rule)."""
        now = self.app.core.clock.now()
        cutoff = now - timedelta(seconds=self.settings.sending_lease)
        stale = self.queue.stale_sending(cutoff)
        counts = {"sent": 0, "requeued": 0, "uncertain": 0}
        changed: list[Notice | Campaign] = []
        cause = self.cause()
        stored = self.app.core.load_many([s.notice_id for s in stale])
        for found in stale:
            notice = stored.get(found.notice_id)
            if not isinstance(notice, Notice) or notice.state.status is not NoticeStatus.SENDING:
                continue
            if notice.modified_on > cutoff:
                # Claimed again since the (lagging) view's row: a live dispatcher has it.
                continue
            answer = None if self.delivery is None else self.delivery.delivered(found.message_id)
            if answer is True:
                notice.sent(cause, content_hash="", reply="found in the mailbox after a restart")
                counts["sent"] += 1
            elif answer is False:
                notice.defer(
                    cause,
                    reason="restart: the message had not reached the mailbox",
                    next_attempt_at=now,
                )
                counts["requeued"] += 1
            else:
                notice.uncertain(
                    cause,
                    reason="the dispatcher stopped between 'sending' and the server's answer; "
                    "delivery is unknown (breach notify resolve)",
                )
                counts["uncertain"] += 1
            changed.append(notice)
        self._save(changed)
        if stale:
            log.warning("dispatch.recovered", **counts)
        for key, value in counts.items():
            self.report.recovered[key] = self.report.recovered.get(key, 0) + value
        return counts

    def claim(self, now: datetime, after: str = "") -> tuple[list[Claim], str]:
        """Mark a batch of due notices 'sending' (one transaction) and build their messages;
        return the claims and the id to page on from."""
        notices = self.queue.due(now, self.settings.batch_size, after)
        if not notices:
            return [], ""
        cursor = str(notices[-1].id)
        cause = self.cause()
        campaigns: dict[UUID, Campaign] = {}
        renderers: dict[UUID, Renderer] = {}
        people: dict[UUID, PersonData | None] = {}
        person_ids = [n.state.person_id for n in notices if n.state.person_id is not None]
        sealed = self.sealed_of(person_ids)
        present = [(pid, s) for pid, s in sealed.items() if s is not None]
        for (pid, _), data in zip(
            present, self.app.vault.open_many([s for _, s in present]), strict=True
        ):
            people[pid] = data
        changed: list[Notice] = []
        claims: list[Claim] = []
        for notice in notices:
            state = notice.state
            campaign = campaigns.get(state.campaign_id)
            if campaign is None:
                campaign = campaigns[state.campaign_id] = self.app.core.load(
                    state.campaign_id, Campaign
                )
            if not campaign.sending_allowed:
                continue
            renderer = renderers.get(campaign.id)
            if renderer is None:
                renderer = renderers[campaign.id] = self._renderer(campaign)
            person = people.get(state.person_id) if state.person_id else None
            if state.person_id is not None and person is None:
                notice.suppress(cause, reason="person erased")
                self.report.suppressed += 1
                changed.append(notice)
                continue
            if person is not None and person.attributes.get("opt_out", "").lower() in OPT_OUT:
                notice.suppress(cause, reason="opted out")
                self.report.suppressed += 1
                changed.append(notice)
                continue
            try:
                if state.recipient_index is not None:
                    org = campaign.state.recipients[state.recipient_index]
                    name, address = org.name, org.email
                    who: dict[str, object] = {
                        "name": org.name,
                        "email": org.email,
                        "attributes": {},
                    }
                else:
                    assert person is not None
                    name, address = person.name, person.email
                    who = {
                        "name": person.name,
                        "email": person.email,
                        "attributes": person.attributes,
                    }
                rendered = renderer.render(state.language, who)
            except Exception as e:  # a template that cannot render is this notice's failure
                notice.fail(cause, reason=f"could not render the notice: {type(e).__name__}")
                self.report.failed += 1
                changed.append(notice)
                continue
            message_id = f"<{notice.id}@{self.domain}>"
            notice.sending(cause, message_id=message_id)
            body = message.build(
                message_id=message_id,
                sender=self.sender,
                recipient=(name, address),
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html,
                date=now,
                language=rendered.language,
            )
            digest = hashlib.sha256(
                (rendered.subject + "\0" + rendered.text + "\0" + rendered.html).encode()
            ).hexdigest()
            changed.append(notice)
            claims.append(Claim(notice, address, name, body, digest))
        saved = {a.id for a in self._save(changed)}
        return [c for c in claims if c.notice.id in saved], cursor

    def _renderer(self, campaign: Campaign) -> Renderer:
        assert self.app.templates is not None
        return self.app.templates.renderer(
            campaign.state, self.app.incident_context(campaign.state.incident_id)
        )

    def _backoff(self, attempt: int) -> float:
        delay = min(self.settings.backoff_base * 2 ** (attempt - 1), self.settings.backoff_max)
        return float(delay * self.rng.uniform(0.8, 1.2))

    def record(self, claims: Sequence[Claim], outcomes: Sequence[Outcome]) -> None:
        """Record every outcome of a batch in one transaction (each reply without the
        addresses it may name)."""
        cause = self.cause()
        now = cause.at
        for claim, outcome in zip(claims, outcomes, strict=True):
            notice = claim.notice
            reply = str(reduce_reply(outcome.reply, Recipient(claim.recipient, claim.name)))
            if outcome.kind == "sent":
                notice.sent(cause, content_hash=claim.content_hash, reply=reply)
                self.report.sent += 1
            elif outcome.kind == "temporary" and notice.state.attempts < self.settings.max_attempts:
                notice.defer(
                    cause,
                    reason=reply,
                    next_attempt_at=now + timedelta(seconds=self._backoff(notice.state.attempts)),
                )
                self.report.deferred += 1
            else:
                reason = reply
                if outcome.kind == "temporary":
                    reason = f"retries exhausted after {notice.state.attempts} attempts: {reason}"
                notice.fail(cause, reason=reason)
                self.report.failed += 1
        self._save([c.notice for c in claims])

    def complete_campaigns(self) -> None:
        """Record completion of dispatching campaigns whose notices are all final."""
        for campaign_id in self.queue.finished_campaigns():
            counts = self.queue.counts(campaign_id)
            campaign = self.app.core.load(campaign_id, Campaign)
            try:
                done = campaign.complete(
                    self.cause(),
                    sent=counts["sent"],
                    failed=counts["failed"],
                    suppressed=counts["suppressed"],
                )
            except RuleViolation:
                continue
            if done and self._save([campaign]):
                self.report.completed.append(campaign_id)
                log.info("campaign.completed", campaign_id=str(campaign_id), **counts)

    async def run(
        self,
        *,
        until_idle: bool = True,
        idle_grace: float = 2.0,
        stop: threading.Event | None = None,
        progress: Callable[[], None] | None = None,
        poll: float = 0.5,
    ) -> RunReport:
        """Send until nothing is due (``until_idle``: and no retry is due within
        ``idle_grace`` seconds), or until ``stop`` is set.

        Batches are pipelined: the next batch is claimed, and the previous one's outcomes
        recorded, in a worker thread while the current batch is on the wire.
        """
        pool = SmtpPool(self.target, self.settings.connections, self.settings.rate)
        child = (
            SenderProcess(
                self.target, self.settings.connections, self.settings.rate, self.sender[1]
            )
            if self.settings.sender_process
            else None
        )

        def transmit(claims: list[Claim]) -> asyncio.Future[list[Outcome]]:
            if child is not None:
                batch = [(c.recipient, c.message) for c in claims]
                return asyncio.ensure_future(asyncio.to_thread(child.send, batch))
            return asyncio.ensure_future(
                asyncio.gather(*(pool.send(self.sender[1], c.recipient, c.message) for c in claims))
            )

        inflight: tuple[list[Claim], asyncio.Future[list[Outcome]]] | None = None
        recovery_interval = max(self.settings.sending_lease, 1.0)
        try:
            await asyncio.to_thread(self.sync)
            await asyncio.to_thread(self.recover)
            recovered_at = time.monotonic()
            cursor = ""
            while not (stop is not None and stop.is_set()):
                if not cursor and inflight is None:
                    await asyncio.to_thread(self.sync)
                    if time.monotonic() - recovered_at >= recovery_interval:
                        await asyncio.to_thread(self.recover)
                        recovered_at = time.monotonic()
                    await asyncio.to_thread(self.complete_campaigns)
                now = self.app.core.clock.now()
                claims, cursor = await asyncio.to_thread(self.claim, now, cursor)
                previous = inflight
                inflight = None
                if previous is not None:
                    await asyncio.wait([previous[1]])
                if claims:
                    inflight = (claims, transmit(claims))
                if previous is not None:
                    await asyncio.to_thread(self.record, previous[0], previous[1].result())
                    if progress is not None:
                        progress()
                if cursor or inflight is not None:
                    continue
                await asyncio.to_thread(self.sync)
                if self.queue.due(now, 1):
                    continue
                upcoming = self.queue.next_attempt()
                wait = poll if upcoming is None else (upcoming - now).total_seconds()
                if until_idle and (upcoming is None or wait > idle_grace):
                    break
                await asyncio.sleep(min(max(wait, 0.01), poll))
            if inflight is not None:
                outcomes = await inflight[1]
                await asyncio.to_thread(self.record, inflight[0], outcomes)
            await asyncio.to_thread(self.sync)
            await asyncio.to_thread(self.complete_campaigns)
            await asyncio.to_thread(self.sync)
        finally:
            await pool.close()
            if child is not None:
                child.close()
        return self.report
