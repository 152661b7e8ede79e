"""The gateway runs a face's command and makes its effects visible before returning."""

from __future__ import annotations

import threading
import time

import pytest

from services.gateway import Gateway


class CatchUps:
    """A hand-written log and catch-up: commands append to the log; the catch-up records
    when it ran, how many ran at once, and the log position it included."""

    def __init__(self, pause: float = 0.0, fail: int = 0) -> None:
        self.calls: list[str] = []
        self.pause = pause
        self.fail = fail
        self.head = 0
        self.included = 0
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def append(self) -> int:
        """A command recording one event; its position."""
        with self._lock:
            self.head += 1
            return self.head

    def position(self) -> int:
        return self.head

    def __call__(self) -> None:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            reached = self.head
        time.sleep(self.pause)
        self.calls.append("catch-up")
        with self._lock:
            self.running -= 1
            if self.fail:
                self.fail -= 1
                raise RuntimeError("catch-up failed")
            self.included = max(self.included, reached)


def test_a_command_returns_its_result_after_the_catch_up() -> None:
    """The command runs first, then the catch-up, then the command's result is returned."""
    catch_up = CatchUps()
    gateway = Gateway(catch_up, catch_up.position)

    def command(a: int, *, b: int) -> int:
        catch_up.calls.append("command")
        catch_up.append()
        return a + b

    assert gateway.run(command, 2, b=3) == 5
    assert catch_up.calls == ["command", "catch-up"]


def test_a_refused_command_waits_for_nothing() -> None:
    """A command that raises changed nothing: its error reaches the caller and no catch-up runs."""
    catch_up = CatchUps()
    gateway = Gateway(catch_up, catch_up.position)

    def refused() -> None:
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        gateway.run(refused)
    assert catch_up.calls == []


def test_concurrent_writers_share_catch_ups_and_each_sees_its_own_change() -> None:
    """Eight writers at once: never two catch-ups at the same time, fewer catch-ups than
    writers, and each writer returns only once a catch-up included its own event."""
    catch_up = CatchUps(pause=0.05)
    gateway = Gateway(catch_up, catch_up.position)
    barrier = threading.Barrier(8)
    seen: list[tuple[int, int]] = []

    def writer() -> None:
        barrier.wait()
        mine = gateway.run(catch_up.append)
        seen.append((mine, catch_up.included))

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 8
    assert all(included >= mine for mine, included in seen)
    assert catch_up.most_at_once == 1
    assert len(catch_up.calls) < 8


def test_a_caller_whose_change_is_included_already_waits_for_nothing() -> None:
    """With nothing new in the log since the last catch-up, a reader runs none."""
    catch_up = CatchUps()
    gateway = Gateway(catch_up, catch_up.position)
    gateway.run(catch_up.append)
    gateway.current()
    gateway.current()
    assert catch_up.calls == ["catch-up"]


def test_a_failed_catch_up_includes_nothing_and_the_next_caller_runs_it_again() -> None:
    """A catch-up that fails raises to its caller and marks nothing included: the next
    caller runs the catch-up again rather than trusting it."""
    catch_up = CatchUps(fail=1)
    gateway = Gateway(catch_up, catch_up.position)
    with pytest.raises(RuntimeError, match="catch-up failed"):
        gateway.run(catch_up.append)
    gateway.current()
    assert catch_up.calls == ["catch-up", "catch-up"]
    assert catch_up.included == 1


def test_a_command_waits_for_the_runners_and_catches_up_itself_only_when_they_fail() -> None:
    """With runners to wait for, a command is told the position to wait for and runs no
    catch-up; when the wait fails, it catches up itself before returning."""
    log = CatchUps()
    waited: list[int] = []
    answers = [True, False]

    def wait(position: int) -> bool:
        waited.append(position)
        return answers.pop(0)

    gateway = Gateway(log, log.position, wait)
    assert gateway.run(log.append) == 1
    assert (waited, log.calls) == ([1], [])
    assert gateway.run(log.append) == 2
    assert waited == [1, 2]
    assert len(log.calls) == 1
    assert log.included == 2


def test_a_command_waits_for_what_its_process_saved_not_for_the_store_s_head() -> None:
    """Told what this process saved last, the gateway waits for that position after a
    command and never asks the store for its head; a read-only caller still does."""
    catch_up = CatchUps()
    waited: list[int] = []
    asked: list[str] = []

    def head() -> int:
        asked.append("head")
        return catch_up.head + 100  # others' writes this process need not wait for

    def wait(position: int) -> bool:
        waited.append(position)
        return True

    gateway = Gateway(catch_up, head, wait, saved=catch_up.position)
    gateway.run(catch_up.append)
    assert (waited, asked) == ([1], [])
    gateway.current()
    assert (waited, asked) == ([1, 101], ["head"])
