"""An SMTP sender in its own process, so the wire and the bookkeeping use separate cores.

The dispatcher hands it a batch of (recipient, message) pairs and gets the outcomes back;
the child keeps its pool of persistent connections between batches. If the child dies, the
batch in flight stays *sending* in the log and is resolved by the dispatcher's crash rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from services.collector import tune_for_long_work
from services.notifications.transport import Outcome, SmtpPool
from services.smtp_target import SmtpTarget

Batch = list[tuple[str, bytes]]


def _serve(conn: Connection, target: SmtpTarget, size: int, rate: float, sender: str) -> None:
    tune_for_long_work(collect_first=False)
    loop = asyncio.new_event_loop()
    pool = loop.run_until_complete(_make_pool(target, size, rate))
    try:
        while True:
            try:
                batch: Batch | None = conn.recv()
            except EOFError:
                break
            if batch is None:
                break
            outcomes = loop.run_until_complete(_send_all(pool, sender, batch))
            conn.send([(o.kind, o.reply) for o in outcomes])
    finally:
        loop.run_until_complete(pool.close())
        loop.close()


async def _send_all(pool: SmtpPool, sender: str, batch: Batch) -> list[Outcome]:
    return list(await asyncio.gather(*(pool.send(sender, r, m) for r, m in batch)))


async def _make_pool(target: SmtpTarget, size: int, rate: float) -> SmtpPool:
    return SmtpPool(target, size, rate)


class SenderProcess:
    """A child process sending batches over its own SMTP connection pool."""

    def __init__(self, target: SmtpTarget, size: int, rate: float, sender: str) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve,
            args=(child, target, size, rate, sender),
            daemon=True,
            name="breach-smtp-sender",
        )
        self._process.start()
        child.close()
        self._lock = threading.Lock()

    def send(self, batch: Sequence[tuple[str, bytes]]) -> list[Outcome]:
        """Send a batch and wait for its outcomes (blocking; run it in a thread)."""
        with self._lock:
            self._conn.send(list(batch))
            raw: Any = self._conn.recv()
        return [Outcome(kind, reply) for kind, reply in raw]

    def close(self) -> None:
        """Ask the child to finish, and wait for it."""
        with contextlib.suppress(BrokenPipeError, OSError):
            self._conn.send(None)
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
        self._conn.close()
