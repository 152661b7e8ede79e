"""Wake-ups from PostgreSQL when any process stores events (LISTEN/NOTIFY).

The event recorder sends ``NOTIFY <channel>`` in every transaction that stores events, and
the server delivers it when that transaction commits. A :class:`SaveListener` holds one
connection listening on the channel, in a daemon thread started when first needed, and
calls ``on_notify`` for every wake-up: a feed waiting for other processes' events then
learns of them at once instead of at its next poll.

Polling stays the safety net. While the connection is down (logged, retried with growing
pauses) the feed still sees every event, only at its poll interval; a wake-up is also given
after every (re)connection, for what was stored while nobody listened.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import psycopg
import structlog
from psycopg.sql import SQL, Identifier

from services.storage.postgres import PostgresTarget

log = structlog.get_logger()


class SaveListener:
    """Listens on the event store's channel and calls ``on_notify`` for each notification."""

    def __init__(
        self,
        target: PostgresTarget,
        channel: str,
        on_notify: Callable[[], None],
        *,
        check_every: float = 0.5,
        retry_max: float = 30.0,
    ) -> None:
        self.target = target
        self.channel = channel
        self.on_notify = on_notify
        self.check_every = check_every
        self.retry_max = retry_max
        self.connected = threading.Event()
        self.backend_pid = 0
        """The server process of the listening connection (0 before the first)."""
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start listening (once; later calls do nothing)."""
        with self._lock:
            if self._thread is not None or self._stop.is_set():
                return
            self._thread = threading.Thread(target=self._run, name="pg-listen", daemon=True)
            self._thread.start()

    def close(self, timeout: float = 0.0) -> None:
        """Stop listening: the thread notices within ``check_every`` seconds and closes its
        connection; wait for that at most ``timeout`` seconds (by default not at all, so
        that a command ends at once)."""
        with self._lock:
            self._stop.set()
            thread = self._thread
        if thread is not None and timeout > 0:
            thread.join(timeout)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self._listen()
                return
            except Exception as e:  # the server or the network away: retry later
                self.connected.clear()
                if self._stop.is_set():
                    return  # closed meanwhile: the connection's end is expected
                failures += 1
                pause = min(0.5 * 2 ** (failures - 1), self.retry_max)
                log.warning(
                    "listen.lost",
                    where=self.target.where,
                    error=type(e).__name__,
                    failures=failures,
                    retry_in=pause,
                )
                self._stop.wait(pause)

    def _listen(self) -> None:
        kwargs = self.target.connect_kwargs()
        with psycopg.connect(**kwargs, autocommit=True) as conn:
            conn.execute(SQL("LISTEN {}").format(Identifier(self.channel)))
            self.backend_pid = conn.info.backend_pid
            self.connected.set()
            self.on_notify()
            while not self._stop.is_set():
                for _ in conn.notifies(timeout=self.check_every, stop_after=1):
                    self.on_notify()
