"""Benchmark: 2,000 signed webhook deliveries from the log (read, encode, sign, post,
record the delivery log row and the position) to a local receiver, against plain httpx
posting the same bodies to the same receiver on one connection. Prints both rates and
their ratio."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import httpx

from events.base import Cause
from events.incident import Incident
from events.values import IncidentType, LegalMoments, SourceChannel
from services.application.context import RequestContext
from services.bootstrap import bootstrap, webhook_retry, webhook_sending
from services.config import Settings
from services.webhooks.delivery import WebhookWorkers
from tests.support.webhook_receiver import Receiver

N = 2_000


def test_webhook_delivery_rate(tmp_path: Path) -> None:
    """Print deliveries per second through the senders and through plain httpx."""
    settings = Settings(
        data_dir=tmp_path / "var",
        log_level="warning",
        webhook_allow_loopback=True,
        password_hash_memory_kib=64,
    )
    receiver = Receiver().start()
    rt = bootstrap(settings, configure_logs=False)
    try:
        _, secret = rt.app.webhooks.add_webhook(
            receiver.url, ["incident.reported"], RequestContext(actor="bench")
        )
        receiver.secret = secret
        now = datetime.now(UTC)
        cause = Cause(actor="bench", correlation_id="bench", at=now)
        incidents = [
            Incident.report(
                cause,
                incident_id=uuid4(),
                title=f"Incident {i}",
                description="",
                reporter="bench",
                source=SourceChannel("siem"),
                incident_type=IncidentType("malware"),
                moments=LegalMoments(discovered_at=now - timedelta(hours=1)),
            )
            for i in range(N)
        ]
        for start in range(0, N, 500):
            rt.app.core.save_aggregates(incidents[start : start + 500])
        stop = threading.Event()
        workers = WebhookWorkers(
            rt.app.webhooks,
            rt.feed,
            webhook_retry(settings),
            refresh=0.01,
            sending=webhook_sending(settings),
        )
        began = time.perf_counter()
        thread = workers.start(stop)
        got = receiver.wait_for(N, timeout=300)
        ours = time.perf_counter() - began
        stop.set()
        thread.join(10)
        assert len(got) == N
        bodies = [(r.body, dict(r.headers)) for r in got]
        receiver.clear()
        with httpx.Client(trust_env=False) as client:
            began = time.perf_counter()
            for body, headers in bodies:
                client.post(receiver.url, content=body, headers=headers)
            plain = time.perf_counter() - began
        assert len(receiver.accepted()) == N
    finally:
        rt.close()
        receiver.stop()
    print(
        f"\nwebhooks: {N} deliveries in {ours:.2f} s = {N / ours:,.0f}/s through the senders "
        f"(read from the log, signed, delivery log and position recorded every 100); plain httpx "
        f"{N / plain:,.0f}/s; ratio {plain / ours:.2f}"
    )
