"""The deadline kinds of outbound webhooks: a raised alert is delivered as
``obligation.due`` before an obligation's deadline, ``obligation.overdue`` at it, and
``task.overdue`` for a task, to subscriptions that asked for those kinds, once per event
and subscription, with the obligation's id and the step."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from services.application.context import RequestContext
from services.bootstrap import Runtime, bootstrap, webhook_retry
from services.config import Settings
from services.webhooks.delivery import WebhookWorkers
from tests.support.clocks import ManualClock
from tests.support.facts import PORTAL_LEAK
from tests.support.webhook_receiver import Receiver

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
AWARE = START - timedelta(hours=12)
DEADLINE = AWARE + timedelta(hours=72)
GDPR = "eu_gdpr/supervisory_authority"
ADMIN = RequestContext(actor="ada", correlation_id="req-ada")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        log_format="json",
        log_level="warning",
        webhook_allow_loopback=True,
        webhook_backoff_seconds=0.01,
        webhook_backoff_max_seconds=0.05,
    )


@pytest.fixture
def rt(settings: Settings, clock: ManualClock) -> Iterator[Runtime]:
    runtime = bootstrap(settings, clock=clock, configure_logs=False)
    yield runtime
    runtime.close()


def receiver_for(rt: Runtime, clock: ManualClock, kinds: list[str]) -> Receiver:
    """A receiver on the test's clock, subscribed to ``kinds``."""
    receiver = Receiver(now=lambda: clock.current.timestamp()).start()
    _, secret = rt.gateway.run(rt.app.webhooks.add_webhook, receiver.url, kinds, ADMIN)
    receiver.secret = secret
    return receiver


def leak(rt: Runtime) -> UUID:
    """A portal leak owned by olga: a GDPR obligation due 72 hours after awareness."""
    rt.app.users.add_user("olga", ["responder"], ADMIN)
    reported = rt.app.incidents.report_incident(
        {
            "title": "Careers portal CV leak",
            "reporter": "soc",
            "discovered_at": AWARE - timedelta(hours=2),
            "aware_at": AWARE,
            "incident_type": "web_application_exfiltration",
        },
        ADMIN,
    )
    rt.app.assessment.assess_impact(reported.id, PORTAL_LEAK, ADMIN)
    rt.app.incidents.assign_owner(reported.id, {"owner": "olga"}, ADMIN)
    rt.settle()
    return reported.id


def test_alerts_reach_deadline_subscriptions_as_due_then_overdue_once_each(
    rt: Runtime, clock: ManualClock
) -> None:
    """Walking the GDPR obligation through its ladder, a subscription to obligation.due and
    obligation.overdue gets three signed obligation.due deliveries and then one
    obligation.overdue, each naming the obligation and the step; a subscription to both
    alert.raised and obligation.due gets each alert once, as alert.raised."""
    deadlines = receiver_for(rt, clock, ["obligation.due", "obligation.overdue"])
    both = receiver_for(rt, clock, ["alert.raised", "obligation.due"])
    incident = leak(rt)
    stop = threading.Event()
    workers = WebhookWorkers(rt.app.webhooks, rt.feed, webhook_retry(rt.settings), refresh=0.02)
    thread = workers.start(stop)
    try:
        for hours in (24, 6, 1, 0):
            clock.current = DEADLINE - timedelta(hours=hours) + timedelta(minutes=1)
            rt.alarm_clock().scan()
            rt.settle()
        alerts = [a for a in rt.alerts.ids_of_incident(incident)]
        got = deadlines.wait_for(len(alerts))
        other = both.wait_for(len(alerts))
    finally:
        stop.set()
        thread.join(10)
        deadlines.stop()
        both.stop()
    ours = [r for r in got if r.document["data"].get("obligation_id") == GDPR]
    assert [r.kind for r in ours] == ["obligation.due"] * 3 + ["obligation.overdue"]
    assert [r.document["data"]["step"] for r in ours] == ["due_24h", "due_6h", "due_1h", "overdue"]
    assert all(r.signed for r in got)
    assert all(r.document["incident_id"] == str(incident) for r in got)
    assert len({r.delivery_id for r in got}) == len(got) == len(alerts)
    assert {r.kind for r in other} == {"alert.raised"}
    assert len({r.delivery_id for r in other}) == len(other) == len(alerts)
