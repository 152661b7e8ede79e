"""The background work of a running server: policies, views and the audit chain, the notice
dispatcher, the webhook senders, the alarm clock (escalation alerts) and the alert mailer,
each in a supervised thread that resumes from its tracked position.

The policies, the views and the chain share one thread, the catch-up loop
(:class:`~services.feeds.catch_up.CatchUpLoop`), woken by saves: each pass brings the
policies to the head of the log (until their reactions are handled), then the views (each
batch read once and applied to every view in one transaction), then the chain, reporting the
position each reached. Once it runs, the runtime's commands wait for it rather than catching
up themselves (see :meth:`~services.bootstrap.Runtime.wait_for_runners`), until the workers
stop."""

from __future__ import annotations

import asyncio
import threading
import time

import structlog

from services.audit.chain import ChainWorker
from services.bootstrap import Runtime, webhook_retry, webhook_sending
from services.feeds.catch_up import CatchUpLoop
from services.feeds.progress import RunnerProgress
from services.feeds.running import supervised
from services.notifications.dispatcher import DeliveryCheck
from services.smtp_target import SmtpTarget
from services.webhooks.delivery import WebhookWorkers

log = structlog.get_logger()


def catch_up_loop(rt: Runtime, progress: RunnerProgress) -> CatchUpLoop:
    """The catch-up loop of a runtime: its policies, views and audit chain, in that order,
    reporting to ``progress``; the policies record the positions they hold after each pass
    (those held long enough) and when the loop stops."""
    chain = ChainWorker(rt.feed, rt.chain, rt.audit_key, clock=rt.app.core.clock)
    return CatchUpLoop(
        [rt.policies.runner(), rt.views.runner(), chain.runner(rt.feed)],
        rt.feed,
        progress,
        after_pass=lambda: rt.policies.flush(due_only=True),
        on_stop=rt.policies.flush,
    )


class Workers:
    """Every background worker of a runtime, started and stopped together."""

    def __init__(
        self,
        rt: Runtime,
        target: SmtpTarget,
        delivery: DeliveryCheck | None = None,
    ) -> None:
        self.rt = rt
        self.target = target
        self.delivery = delivery
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.progress = RunnerProgress()
        """Where the catch-up loop reports the positions its policies, views and chain reached."""
        self.catch_up = catch_up_loop(rt, self.progress)

    def _runner_keys(self) -> list[str]:
        return [stage.key for stage in self.catch_up.stages]

    def _follow_runners(self, timeout: float = 10.0) -> None:
        """Once every runner reports, have the runtime's commands wait for them."""
        keys = self._runner_keys()
        deadline = time.monotonic() + timeout
        while not self.progress.joined(keys):
            if time.monotonic() > deadline:
                log.warning("workers.runners_not_started", then="commands catch up themselves")
                return
            time.sleep(0.01)
        self.rt.runners = self.progress

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
        self.threads.append(supervised("catch-up", self.catch_up.run, stop))
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
        self._follow_runners()
        log.info("workers.started", count=len(self.threads))
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask every worker to stop and wait for them (each finishes its current batch);
        commands catch up themselves again."""
        if self.rt.runners is self.progress:
            self.rt.runners = None
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout)
        log.info("workers.stopped")
