"""A seeded schedule of failures played against a running scenario: worker processes killed
(SIGKILL of the whole process) and restarted, and the broker stopped for a while.

Each action waits until a measure of the scenario's progress reaches its threshold: the
head of the log (``events``) or the messages the SMTP server accepted (``sent``). The seed
fixes the actions, their thresholds, victims and pauses; print :meth:`Chaos.describe` to
replay a run (``BREACH_TEST_CHAOS_SEED``).
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from services.server.distributed import pipeline
from tests.distributed.scenario import Scenario, received
from tests.support.broker import Broker

SEED_VARIABLE = "BREACH_TEST_CHAOS_SEED"


def chosen_seed() -> int:
    """The seed named by ``BREACH_TEST_CHAOS_SEED``, or a fresh random one."""
    named = os.environ.get(SEED_VARIABLE)
    return int(named) if named else random.SystemRandom().randrange(2**32)


@dataclass(frozen=True)
class Action:
    """One failure: what, when (a measure reaching a threshold) and for how long."""

    what: str
    """A worker kind to kill and restart, or ``broker`` to stop and continue."""
    measure: str
    """``events`` (the head of the log) or ``sent`` (messages the SMTP server accepted)."""
    threshold: int
    pause: float
    """Seconds the victim stays down."""
    pick: int = 0
    """Which of the live workers of the kind is killed (modulo how many there are)."""

    def __str__(self) -> str:
        down = f"down {self.pause:.1f}s"
        victim = f" #{self.pick}" if self.what != "broker" else ""
        return f"{self.what}{victim} when {self.measure} >= {self.threshold}, {down}"


@dataclass
class Fired:
    """What an action found and did when it fired."""

    action: Action
    elapsed: float
    value: int
    detail: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        extra = ", ".join(f"{k}={v}" for k, v in self.detail.items())
        return f"t={self.elapsed:5.1f}s {self.action.measure}={self.value}: {self.action} ({extra})"


def plan(seed: int, *, people: int, events: int, outage: float) -> list[Action]:
    """The schedule of a seed: the relay, a projection worker and a dispatcher each killed
    once (the dispatcher while the campaign sends), one more kill of any of them, and the
    broker stopped for ``outage`` seconds while the campaign sends. ``events`` is about how
    many events the scenario stores."""
    rng = random.Random(seed)

    def down() -> float:
        return round(rng.uniform(0.2, 3.0), 1)

    def sending() -> int:
        return rng.randrange(people // 20, people * 7 // 10)

    def anywhere() -> int:
        return rng.randrange(50, events * 9 // 10)

    actions = [
        Action("relay", "events", anywhere(), down()),
        Action("projections", "events", anywhere(), down(), rng.randrange(2)),
        Action("dispatcher", "sent", sending(), down(), rng.randrange(2)),
        Action("broker", "sent", sending(), outage),
    ]
    extra = rng.choice(["relay", "projections", "dispatcher"])
    actions.append(Action(extra, "events", anywhere(), down(), rng.randrange(2)))
    return actions


class Chaos:
    """Plays a schedule against a scenario, one thread per action."""

    def __init__(self, seed: int, scenario: Scenario, broker: Broker, actions: list[Action]):
        self.seed = seed
        self.scenario = scenario
        self.broker = broker
        self.actions = actions
        self.fired: list[Fired] = []
        self.errors: list[BaseException] = []
        self.outage: tuple[float, float] | None = None
        """Wall-clock start and end of the broker outage."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._began = time.monotonic()

    def describe(self) -> str:
        """The seed and the schedule (planned, and as it fired)."""
        lines = [f"chaos seed {self.seed}; replay with {SEED_VARIABLE}={self.seed}"]
        lines += [f"  planned: {a}" for a in self.actions]
        lines += [f"  fired:   {f}" for f in sorted(self.fired, key=lambda f: f.elapsed)]
        return "\n".join(lines)

    def measure(self, name: str) -> int:
        """The current value of a measure."""
        if name == "events":
            return int(self.scenario.rt.feed.head())
        return int(received(self.scenario.sink).get("accepted", 0))

    def start(self) -> None:
        """Start every action's thread."""
        self._began = time.monotonic()
        for action in self.actions:
            thread = threading.Thread(target=self._play, args=(action,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def finish(self, timeout: float = 60.0) -> None:
        """Wait for every action to be done; fail if one did not fire or failed."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0.1))
        self._stop.set()
        assert not self.errors, f"the schedule failed: {self.errors!r}\n{self.describe()}"
        missed = [a for a in self.actions if a not in {f.action for f in self.fired}]
        assert not missed, f"actions that never fired: {missed}\n{self.describe()}"

    def abort(self) -> None:
        """Stop waiting for thresholds (after a failure); a stopped broker is continued."""
        self._stop.set()
        self.broker.process.send_signal(signal.SIGCONT)

    def _play(self, action: Action) -> None:
        try:
            while (value := self.measure(action.measure)) < action.threshold:
                if self._stop.wait(0.05) or self.scenario.phase == "done":
                    return
            elapsed = round(time.monotonic() - self._began, 1)
            detail = self._outage(action) if action.what == "broker" else self._kill(action)
            self.fired.append(Fired(action, elapsed, value, detail))
        except BaseException as e:  # reported by finish()
            self.errors.append(e)

    def _kill(self, action: Action) -> dict[str, Any]:
        cluster = self.scenario.cluster
        deadline = time.monotonic() + 30
        while True:
            # Another action may have this kind down: wait until it restarted one.
            with self._lock:
                victims = cluster.of(action.what)
                if victims:
                    victim = victims[action.pick % len(victims)]
                    cluster.kill(victim)
                    break
            assert time.monotonic() < deadline, f"no live {action.what} worker to kill"
            time.sleep(0.05)
        time.sleep(action.pause)
        with self._lock:
            restarted = cluster.start(action.what)
        return {"killed": victim.process.pid, "restarted": restarted.process.pid}

    def _outage(self, action: Action) -> dict[str, Any]:
        progress = pipeline(self.scenario.rt)
        began = time.time()
        with self.broker.paused():
            # Measured once the broker is stopped: whatever the relay publishes from here on
            # was acknowledged before the stop, so it was stored before this head was read.
            start = (progress.relay(), self.measure("events"))
            time.sleep(action.pause / 2)
            # The dispatchers may have sent every notice the views had projected before the
            # stop (the relay can lag after a kill), so the responder writes too: a command
            # must be stored while the broker is down whatever the workers happen to do.
            self.scenario.note("written while the broker is stopped")
            time.sleep(action.pause / 2)
            end = (progress.relay(), self.measure("events"))
        self.outage = (began, time.time())
        return {
            "relay_at_stop": start[0],
            "head_at_stop": start[1],
            "relay_at_continue": end[0],
            "head_at_continue": end[1],
        }
