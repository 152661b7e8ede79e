"""The in-memory progress of a process's runners: waiting for positions, runners leaving."""

from __future__ import annotations

import threading
import time

from services.feeds.progress import RunnerProgress

KEYS = ["policy:a", "projection:b"]


def test_a_waiter_returns_once_every_runner_passed_the_position() -> None:
    """A waiter blocks while one runner is behind and returns True as soon as it passes."""
    progress = RunnerProgress()
    for key in KEYS:
        progress.join(key)
    progress.passed("policy:a", 12)
    done: list[bool] = []
    waiter = threading.Thread(
        target=lambda: done.append(progress.wait(KEYS, 10, time.monotonic() + 5))
    )
    waiter.start()
    time.sleep(0.05)
    assert done == []
    progress.passed("projection:b", 10)
    waiter.join(5)
    assert done == [True]


def test_a_runner_that_leaves_releases_its_waiters_at_once() -> None:
    """A waiter for a runner that stops is told False at once, not at its deadline."""
    progress = RunnerProgress()
    for key in KEYS:
        progress.join(key)
    done: list[bool] = []
    waiter = threading.Thread(
        target=lambda: done.append(progress.wait(KEYS, 10, time.monotonic() + 30))
    )
    started = time.monotonic()
    waiter.start()
    time.sleep(0.05)
    progress.leave("projection:b")
    waiter.join(5)
    assert done == [False]
    assert time.monotonic() - started < 5


def test_a_wait_for_a_runner_not_running_or_behind_fails() -> None:
    """A runner never joined, or one behind at the deadline, makes the wait False; a pass
    reported by a runner that left changes nothing."""
    progress = RunnerProgress()
    progress.join("policy:a")
    assert not progress.wait(KEYS, 1, time.monotonic() + 0.01)
    assert not progress.wait(["policy:a"], 1, time.monotonic() + 0.01)
    progress.leave("policy:a")
    progress.passed("policy:a", 5)
    assert not progress.joined(["policy:a"])


def test_each_waiter_is_released_by_the_pass_that_reaches_its_own_position() -> None:
    """Waiters at three positions return one by one as passes reach each position, and a
    pass short of a waiter's position leaves it waiting."""
    progress = RunnerProgress()
    progress.join("policy:a")
    done: list[int] = []
    lock = threading.Lock()

    def wait(position: int) -> None:
        if progress.wait(["policy:a"], position, time.monotonic() + 10):
            with lock:
                done.append(position)

    waiters = [threading.Thread(target=wait, args=(p,)) for p in (5, 10, 15)]
    for w in waiters:
        w.start()
    time.sleep(0.05)
    for reached, released in ((4, []), (7, [5]), (12, [5, 10]), (15, [5, 10, 15])):
        progress.passed("policy:a", reached)
        time.sleep(0.05)
        with lock:
            assert sorted(done) == released
    for w in waiters:
        w.join(5)
