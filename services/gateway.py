"""The faces' one way into the ledger: a command run through the gateway returns once its
effects are visible, so the caller's next read sees them (read-your-writes).

A face (CLI, API, web) passes the command's method and its arguments::

    incident = rt.gateway.run(rt.app.incidents.report_incident, data, ctx)

and never decides itself when policies, views and the audit chain catch up. How they catch
up is the runtime's choice, made once in :mod:`services.bootstrap`: embedded, in the
caller's process (one caller at a time); distributed, by waiting for the worker processes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class Gateway:
    """Runs commands for the faces and makes their effects visible before returning."""

    def __init__(self, catch_up: Callable[[], None]) -> None:
        self._catch_up = catch_up
        self._lock = threading.Lock()

    def run(self, command: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``command(*args, **kwargs)``; return its result once the policies have
        reacted to it and every view and the audit chain include it (a command that raises
        changed nothing, and nothing is waited for)."""
        result = command(*args, **kwargs)
        self.current()
        return result

    def current(self) -> None:
        """Bring policies, views and the chain to the head of the log: what a process that
        only reads needs once before its first read (a one-shot command, an export)."""
        with self._lock:
            self._catch_up()
