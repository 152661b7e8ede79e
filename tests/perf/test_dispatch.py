"""Benchmark: 20,000 notices end to end (render, send, record) to an SMTP sink in its own
process, against the same messages pre-built as bytes and sent with plain aiosmtplib over
the same number of persistent connections. Prints both rates and their ratio."""

from __future__ import annotations

import asyncio
import csv
import time
from datetime import UTC, datetime
from pathlib import Path

from services.application.context import RequestContext
from services.bootstrap import bootstrap
from services.config import Settings
from services.smtp_target import SmtpTarget
from tests.perf.smtp_floor import prebuilt_messages, raw_send
from tests.support.campaigns import CONTENT
from tests.support.identity import dpo_of
from tests.support.people import person
from tests.support.smtp import smtp_sink

N = 20_000
CONNECTIONS = 8


def test_dispatch_20k_notices(tmp_path: Path) -> None:
    """notices/s end to end and the raw aiosmtplib baseline, with their ratio."""
    path = tmp_path / "people.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(person(0)))
        writer.writeheader()
        for i in range(N):
            writer.writerow(person(i))
    settings = Settings(
        data_dir=tmp_path / "var", smtp_connections=CONNECTIONS, dispatch_batch_size=500
    )
    rt = bootstrap(settings, configure_logs=False)
    alice, dpo = RequestContext(actor="alice"), RequestContext(actor="dpo")
    incident = rt.app.incidents.report_incident(
        {"title": "bench", "reporter": "b", "discovered_at": "2026-11-01T00:00:00Z"}, alice
    )
    rt.app.people.import_people(incident.id, path, alice)
    rt.settle()
    campaign = rt.app.notifications.draft_campaign(
        incident.id, {"audience": "people", **CONTENT}, alice
    )
    rt.app.notifications.preview_campaign(campaign.id, alice)
    campaign = rt.app.notifications.load_campaign(campaign.id)
    rt.app.notifications.approve_campaign(campaign.id, dpo_of(rt, dpo))
    rt.app.notifications.start_dispatch(campaign.id, alice)
    rt.settle()
    now = datetime.now(UTC)
    prebuilt = prebuilt_messages(rt, campaign, incident.id, N)
    with smtp_sink(tmp_path) as sink:
        raw = asyncio.run(raw_send(sink.port, prebuilt, CONNECTIONS))
        dispatcher = rt.dispatcher(SmtpTarget("127.0.0.1", sink.port))
        start = time.perf_counter()
        report = asyncio.run(dispatcher.run())
        ours = time.perf_counter() - start
        state = sink.state()
    rt.close()
    assert report.sent == N
    assert state["unique"] == 2 * N
    assert not state["duplicates"]
    print(
        f"\n{N:,} notices over {CONNECTIONS} connections to a sink in its own process "
        f"({now:%Y-%m-%d}):\n"
        f"  raw aiosmtplib sendmail of pre-built bytes: {N / raw:,.0f} messages/s ({raw:.1f} s)\n"
        f"  breachledger dispatcher (render, build, send, record sending and outcome events): "
        f"{N / ours:,.0f} notices/s ({ours:.1f} s)\n"
        f"  ratio to baseline: {raw / ours:.2f}"
    )
