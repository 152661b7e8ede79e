"""The gateway runs a face's command and makes its effects visible before returning."""

from __future__ import annotations

import threading
import time

import pytest

from services.gateway import Gateway


class CatchUps:
    """A hand-written catch-up that records when it ran and how many ran at once."""

    def __init__(self, pause: float = 0.0) -> None:
        self.calls: list[str] = []
        self.pause = pause
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(self.pause)
        self.calls.append("catch-up")
        with self._lock:
            self.running -= 1


def test_a_command_returns_its_result_after_the_catch_up() -> None:
    """The command runs first, then the catch-up, then the command's result is returned."""
    catch_up = CatchUps()
    gateway = Gateway(catch_up)

    def command(a: int, *, b: int) -> int:
        catch_up.calls.append("command")
        return a + b

    assert gateway.run(command, 2, b=3) == 5
    assert catch_up.calls == ["command", "catch-up"]


def test_a_refused_command_waits_for_nothing() -> None:
    """A command that raises changed nothing: its error reaches the caller and no catch-up runs."""
    catch_up = CatchUps()
    gateway = Gateway(catch_up)

    def refused() -> None:
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        gateway.run(refused)
    assert catch_up.calls == []


def test_concurrent_callers_catch_up_one_at_a_time() -> None:
    """Callers on several threads never run the catch-up at the same time."""
    catch_up = CatchUps(pause=0.02)
    gateway = Gateway(catch_up)
    threads = [threading.Thread(target=gateway.run, args=(lambda: None,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(catch_up.calls) == 4
    assert catch_up.most_at_once == 1
