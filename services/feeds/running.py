"""Running event processors: one loop that keeps a processor at the head of its feed, and
one supervision policy for every long-running worker.

:func:`follow` is how a projection, a policy or the audit chain keeps up with the store
feed: catch up, then wait for the next save (or the idle timeout), until asked to stop.
:func:`keep_running` is how every worker of ``breach serve`` and ``breach worker`` survives
a failure: it is logged and the worker runs again after a pause that doubles up to a
ceiling, resuming from its tracked position (tenacity keeps the schedule).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import structlog
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential

from services.feeds.base import Feed

log = structlog.get_logger()


def follow(
    kind: str,
    labels: dict[str, Any],
    catch_up: Callable[[], object],
    position: Callable[[], int],
    feed: Feed,
    stop: threading.Event,
    *,
    idle_timeout: float = 1.0,
    pause: float = 0.0,
) -> None:
    """Keep a processor at the head of ``feed`` until ``stop`` is set: ``catch_up`` handles
    what is new, then the loop waits for a save after ``position()`` (and at least
    ``pause`` seconds: a processor that need not follow each save closely passes over the
    log once for many). ``kind`` names the log events (``<kind>.started``, ``.failed``,
    ``.stopped``), ``labels`` their fields."""
    log.info(f"{kind}.started", **labels, position=position())
    while not stop.is_set():
        try:
            catch_up()
        except Exception:
            log.exception(f"{kind}.failed", **labels, position=position())
            raise
        if pause and stop.wait(pause):
            break
        feed.wait(position(), idle_timeout)
    log.info(f"{kind}.stopped", **labels, position=position())


def keep_running(
    name: str,
    body: Callable[[threading.Event], None],
    stop: threading.Event,
    *,
    backoff: float = 1.0,
    backoff_max: float = 30.0,
) -> None:
    """Run ``body(stop)`` until ``stop`` is set; when it fails, log and run it again after a
    pause of ``backoff`` seconds doubling up to ``backoff_max`` (reset once it returns)."""

    def failed(state: RetryCallState) -> None:
        outcome = state.outcome
        pause = state.next_action.sleep if state.next_action is not None else 0.0
        log.error(
            "worker.failed",
            worker=name,
            failures=state.attempt_number,
            retry_in=pause,
            exc_info=outcome.exception() if outcome is not None else None,
        )

    def pause(seconds: float) -> None:
        stop.wait(seconds)

    while not stop.is_set():
        retrying = Retrying(
            retry=retry_if_exception_type(Exception),
            wait=wait_exponential(multiplier=backoff, max=backoff_max),
            stop=lambda _state: stop.is_set(),
            sleep=pause,
            before_sleep=failed,
            reraise=False,
        )
        try:
            retrying(body, stop)
        except Exception:  # the last failure, when stop was set meanwhile
            log.info("worker.stopping_after_failure", worker=name)
            return


def supervised(
    name: str,
    body: Callable[[threading.Event], None],
    stop: threading.Event,
    *,
    backoff: float = 1.0,
) -> threading.Thread:
    """:func:`keep_running` in a daemon thread named ``name``, started."""
    thread = threading.Thread(
        target=keep_running, args=(name, body, stop), kwargs={"backoff": backoff}, daemon=True
    )
    thread.name = name
    thread.start()
    return thread
