"""Running processors: the one follow loop and the one supervision policy every worker uses."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from services.feeds.base import Positioned
from services.feeds.running import follow, keep_running


class Waits:
    """A feed that only records the positions it was asked to wait after."""

    def __init__(self) -> None:
        self.after: list[int] = []

    def read(self, after: int, limit: int) -> Sequence[Positioned]:
        """Nothing to read."""
        return []

    def head(self) -> int:
        """An empty log."""
        return 0

    def wait(self, after: int, timeout: float) -> bool:
        """Record the wait and return at once."""
        self.after.append(after)
        return False


def test_follow_catches_up_then_waits_after_the_position_reached() -> None:
    """Each pass catches up, then waits for a save after the position it reached; a stop
    ends the loop after the pass in hand."""
    feed = Waits()
    stop = threading.Event()
    reached = [0]

    def catch_up() -> None:
        reached[0] += 5
        if reached[0] >= 15:
            stop.set()

    follow("test", {}, catch_up, lambda: reached[0], feed, stop)
    assert feed.after == [5, 10, 15]


def test_a_failing_worker_runs_again_after_a_doubling_pause_until_stopped() -> None:
    """Three failures are retried after pauses of 1, 2 and 4 times the backoff; the worker
    then returns normally and, stopped, is not run again."""
    stop = threading.Event()
    calls: list[int] = []

    def body(stop_event: threading.Event) -> None:
        calls.append(len(calls))
        if len(calls) <= 3:
            msg = "broker away"
            raise RuntimeError(msg)
        stop_event.set()

    paused: list[float] = []
    original = stop.wait

    def wait(timeout: float | None = None) -> bool:
        if timeout is not None:
            paused.append(timeout)
        return original(0)

    stop.wait = wait  # type: ignore[method-assign]
    keep_running("test", body, stop, backoff=0.01, backoff_max=1.0)
    assert len(calls) == 4
    assert paused == [0.01, 0.02, 0.04]


def test_a_worker_failing_after_the_stop_is_not_run_again() -> None:
    """A failure once the stop is set ends the supervision instead of pausing again."""
    stop = threading.Event()
    calls: list[int] = []

    def body(stop_event: threading.Event) -> None:
        calls.append(1)
        stop_event.set()
        msg = "failed while stopping"
        raise RuntimeError(msg)

    keep_running("test", body, stop, backoff=0.01)
    assert calls == [1]
