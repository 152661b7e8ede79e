"""Benchmark: storms of concurrent anonymous sign-ins against a real ``breach serve`` with
the default Argon2id cost (64 MiB per check) and the default bound of two checks at a time.

For each storm size prints the server's resident memory before and at its peak (sampled
from /proc every 10 ms, and its high-water mark), the growth and its ratio to the floor
measured first in the same run (the growth of one sign-in alone: one Argon2id check), the
answers by status, how long the storm took, and the latency of /healthz asked every 50 ms
throughout. Not pass/fail (the suite's load test asserts the bound); read against the
1 GiB memory limit of the Kubernetes API pods: with two checks at a time a storm should
cost about twice the floor, whatever its size.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import httpx

from tests.support.server import running_server
from tests.support.storm import StormReport, sign_in_storm
from tests.web.conftest import csrf_of

STORMS = (10, 50, 100)


def show(count: int, report: StormReport, floor_mib: float) -> None:
    """One storm's figures, its growth against one sign-in's."""
    answers = ", ".join(f"{status}: {n}" for status, n in sorted(report.answers.items()))
    health = report.health_ms
    if len(health) >= 2:
        q = statistics.quantiles(health, n=100, method="inclusive")
        latency = f"p50 {q[49]:.1f} ms  p99 {q[98]:.1f} ms  max {max(health):.1f} ms"
    else:
        latency = f"{len(health)} answers"
    print(
        f"{count:>4} sign-ins in {report.seconds:5.1f} s | RSS {report.baseline_kib / 1024:6.1f}"
        f" -> peak {report.peak_kib / 1024:6.1f} MiB (growth {report.growth_mib:6.1f} MiB,"
        f" x{report.growth_mib / max(floor_mib, 1.0):.1f} one sign-in's) | "
        f"answers {answers} | /healthz {latency}, {report.health_failures} failed"
    )


def test_sign_in_storms_against_the_default_hash_cost(tmp_path: Path) -> None:
    """Peak memory, answers and /healthz latency under 10, 50 and 100 concurrent sign-ins."""
    env = {"BREACH_HTTP_SECURE_COOKIES": "false", "BREACH_SIGNIN_CLIENT_FAILURES": "10000"}
    with running_server(tmp_path / "var", "--no-workers", env=env) as server:
        with httpx.Client(base_url=server.url, timeout=60) as warm:
            token = csrf_of(warm.get("/login").text)
            warm.post("/login", data={"csrf": token, "username": "warm", "password": "up"})
        print()
        floor = sign_in_storm(server.url, server.process.pid, 1)
        show(1, floor, floor.growth_mib)
        for count in STORMS:
            show(count, sign_in_storm(server.url, server.process.pid, count), floor.growth_mib)
