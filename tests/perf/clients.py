"""HTTP load clients for the benchmarks, each in its own process.

This module imports nothing of breachledger: a client process starts quickly and small, so
neither its start-up nor its collector's pauses are counted in the server's latencies.
The clients start measuring together, once every one of them has started and warmed up.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import time
from typing import Any
from urllib.parse import urlsplit

_all_ready: Any = None
"""In a client process: the barrier every client passes before its first measured request."""


def _ready(barrier: Any) -> None:
    """Client process start-up: keep the barrier."""
    global _all_ready
    _all_ready = barrier


Request = tuple[str, str, Any]
"""One request a client sends: method, path and JSON body (None: no body)."""


def _sender(
    args: tuple[str, dict[str, str], list[Request], int],
) -> tuple[list[float], float, float]:
    """One client: keep-alive requests in turn, each answered ``status``; the latencies in
    ms, and the monotonic times the first measured request left and the last answer came.

    The standard library's HTTP client, not httpx: eight clients share the machine's two
    cores with the server and the database, and httpx spends several times the processor
    time per request, which the server's figures would pay for."""
    url, headers, requests, status = args
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    sent = {**headers, "Content-Type": "application/json"}

    def request(method: str, path: str, body: Any) -> tuple[int, bytes]:
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=sent)
        response = conn.getresponse()
        return response.status, response.read()

    try:
        request(*requests[0])
        _all_ready.wait()
        out = []
        began = time.monotonic()
        for method, path, body in requests:
            t = time.perf_counter()
            code, text = request(method, path, body)
            out.append((time.perf_counter() - t) * 1000)
            assert code == status, (method, path, code, text[:200])
        ended = time.monotonic()
    finally:
        conn.close()
    return out, began, ended


def send(
    urls: list[str], headers: dict[str, str], requests: list[list[Request]], status: int
) -> tuple[list[float], float]:
    """One client process per list of requests (the i-th sending to ``urls[i]``), all
    starting together after one unmeasured request each; every latency in ms, and the
    seconds from the first measured request leaving to the last answer."""
    context = multiprocessing.get_context("spawn")
    clients = len(requests)
    barrier = context.Barrier(clients)
    jobs = [(url, headers, part, status) for url, part in zip(urls, requests, strict=True)]
    with context.Pool(clients, initializer=_ready, initargs=(barrier,)) as pool:
        parts = pool.map(_sender, jobs, chunksize=1)
    latencies = [ms for part, _, _ in parts for ms in part]
    return latencies, max(e for _, _, e in parts) - min(b for _, b, _ in parts)


def load(url: str, headers: dict[str, str], paths_per_client: list[list[str]]) -> list[float]:
    """One client process per list of paths, GETting each in turn (answered 200), all
    starting together; every latency in ms."""
    requests: list[list[Request]] = [
        [("GET", p, None) for p in paths] for paths in paths_per_client
    ]
    return send([url] * len(requests), headers, requests, 200)[0]
