"""The background work of a running server: views, policies, the audit chain, the notice
dispatcher, the webhook senders, the alarm clock (escalation alerts) and the alert mailer,
each in a supervised thread that resumes from its tracked position."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import structlog

from services.audit.chain import ChainWorker
from services.bootstrap import Runtime, webhook_retry, webhook_sending
from services.feeds.running import supervised
from services.notifications.dispatcher import DeliveryCheck
from services.notifications.transport import SmtpTarget
from services.webhooks.delivery import WebhookWorkers

log = structlog.get_logger()


class Workers:
    """Every background worker of a runtime, started and stopped together."""

    def __init__(
        self,
        rt: Runtime,
        target: SmtpTarget,
        delivery: DeliveryCheck | None = None,
        *,
        chain_interval: float = 2.0,
    ) -> None:
        self.rt = rt
        self.target = target
        self.delivery = delivery
        self.chain_interval = chain_interval
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []

    def _views(self, name: str) -> Callable[[threading.Event], None]:
        worker = next(w for w in self.rt.views.workers if w.projection.name == name)
        return worker.run

    def _policy(self, index: int) -> Callable[[threading.Event], None]:
        return self.rt.policies.workers[index].run

    def _chain(self, stop: threading.Event) -> None:
        rt = self.rt
        worker = ChainWorker(rt.feed, rt.chain, rt.audit_key, clock=rt.app.core.clock)
        worker.run(stop, rt.feed, interval=self.chain_interval)

    def _dispatch(self, stop: threading.Event) -> None:
        dispatcher = self.rt.dispatcher(self.target, self.delivery)
        asyncio.run(dispatcher.run(until_idle=False, stop=stop, poll=0.5))

    def _alarm(self, stop: threading.Event) -> None:
        self.rt.alarm_clock().run(stop, self.rt.settings.alert_scan_seconds)

    def _alert_mail(self, stop: threading.Event) -> None:
        self.rt.run_alert_mailer(self.target, self.delivery, stop)

    def start(self) -> Workers:
        """Start every worker."""
        stop = self.stop_event
        for w in self.rt.views.workers:
            name = w.projection.name
            self.threads.append(supervised(f"view-{name}", self._views(name), stop))
        for i, p in enumerate(self.rt.policies.workers):
            self.threads.append(supervised(f"policy-{p.policy.name}", self._policy(i), stop))
        self.threads.append(supervised("audit-chain", self._chain, stop))
        self.threads.append(supervised("dispatcher", self._dispatch, stop))
        webhooks = WebhookWorkers(
            self.rt.app.webhooks,
            self.rt.feed,
            webhook_retry(self.rt.settings),
            batch_size=self.rt.settings.webhook_batch_size,
            sending=webhook_sending(self.rt.settings),
        )
        self.threads.append(webhooks.start(stop))
        self.threads.append(supervised("alarm-clock", self._alarm, stop))
        self.threads.append(supervised("alert-mail", self._alert_mail, stop))
        log.info("workers.started", count=len(self.threads))
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask every worker to stop and wait for them (each finishes its current batch)."""
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout)
        log.info("workers.stopped")
