"""Benchmark: a storm of escalation alerts. Many open obligations cross the same step of the
ladder at once (every incident became aware at the same moment); the alarm clock raises an
alert for each, and the webhook senders, already running and at the head of the log as
they would be, deliver each
``alert.raised`` to a local receiver, signed. Prints the obligations, the alerts raised, the
seconds to raise them and to the last delivery (both from the start of the scan), the
end-to-end rate, plain httpx posting the same bodies to the same receiver one after the
other (the floor), and the ratio of the two rates.

Logs are configured as a deployment has them (one JSON object per line, at the warning
level), so the debug and info lines of each alert and delivery cost what they cost there.

``BENCH_STORM_INCIDENTS`` sets the number of incidents (default 5,000: each carries two
obligations with a deadline, 10,000 in all)."""

from __future__ import annotations

import io
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from services.application.context import RequestContext
from services.bootstrap import bootstrap, webhook_retry, webhook_sending
from services.config import Settings
from services.logging import configure_logging
from services.webhooks.delivery import WebhookWorkers
from tests.support.clocks import ManualClock
from tests.support.facts import PORTAL_LEAK
from tests.support.reports import report_input
from tests.support.webhook_receiver import Receiver

INCIDENTS = int(os.environ.get("BENCH_STORM_INCIDENTS", "5000"))


def test_alert_storm_raised_and_delivered(tmp_path: Path) -> None:
    """Print obligations, alerts, seconds to raise and to deliver, alerts/s end to end, the
    httpx floor and the ratio."""
    aware = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    clock = ManualClock(aware + timedelta(minutes=30))
    settings = Settings(
        data_dir=tmp_path / "var",
        log_level="warning",
        log_format="json",
        webhook_allow_loopback=True,
        password_hash_memory_kib=64,
    )
    receiver = Receiver(now=lambda: clock.current.timestamp()).start()
    rt = bootstrap(settings, clock=clock, configure_logs=False)
    configure_logging(settings, io.StringIO())
    ctx = RequestContext(actor="bench")
    stop = threading.Event()
    thread = None
    try:
        subscription, secret = rt.app.webhooks.add_webhook(receiver.url, ["alert.raised"], ctx)
        receiver.secret = secret
        loaded = time.perf_counter()
        for i in range(INCIDENTS):
            incident = rt.app.incidents.report_incident(
                report_input(
                    aware,
                    title=f"Incident {i}",
                    occurred_at=aware - timedelta(hours=2),
                    discovered_at=aware - timedelta(hours=1),
                    aware_at=aware,
                ),
                ctx,
            )
            rt.app.assessment.assess_impact(incident.id, PORTAL_LEAK, ctx)
        rt.settle()
        loaded = time.perf_counter() - loaded
        obligations = [r for r in rt.obligations.rows(open_only=True) if r["deadline"] is not None]
        deadline = min(datetime.fromisoformat(r["deadline"]) for r in obligations)
        workers = WebhookWorkers(
            rt.app.webhooks,
            rt.feed,
            webhook_retry(settings),
            refresh=0.01,
            sending=webhook_sending(settings),
        )
        thread = workers.start(stop)
        head = rt.app.core.recorder.max_notification_id() or 0
        while (rt.app.webhooks.store.position(f"webhook:{subscription.id}") or 0) < head:
            time.sleep(0.05)  # the senders are at the head of the log, as before a storm
        alarm = rt.alarm_clock()
        clock.current = deadline - timedelta(minutes=30)
        began = time.perf_counter()
        raised = alarm.scan()
        scanned = time.perf_counter() - began
        got = receiver.wait_for(len(raised), timeout=900)
        ours = time.perf_counter() - began
        stop.set()
        thread.join(10)
        assert raised
        assert len(got) == len(raised)
        bodies = [(r.body, dict(r.headers)) for r in got]
        receiver.clear()
        with httpx.Client(trust_env=False) as client:
            began = time.perf_counter()
            for body, headers in bodies:
                client.post(receiver.url, content=body, headers=headers)
            plain = time.perf_counter() - began
        assert len(receiver.accepted()) == len(raised)
    finally:
        stop.set()
        if thread is not None:
            thread.join(10)
        rt.close()
        receiver.stop()
    rate = len(raised) / ours
    floor = len(raised) / plain
    print(
        f"\nalert storm: {INCIDENTS:,} incidents (loaded in {loaded:.0f} s); "
        f"obligations {len(obligations):,}; alerts raised {len(raised):,}; "
        f"seconds to raise {scanned:.2f}; seconds to last delivery {ours:.2f}; "
        f"alerts/s end to end {rate:,.0f}; httpx floor/s {floor:,.0f}; "
        f"ratio {rate / floor:.2f}"
    )
