"""How far this process's runners have got: the positions its background views, policies
and audit chain reached, kept in memory, and a way to wait for them.

Each runner of a running server (:class:`~services.feeds.processor.Runner`,
:class:`~services.feeds.processor.SharedRunner`) tells a :class:`RunnerProgress` the position
it reached after each pass (its own count, never read back from the tracking tables); a
command that must see its effects waits here until the runners it needs are at or beyond a
position, instead of doing their work again in its own thread. A runner that stops or fails
leaves the record, and whoever waits for it is told at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence


def runner_key(kind: str, name: str) -> str:
    """The key a runner reports under: its kind and name (``policy:playbooks``)."""
    return f"{kind}:{name}"


class RunnerProgress:
    """The positions reached by the runners of this process, by key."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._reached: dict[str, int] = {}

    def join(self, key: str, position: int = 0) -> None:
        """A runner starts, at ``position``."""
        with self._changed:
            self._reached[key] = max(position, self._reached.get(key, 0))
            self._changed.notify_all()

    def leave(self, key: str) -> None:
        """A runner stopped or failed: nobody waits for it any more."""
        with self._changed:
            self._reached.pop(key, None)
            self._changed.notify_all()

    def passed(self, key: str, position: int) -> None:
        """A pass of the runner ``key`` handled every event up to ``position``."""
        with self._changed:
            if key in self._reached:
                self._reached[key] = max(position, self._reached[key])
                self._changed.notify_all()

    def joined(self, keys: Sequence[str]) -> bool:
        """Whether every runner of ``keys`` is running."""
        with self._changed:
            return all(k in self._reached for k in keys)

    def wait(self, keys: Sequence[str], position: int, deadline: float) -> bool:
        """Wait until every runner of ``keys`` is at or beyond ``position``; False when one
        is not running (or stops meanwhile) or ``deadline`` (``time.monotonic``) passes."""

        def settled() -> bool:
            return any(k not in self._reached for k in keys) or all(
                self._reached[k] >= position for k in keys
            )

        with self._changed:
            self._changed.wait_for(settled, max(deadline - time.monotonic(), 0.0))
            return all(self._reached.get(k, -1) >= position for k in keys)
