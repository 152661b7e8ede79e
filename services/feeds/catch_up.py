"""One catch-up loop for a running server: its policies, its views and the audit chain, in
that order, in one thread woken by saves.

Each is a *stage* (a :class:`~services.feeds.processor.SharedRunner` or a
:class:`~services.feeds.processor.Runner`) that a pass brings to the head of the log; after
each stage the loop tells a :class:`~services.feeds.progress.RunnerProgress` the position it
reached, which is what the server's commands wait for. One thread rather than one per
stage: a write wakes one thread instead of three, and a pass reads what the writes since the
last one saved in batches, so concurrent writers share it. The policies go first, so the
views and the chain of the same pass include their reactions.

A stage that fails is logged and left out for a pause that doubles up to a ceiling, and its
waiters are told at once (they catch up themselves meanwhile); the other stages go on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from services.feeds.base import Feed
from services.feeds.progress import RunnerProgress

Head = Callable[[], int]
"""How far a pass goes: every position up to it is saved (asked again as the pass goes, so
the reactions the pass itself saves are included)."""

log = structlog.get_logger()


class Stage(Protocol):
    """What the loop drives: a runner that a call of ``advance`` brings to the head of the
    log, remembering the position it reached."""

    @property
    def key(self) -> str:
        """The key it reports its progress under."""
        ...

    @property
    def reached(self) -> int:
        """The position its last pass reached (0 before the first)."""
        ...

    def advance(self, head: Head | None = None) -> object:
        """Handle every event up to the head of the log (up to ``head()``, when given)."""
        ...


class LoopFeed(Feed, Protocol):
    """The feed a catch-up loop follows: one that tells the last position saved."""

    def last_saved(self) -> int:
        """The last position known to be saved (0: none known)."""
        ...


@dataclass
class _Failing:
    failures: int
    retry_at: float


class CatchUpLoop:
    """Keeps every stage at the head of ``feed``, in order, in the calling thread.

    ``after_pass`` is called after each pass (the idle ones included) and ``on_stop`` once
    when the loop ends; ``idle_timeout`` is how long it waits for a save before a pass
    anyway (to see other processes' saves when nothing wakes it)."""

    def __init__(
        self,
        stages: Sequence[Stage],
        feed: LoopFeed,
        progress: RunnerProgress,
        *,
        after_pass: Callable[[], object] | None = None,
        on_stop: Callable[[], object] | None = None,
        idle_timeout: float = 1.0,
        backoff: float = 1.0,
        backoff_max: float = 30.0,
    ) -> None:
        self.stages = list(stages)
        self.feed = feed
        self.progress = progress
        self.after_pass = after_pass
        self.on_stop = on_stop
        self.idle_timeout = idle_timeout
        self.backoff = backoff
        self.backoff_max = backoff_max
        self._failing: dict[str, _Failing] = {}

    def _advance(self, stage: Stage, now: float, head: Head | None) -> None:
        key = stage.key
        failing = self._failing.get(key)
        if failing is not None and now < failing.retry_at:
            return
        try:
            stage.advance(head)
        except Exception:
            failures = failing.failures + 1 if failing is not None else 1
            pause = min(self.backoff * 2 ** (failures - 1), self.backoff_max)
            self._failing[key] = _Failing(failures, time.monotonic() + pause)
            self.progress.leave(key)
            log.exception("catch_up.stage_failed", stage=key, failures=failures, retry_in=pause)
            return
        if failing is not None:
            del self._failing[key]
            self.progress.join(key, stage.reached)
            log.info("catch_up.stage_recovered", stage=key, position=stage.reached)
        self.progress.passed(key, stage.reached)

    def _wait(self) -> None:
        healthy = [s.reached for s in self.stages if s.key not in self._failing]
        timeout = self.idle_timeout
        if self._failing:
            retry = min(f.retry_at for f in self._failing.values()) - time.monotonic()
            timeout = max(min(timeout, retry), 0.0)
        if healthy:
            self.feed.wait(min(healthy), timeout)
        else:
            time.sleep(timeout)

    def _head(self) -> Head | None:
        """How far the next pass goes (see the module); None when the store cannot say, so
        that each stage meets the failure on its own, paused and reported as usual."""
        feed = self.feed
        lowest = min((s.reached for s in self.stages if s.key not in self._failing), default=0)
        told = feed.last_saved()
        try:
            target = told if told > lowest else feed.head()
        except Exception:
            return None
        return lambda: max(target, feed.last_saved())

    def pass_once(self) -> None:
        """One pass: every stage (but those pausing after a failure) to the head of the log."""
        now = time.monotonic()
        head = self._head()
        for stage in self.stages:
            self._advance(stage, now, head)
        if self.after_pass is not None:
            self.after_pass()

    def run(self, stop: threading.Event) -> None:
        """Keep every stage at the head of the feed until ``stop`` is set."""
        keys = [s.key for s in self.stages]
        for stage in self.stages:
            self.progress.join(stage.key, stage.reached)
        log.info("catch_up.started", stages=keys)
        try:
            while not stop.is_set():
                self.pass_once()
                self._wait()
        finally:
            for key in keys:
                self.progress.leave(key)
            if self.on_stop is not None:
                try:
                    self.on_stop()
                except Exception:
                    log.exception("catch_up.stop_failed")
            log.info("catch_up.stopped", stages=keys)
