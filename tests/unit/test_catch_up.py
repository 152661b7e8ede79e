"""The server's catch-up loop: stages in order, each reported as it reaches the head, a
failing stage paused and reported gone while the others go on (over in-memory stages)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from services.feeds.base import Positioned
from services.feeds.catch_up import CatchUpLoop, Head
from services.feeds.processor import bounded
from services.feeds.progress import RunnerProgress


class Log:
    """A log whose head the test moves; waiting returns at once when something is new."""

    def __init__(self) -> None:
        self.position = 0
        self.waits = 0

    def read(self, after: int, limit: int) -> Sequence[Positioned]:
        """Nothing: the stages only ask for the head."""
        return []

    def head(self) -> int:
        """The head the test set."""
        return self.position

    def last_saved(self) -> int:
        """Nothing saved in this process: a pass asks for the head."""
        return 0

    def wait(self, after: int, timeout: float) -> bool:
        """Return at once when the head is beyond ``after``, else after a short pause."""
        self.waits += 1
        if self.position > after:
            return True
        time.sleep(min(timeout, 0.01))
        return False


class Stage:
    """Reaches the log's head on each pass, recording the order of calls in ``calls``;
    ``failures`` passes fail first."""

    def __init__(self, key: str, log: Log, calls: list[str], failures: int = 0) -> None:
        self.key = key
        self.log = log
        self.calls = calls
        self.failures = failures
        self.reached = 0

    def advance(self, head: Head | None = None) -> object:
        """Fail while failures remain; else reach the head."""
        self.calls.append(self.key)
        if self.failures:
            self.failures -= 1
            raise RuntimeError("stage bug")
        self.reached = self.log.head()
        return None


def test_a_pass_runs_the_stages_in_order_and_reports_each_position() -> None:
    """Policies, then views, then the chain, each told to the progress at the head."""
    log, calls, progress = Log(), [], RunnerProgress()
    log.position = 7
    stages = [Stage(k, log, calls) for k in ("policies", "views", "chain")]
    passes: list[int] = []
    loop = CatchUpLoop(stages, log, progress, after_pass=lambda: passes.append(1))
    for stage in stages:
        progress.join(stage.key)
    loop.pass_once()
    assert calls == ["policies", "views", "chain"]
    assert passes == [1]
    assert progress.wait(["policies", "views", "chain"], 7, time.monotonic() + 0.1)


def test_a_failing_stage_pauses_and_is_reported_gone_while_the_others_go_on() -> None:
    """The views fail twice: while they pause they are not among the runners waited for
    (a waiter is told at once and catches up itself), the policies and the chain keep
    reaching the head, and after the pauses the views come back and report it."""
    log, calls, progress = Log(), [], RunnerProgress()
    views_running: list[bool] = []

    class Chain(Stage):
        def advance(self, head: Head | None = None) -> object:
            views_running.append(progress.joined(["views"]))
            return super().advance(head)

    stages = [
        Stage("policies", log, calls),
        Stage("views", log, calls, failures=2),
        Chain("chain", log, calls),
    ]
    loop = CatchUpLoop(stages, log, progress, backoff=0.05, backoff_max=0.1)
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,))
    log.position = 3
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while not (progress.joined(["views"]) and stages[1].reached == 3):
            assert time.monotonic() < deadline, "the views never came back"
            time.sleep(0.01)
        assert progress.wait(["policies", "views", "chain"], 3, time.monotonic() + 1)
    finally:
        stop.set()
        thread.join(5)
    assert views_running[0] is False
    # Two failed calls, then the one that came back (an idle pass may follow before the
    # stop is seen).
    assert stages[1].failures == 0
    assert calls.count("views") >= 3
    assert views_running.count(False) >= 2  # the chain went on through both pauses
    assert not thread.is_alive()
    assert not progress.joined(["policies"])


def test_the_loop_stops_with_its_stop_hook_and_leaves_nobody_waiting() -> None:
    """When stopped the loop calls its stop hook once, and a waiter is told at once."""
    log, calls, progress = Log(), [], RunnerProgress()
    stopped: list[int] = []
    loop = CatchUpLoop(
        [Stage("policies", log, calls)], log, progress, on_stop=lambda: stopped.append(1)
    )
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,))
    thread.start()
    stop.set()
    thread.join(5)
    assert stopped == [1]
    started = time.monotonic()
    assert not progress.wait(["policies"], 10, time.monotonic() + 5)
    assert time.monotonic() - started < 1


class Told(Log):
    """A log whose save signal tells the last position saved; counts the store's head reads."""

    def __init__(self) -> None:
        super().__init__()
        self.saved = 0
        self.head_reads = 0

    def last_saved(self) -> int:
        return self.saved

    def head(self) -> int:
        self.head_reads += 1
        return super().head()


class Bounded(Stage):
    """Records how far each pass told it to go."""

    def __init__(self, key: str, log: Log, calls: list[str]) -> None:
        super().__init__(key, log, calls)
        self.told: list[int] = []

    def advance(self, head: Head | None = None) -> object:
        assert head is not None
        self.told.append(head())
        self.reached = head()
        return None


def test_a_pass_goes_as_far_as_the_save_signal_tells_without_asking_the_store() -> None:
    """With saves told beyond the stages, a pass goes to the last one told and never reads
    the head from the store; with none, it reads the head once; saves told during the pass
    (the policies' reactions) move how far it goes."""
    log, calls, progress = Told(), [], RunnerProgress()
    stages = [Bounded(k, log, calls) for k in ("policies", "views")]
    loop = CatchUpLoop(stages, log, progress)
    log.saved, log.position = 4, 9
    loop.pass_once()
    assert [s.told for s in stages] == [[4], [4]]
    assert log.head_reads == 0
    loop.pass_once()
    assert [s.told for s in stages] == [[4, 9], [4, 9]]
    assert log.head_reads == 1
    log.saved = 12
    loop.pass_once()
    assert stages[0].told[-1] == 12


def test_a_bounded_read_stops_at_the_head_without_reading() -> None:
    """A read at or beyond how far the pass goes answers nothing and reads nothing."""
    reads: list[int] = []

    def read(after: int, limit: int) -> Sequence[int]:
        reads.append(after)
        return [after + 1]

    within = bounded(read, lambda: 5)
    assert within(4, 10) == [5]
    assert within(5, 10) == []
    assert reads == [4]
    assert bounded(read, None) is read


def test_a_store_that_cannot_tell_its_head_leaves_each_stage_to_meet_the_failure() -> None:
    """When the head cannot be read, the pass still runs every stage, unbounded, and a
    stage that then fails is paused and reported gone like any failing stage."""

    class Away(Told):
        def head(self) -> int:
            raise ConnectionError("the database is away")

    log, calls, progress = Away(), [], RunnerProgress()
    given: list[object] = []

    class Reading(Stage):
        def advance(self, head: Head | None = None) -> object:
            given.append(head)
            self.calls.append(self.key)
            raise ConnectionError("the database is away")

    stages = [Reading(k, log, calls) for k in ("policies", "views")]
    loop = CatchUpLoop(stages, log, progress)
    for stage in stages:
        progress.join(stage.key)
    loop.pass_once()
    assert calls == ["policies", "views"]
    assert given == [None, None]
    assert not progress.joined(["policies"])
    assert not progress.joined(["views"])
