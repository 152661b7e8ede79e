"""The collector: reads the runtime when Prometheus scrapes, never hooked into other code.

Every label value comes from a fixed vocabulary (notice and campaign statuses, urgency
states, view and policy names, event kinds): counts only, nothing about an incident or a
person. A part of the runtime that cannot be read (the store down, say) is reported as
``breach_metrics_source_ok{source=...} 0`` while the other parts are still exposed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from importlib.metadata import PackageNotFoundError, version

import structlog
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from events.notifications import CampaignStatus, NoticeStatus
from services.assessment.obligations_view import urgency
from services.bootstrap import Runtime
from services.metrics.lag import Lag, Lags, streamed
from services.metrics.tally import KindTally
from services.webhooks.store import STATUSES

log = structlog.get_logger()

OPEN_URGENCIES = ("overdue", "due_soon", "on_track", "waiting", "no_deadline")
"""The urgency an open obligation can have, most pressing first."""


def _version() -> str:
    try:
        return version("breachledger")
    except PackageNotFoundError:
        return "unknown"


class RuntimeCollector:
    """Exposes the log, the workers' lag, notices, campaigns and deadlines of a runtime."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.tally = KindTally(rt.app.core.recorder)
        self.lags = Lags(rt)
        self.version = _version()

    def sources(self) -> list[tuple[str, Callable[[], Iterable[Metric]]]]:
        """The parts read at each scrape, by name."""
        relay = [("relay", self.relay)] if streamed(self.rt) else []
        return [
            ("log", self.log),
            *relay,
            ("views", self.views),
            ("policies", self.policies),
            ("audit_chain", self.audit_chain),
            ("notices", self.notices),
            ("obligations", self.obligations),
            ("webhooks", self.webhooks),
            ("alerts", self.alerts),
        ]

    def collect(self) -> Iterator[Metric]:
        """Every metric family, read now (a family several parts feed, such as the lag,
        is exposed once with all their samples)."""
        ok = GaugeMetricFamily(
            "breach_metrics_source_ok",
            "1 when this part of the runtime could be read at this scrape, 0 when it failed.",
            labels=["source"],
        )
        merged: dict[str, Metric] = {}
        for name, read in self.sources():
            try:
                families = list(read())
            except Exception as e:
                log.warning("metrics.source_failed", source=name, error=type(e).__name__)
                ok.add_metric([name], 0)
                continue
            ok.add_metric([name], 1)
            for family in families:
                if family.name in merged:
                    merged[family.name].samples.extend(family.samples)
                else:
                    merged[family.name] = family
        yield from merged.values()
        yield ok
        info = GaugeMetricFamily(
            "breach_build_info", "The running breachledger version.", labels=["version"]
        )
        info.add_metric([self.version], 1)
        yield info

    def log(self) -> Iterable[Metric]:
        """The head of the log, and the events in it by kind."""
        head = self.rt.app.core.recorder.max_notification_id() or 0
        appended = CounterMetricFamily(
            "breach_events_appended",
            "Events appended to the log: the position of its head.",
        )
        appended.add_metric([], head)
        by_kind = CounterMetricFamily(
            "breach_events_by_kind",
            "Events in the log by kind (incident, containment, people, notifications, users), "
            "counted incrementally from the log.",
            labels=["kind"],
        )
        for kind, count in sorted(self.tally.update().items()):
            by_kind.add_metric([kind], count)
        return [appended, by_kind]

    def _lag(self, lags: Iterable[Lag]) -> list[Metric]:
        family = GaugeMetricFamily(
            "breach_feed_lag_events",
            "How many log positions a worker is behind the head of the log.",
            labels=["role", "worker"],
        )
        for lag in lags:
            family.add_metric([lag.role, lag.worker], lag.positions)
        return [family]

    def relay(self) -> Iterable[Metric]:
        """The relay's distance to the head of the log (read only with Kafka)."""
        return self._lag(self.lags.relay())

    def views(self) -> Iterable[Metric]:
        """Each view's distance to the head of the log."""
        return self._lag(self.lags.views())

    def policies(self) -> Iterable[Metric]:
        """Each policy's distance to the head of the log."""
        return self._lag(self.lags.policies())

    def audit_chain(self) -> Iterable[Metric]:
        """The audit chain's distance to the head of the log."""
        return self._lag(self.lags.audit_chain())

    def notices(self) -> Iterable[Metric]:
        """Notices by status, send attempts, and campaigns by status."""
        totals = self.rt.notifications.totals()
        by_status = {s.value: 0 for s in NoticeStatus}
        by_status.update(totals.notices)
        notices = GaugeMetricFamily(
            "breach_notices",
            "Notices by their current status (sent, failed and suppressed are final; "
            "uncertain ones wait for a decision).",
            labels=["status"],
        )
        for status, count in sorted(by_status.items()):
            notices.add_metric([status], count)
        tried = CounterMetricFamily(
            "breach_notice_attempts", "SMTP transactions started for notices (every attempt)."
        )
        tried.add_metric([], totals.attempts)
        campaigns = {s.value: 0 for s in CampaignStatus}
        campaigns.update(totals.campaigns)
        by_campaign = GaugeMetricFamily(
            "breach_campaigns", "Notification campaigns by status.", labels=["status"]
        )
        for status, count in sorted(campaigns.items()):
            by_campaign.add_metric([status], count)
        return [notices, tried, by_campaign]

    def obligations(self) -> Iterable[Metric]:
        """Open obligations by urgency now, and the time left to the nearest deadline."""
        now = self.rt.app.core.clock.now()
        obligations = self.rt.obligations
        counts = dict.fromkeys(OPEN_URGENCIES, 0)
        nearest: float | None = None
        for row in obligations.rows(open_only=True):
            state = urgency(row, now, obligations.due_soon)
            counts[state.state] = counts.get(state.state, 0) + 1
            left = state.seconds_left
            if left is not None:
                nearest = left if nearest is None else min(nearest, left)
        by_urgency = GaugeMetricFamily(
            "breach_obligations_open",
            "Open obligations by urgency: overdue, due_soon (within BREACH_DUE_SOON_HOURS), "
            "on_track, waiting (clock not started) and no_deadline.",
            labels=["urgency"],
        )
        for state_name, count in counts.items():
            by_urgency.add_metric([state_name], count)
        families: list[Metric] = [by_urgency]
        if nearest is not None:
            next_deadline = GaugeMetricFamily(
                "breach_obligation_next_deadline_seconds",
                "Seconds until the nearest deadline of an open obligation (negative: overdue).",
            )
            next_deadline.add_metric([], nearest)
            families.append(next_deadline)
        return families

    def alerts(self) -> Iterable[Metric]:
        """Escalation alerts raised so far, by step of the ladder, and their emails by
        outcome."""
        raised = CounterMetricFamily(
            "breach_alerts_raised",
            "Escalation alerts raised, by step (due_24h, due_6h, due_1h, overdue): each step "
            "once per obligation or task and deadline.",
            labels=["step"],
        )
        for step, count in sorted(self.rt.alerts.counts_by_step().items()):
            raised.add_metric([step], count)
        emails = CounterMetricFamily(
            "breach_alert_emails",
            "Alert emails by outcome: sent, failed (refused for good, or retries ran out) and "
            "skipped (the recipient has no address, is disabled, or is not a user).",
            labels=["outcome"],
        )
        for outcome, count in sorted(self.rt.alerts.email_counts().items()):
            emails.add_metric([outcome], count)
        return [raised, emails]

    def webhooks(self) -> Iterable[Metric]:
        """Webhook deliveries by outcome, and the age of the oldest one still retried."""
        store = self.rt.app.webhooks.store
        counts = store.counts()
        by_status = GaugeMetricFamily(
            "breach_webhook_deliveries",
            "Webhook deliveries in the delivery logs by status: pending (being retried), "
            "delivered, dead (retry window closed) and gone (the receiver answered 410).",
            labels=["status"],
        )
        for status in STATUSES:
            by_status.add_metric([status], counts.get(status, 0))
        oldest = store.oldest_pending()
        age = GaugeMetricFamily(
            "breach_webhook_oldest_undelivered_seconds",
            "Seconds since the first attempt of the oldest webhook delivery still being "
            "retried (0: none).",
        )
        now = self.rt.app.core.clock.now()
        age.add_metric([], 0 if oldest is None else max(0.0, (now - oldest).total_seconds()))
        return [by_status, age]
