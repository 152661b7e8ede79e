"""The feed interface every consumer is written against."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

from events.base import DomainEvent


class Positioned(NamedTuple):
    """An event and its position in the log (positions increase, starting at 1)."""

    position: int
    event: DomainEvent


class Feed(Protocol):
    """Reads events in log order after a given position."""

    def read(self, after: int, limit: int) -> Sequence[Positioned]:
        """Return up to ``limit`` events whose position is greater than ``after``."""
        ...

    def head(self) -> int:
        """Return the position of the last event in the log (0 when empty)."""
        ...

    def wait(self, after: int, timeout: float) -> bool:
        """Block until an event after ``after`` may exist, or ``timeout`` seconds pass.

        Returns True when there may be something to read.
        """
        ...
