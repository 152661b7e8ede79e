"""A wake-up signal raised by local saves, so in-process feeds need not wait for a poll."""

from __future__ import annotations

import threading


class SaveSignal:
    """Remembers the highest position saved in this process and wakes waiters on change."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._last = 0

    @property
    def last(self) -> int:
        """The highest position saved in this process so far (0: none)."""
        return self._last

    def saved(self, position: int) -> None:
        """Record that events up to ``position`` were saved, waking every waiter."""
        with self._cond:
            if position > self._last:
                self._last = position
            self._cond.notify_all()

    def wait_beyond(self, position: int, timeout: float) -> bool:
        """Wait until a save past ``position`` is seen here, up to ``timeout`` seconds."""
        with self._cond:
            return self._cond.wait_for(lambda: self._last > position, timeout)
