"""The faces' one way into the ledger: a command run through the gateway returns once its
effects are visible, so the caller's next read sees them (read-your-writes).

A face (CLI, API, web) passes the command's method and its arguments::

    incident = rt.gateway.run(rt.app.incidents.report_incident, data, ctx)

and never decides itself when policies, views and the audit chain catch up. How they catch
up is the runtime's choice, made once in :mod:`services.bootstrap`: embedded, in the
caller's process (one caller at a time); distributed, by waiting for the worker processes.
In a running server, whose own threads keep policies, views and the chain at the head of
the log, the runtime waits for those threads instead (``wait``), and catches up in the
caller's process only when they are not running or fall behind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class Gateway:
    """Runs commands for the faces and makes their effects visible before returning.

    Callers share catch-ups: ``head`` tells the log's last position; a caller whose change
    is not yet included waits while another caller's catch-up runs, and when it ends either
    returns (that catch-up began after its change) or runs the next one itself, for every
    caller waiting by then. Eight writers at once cost two catch-ups, not eight, and no two
    run at the same time. Given ``wait``, a caller first waits (with every other caller at
    once) for the runners that do that work elsewhere, and catches up only when that fails.
    """

    def __init__(
        self,
        catch_up: Callable[[], None],
        head: Callable[[], int],
        wait: Callable[[int], bool] | None = None,
        saved: Callable[[], int] | None = None,
    ) -> None:
        self._catch_up = catch_up
        self._head = head
        self._saved = saved
        """``saved()``: the last position this process saved (0: none), which a command's
        own changes are at or below; asked after a command instead of the store's head."""
        self._wait = wait
        """``wait(position)``: wait until policies, views and the chain include every
        position up to ``position``; True when they do, False when the caller must catch
        up instead. Callers wait at once, none for another."""
        self._changed = threading.Condition()
        self._running = False
        self._included = 0
        """Every position up to this one is included in policies, views and the chain."""

    def run(self, command: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``command(*args, **kwargs)``; return its result once the policies have
        reacted to it and every view and the audit chain include it (a command that raises
        changed nothing, and nothing is waited for)."""
        result = command(*args, **kwargs)
        self.current(self._saved() if self._saved is not None else 0)
        return result

    def current(self, wanted: int = 0) -> None:
        """Bring policies, views and the chain to (at least) position ``wanted``, or to the
        head of the log as it is now: what a process that only reads needs once before its
        first read (a one-shot command, an export), and what every command waits for."""
        wanted = wanted or self._head()
        if self._wait is not None and self._wait(wanted):
            return
        with self._changed:
            while self._included < wanted:
                if not self._running:
                    self._running = True
                    break
                self._changed.wait()
            else:
                return
        included = 0  # stays 0 when the catch-up fails: nothing is known to be included
        try:
            start = self._head()
            self._catch_up()
            included = start
        finally:
            with self._changed:
                self._running = False
                self._included = max(self._included, included)
                self._changed.notify_all()
