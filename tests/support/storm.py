"""A storm of anonymous sign-ins against a ``breach serve`` process, watched from outside:
its resident memory sampled while the storm lasts, and ``/healthz`` asked throughout."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

from tests.support.server import rss_kib
from tests.web.conftest import csrf_of

SAMPLE_SECONDS = 0.01
PROBE_SECONDS = 0.05


@dataclass
class StormReport:
    """What a storm did to the server."""

    answers: Counter[str]
    """Sign-in answers by status code (or by the name of the transport error)."""
    baseline_kib: int
    peak_kib: int
    seconds: float
    health_ms: list[float] = field(default_factory=list)
    """Latency of each /healthz answered 200 during the storm."""
    health_failures: int = 0
    """/healthz requests that failed or answered something else."""

    @property
    def growth_mib(self) -> float:
        """How far resident memory rose above where it stood before the storm."""
        return (self.peak_kib - self.baseline_kib) / 1024


def browser(url: str) -> tuple[httpx.Client, str]:
    """A client that has opened the sign-in page: (client, the form's token). Its
    connection is not kept: fifty forms take seconds to fetch, and a connection left idle
    as long as the server's keep-alive timeout could be closed by the server just as a
    storm sends on it."""
    client = httpx.Client(base_url=url, timeout=120)
    return client, csrf_of(client.get("/login", headers={"Connection": "close"}).text)


def sign_in_storm(url: str, pid: int, count: int) -> StormReport:
    """``count`` sign-ins at unknown usernames, each from its own client and thread,
    released together once every client holds its sign-in form; the server is process
    ``pid``."""
    browsers = [browser(url) for _ in range(count)]
    baseline = rss_kib(pid)
    high_before = rss_kib(pid, "VmHWM")
    samples = [baseline]
    health: list[float] = []
    failures = 0
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(rss_kib(pid))
            done.wait(SAMPLE_SECONDS)

    def probe() -> None:
        nonlocal failures
        with httpx.Client(base_url=url, timeout=5) as client:
            while not done.is_set():
                started = time.perf_counter()
                try:
                    ok = client.get("/healthz").status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    health.append((time.perf_counter() - started) * 1000)
                else:
                    failures += 1
                done.wait(PROBE_SECONDS)

    start = threading.Barrier(count)

    def sign_in(i: int) -> str:
        client, token = browsers[i]
        start.wait()
        try:
            answer = client.post(
                "/login", data={"csrf": token, "username": f"nobody{i}", "password": "a guess"}
            )
        except httpx.HTTPError as e:
            return type(e).__name__
        return str(answer.status_code)

    watchers = [threading.Thread(target=sample), threading.Thread(target=probe)]
    for watcher in watchers:
        watcher.start()
    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(count) as pool:
            answers = Counter(pool.map(sign_in, range(count)))
    finally:
        seconds = time.perf_counter() - started
        done.set()
        for watcher in watchers:
            watcher.join()
        for client, _ in browsers:
            client.close()
    high_after = rss_kib(pid, "VmHWM")
    peak = max(max(samples), high_after if high_after > high_before else 0)
    return StormReport(answers, baseline, peak, seconds, health, failures)
