"""The worker threads the HTTP application runs blocking work on (a command, which waits on
the log and the views; a token looked up): one pool per application, handed work by the
event loop's own executor call, with the request's context variables (its log fields).

The framework's per-call hand-over (a capacity limiter, a cancel scope and a lookup of the
async library on every call) costs a write's request more of the interpreter than this.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from starlette.types import Scope

T = TypeVar("T")

REQUEST_THREADS = 40
"""Threads at most (as many as the framework's own pool): commands waiting on the views
hold theirs, so there are more than cores."""


def install(state: Any) -> None:
    """Give an application's ``state`` its pool (threads start as work arrives)."""
    state.request_threads = ThreadPoolExecutor(REQUEST_THREADS, thread_name_prefix="request")


async def in_thread(scope: Scope, work: Callable[..., T], *args: Any) -> T:
    """Run ``work(*args)`` on a thread of the pool of the application serving ``scope``."""
    pool: ThreadPoolExecutor = scope["app"].state.request_threads
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(pool, context.run, work, *args)
