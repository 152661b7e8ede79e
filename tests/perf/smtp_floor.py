"""The SMTP floor the dispatch benchmarks compare with: a campaign's messages rendered and
built ahead, sent with plain aiosmtplib over a number of persistent connections."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import aiosmtplib

from services.bootstrap import Runtime
from services.notifications import message
from services.vault.sealing import PersonData
from tests.support.people import person


async def raw_send(port: int, messages: list[bytes], connections: int) -> float:
    """Seconds plain aiosmtplib takes to send ``messages`` over ``connections`` connections."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for m in messages:
        queue.put_nowait(m)

    async def worker() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
        await client.connect()
        while not queue.empty():
            await client.sendmail("dpo@example.org", ["x@example.org"], queue.get_nowait())
        await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return time.perf_counter() - started


def prebuilt_messages(rt: Runtime, campaign: Any, incident_id: Any, n: int) -> list[bytes]:
    """``n`` of the campaign's messages rendered and built ahead (the raw floor's input)."""
    context = rt.app.notifications.incident_context(incident_id)
    now = datetime.now(UTC)
    built = []
    for i in range(n):
        data = PersonData(email=person(i)["email"], name=person(i)["name"])
        rendered, address = rt.app.notifications.render_for(campaign, incident=context, person=data)
        built.append(
            message.build(
                message_id=f"<raw-{i}@bench.invalid>",
                sender=("DPO", "dpo@example.org"),
                recipient=address,
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html,
                date=now,
                language="en",
            )
        )
    return built
