"""The SMTP floor the dispatch benchmarks compare with: plain aiosmtplib sending pre-built
messages over a number of persistent connections."""

from __future__ import annotations

import asyncio
import time

import aiosmtplib


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
