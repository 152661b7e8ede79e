"""Whole-board replays served to readers over HTTP, bounded and cached.

A replay of the board rebuilds every view from the log up to a moment: seconds of CPU on a
long log. So one process rebuilds at most one at a time per user and ``limit`` in all; a
request beyond that is refused at once (:class:`~services.application.errors.TryLater`,
429, Retry-After: the time the last rebuild took). The last few boards rebuilt are kept by
log position, and settled moments by the position they end at, so asking again for a moment
(or for another moment at the same position) costs no rebuild.

The command line's ``breach replay --as-of`` runs in its own process and is not bounded.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from services.application.errors import TryLater
from services.bootstrap import Runtime
from services.operations import audit as service

BOARDS = 4
"""Rebuilt boards kept, by log position."""
MOMENTS = 256
"""Settled moments kept with the log position they end at."""

Rows = list[dict[str, Any]]
K = TypeVar("K")
V = TypeVar("V")


class BoardReplays:
    """The whole-board replays of one process: who is rebuilding one, and the boards kept."""

    def __init__(self, limit: int, *, boards: int = BOARDS, moments: int = MOMENTS) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._boards: OrderedDict[int, Rows] = OrderedDict()
        self._positions: OrderedDict[datetime, int] = OrderedDict()
        self._max_boards = boards
        self._max_moments = moments
        self._last_seconds = 5.0
        self.rebuilds = 0
        """Boards this process has rebuilt (the cache answers the other requests)."""

    def board_as_of(self, rt: Runtime, user: str, at: datetime) -> tuple[int, Rows]:
        """The board as recorded at ``at`` and the log position it ends at: from the cache,
        or rebuilt in ``user``'s turn (TryLater when they or too many others are already
        rebuilding one)."""
        with self._lock:
            position = _recall(self._positions, at)
            rows = _recall(self._boards, position) if position is not None else None
        if position is not None and rows is not None:
            return position, rows
        with self._turn(user):
            if position is None:
                position, settled = service.settled_position_at(rt, at)
                if settled:
                    with self._lock:
                        _keep(self._positions, at, position, self._max_moments)
            with self._lock:
                rows = _recall(self._boards, position)
            if rows is None:
                started = time.monotonic()
                rows = service.board_at(rt, position)
                with self._lock:
                    self.rebuilds += 1
                    self._last_seconds = time.monotonic() - started
                    _keep(self._boards, position, rows, self._max_boards)
            return position, rows

    @contextmanager
    def _turn(self, user: str) -> Iterator[None]:
        """Run as one of the rebuilds in progress, or refuse (TryLater)."""
        with self._lock:
            wait = max(1.0, math.ceil(self._last_seconds))
            if user in self._running:
                raise TryLater(
                    "at",
                    "another replay of the board you asked for is still being rebuilt: ask "
                    f"again once it is done (about {wait:.0f} s)",
                    wait,
                )
            if len(self._running) >= self.limit:
                raise TryLater(
                    "at",
                    f"{len(self._running)} replays of the board are being rebuilt: try again "
                    f"in {wait:.0f} s",
                    wait,
                )
            self._running.add(user)
        try:
            yield
        finally:
            with self._lock:
                self._running.discard(user)


def _recall(cache: OrderedDict[K, V], key: K) -> V | None:
    """The value kept under ``key`` (now the most recently used), or None."""
    found = cache.get(key)
    if found is not None:
        cache.move_to_end(key)
    return found


def _keep(cache: OrderedDict[K, V], key: K, value: V, size: int) -> None:
    """Keep ``value`` under ``key``, forgetting the least recently used beyond ``size``."""
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > size:
        cache.popitem(last=False)
