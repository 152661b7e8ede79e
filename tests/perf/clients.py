"""HTTP load clients for the benchmarks, each in its own process.

This module imports nothing of breachledger: a client process starts quickly and small, so
neither its start-up nor its collector's pauses are counted in the server's latencies.
The clients start measuring together, once every one of them has started and warmed up.
"""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

import httpx

_all_ready: Any = None
"""In a client process: the barrier every client passes before its first measured request."""


def _ready(barrier: Any) -> None:
    """Client process start-up: keep the barrier."""
    global _all_ready
    _all_ready = barrier


def _client(args: tuple[str, dict[str, str], list[str]]) -> list[float]:
    """One client: keep-alive requests to ``paths`` in turn; latencies in ms."""
    url, headers, paths = args
    out = []
    with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
        c.get(paths[0])
        _all_ready.wait()
        for path in paths:
            t = time.perf_counter()
            r = c.get(path)
            out.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, (path, r.status_code, r.text[:200])
    return out


def load(url: str, headers: dict[str, str], paths_per_client: list[list[str]]) -> list[float]:
    """One client process per list of paths, all starting together; every latency in ms."""
    context = multiprocessing.get_context("spawn")
    clients = len(paths_per_client)
    barrier = context.Barrier(clients)
    jobs = [(url, headers, paths) for paths in paths_per_client]
    with context.Pool(clients, initializer=_ready, initargs=(barrier,)) as pool:
        return [ms for part in pool.map(_client, jobs, chunksize=1) for ms in part]
