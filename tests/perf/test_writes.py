"""Benchmark: the write path of a running server holding 10,000 incidents, with 1 client and
with 8, on the embedded SQLite store and on PostgreSQL.

Loads 10,000 reported incidents (``BENCH_WRITES_INCIDENTS`` to load fewer) through a runtime
of the test's own, then starts the real server (``breach serve`` in its own process, workers
on) and has client processes with keep-alive connections (started together at a barrier)
send, each in turn, authenticated with an API token:

- ``POST /api/v1/incidents``: report an incident (answered 201);
- ``POST /api/v1/incidents/{id}/notes``: a note on one of the loaded incidents, chosen at
  random (answered 200);
- the HTTP floor: the same note route with a body lacking its text, answered 422. FastAPI
  runs the route's caller dependency before reading the body, so the floor pays for what
  every write pays before its command runs (the connection, the request's parsing, the token
  looked up in the store, the permission check, the body read and validated, a JSON answer)
  and for nothing a write adds: no command, no event, no catch-up. It is a POST on the same
  route with a body of the same size, so the ratios to it are the cost of recording.

Every write returns once policies, views and the audit chain include it (read-your-writes),
so its latency includes the catch-up it waits for; concurrent writers share catch-ups.

Stores: SQLite with one server process; PostgreSQL (a fresh schema) with one server process,
then with two ``breach serve`` processes on that same schema (clients shared between them;
the lone client talks to the first). Without Kafka each server process brings policies,
views and the chain up to date itself, so two processes on one schema need no more than the
database (with Kafka they would wait for the ``breach worker`` processes instead, which this
benchmark does not start).

Prints, for each store, process count, client count and request: p50 and p99 latency,
throughput (requests/s over the measured window), and the ratios of p50 and throughput to
the floor's measured in the same run; the server processes' resident memory at start and
after the load (with the peak); and the bytes the store keeps per stored event and per view
row. Not pass/fail; the targets it is read against: on SQLite a write's p50 ≤ 6 ms with
1 client and ≥ 300 writes/s with 8 clients; on PostgreSQL ≥ 150 writes/s with 8 clients and
one process.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from services.application.context import RequestContext
from services.bootstrap import bootstrap, projections
from services.config import Settings
from tests.perf import clients
from tests.support import postgres
from tests.support.identity import provision
from tests.support.server import ServerProcess, rss_kib, running_server
from tests.support.store import RawStore, Store

INCIDENTS = int(os.environ.get("BENCH_WRITES_INCIDENTS", "10000"))
ONE_CLIENT = 100
"""Requests the lone client sends of each kind."""
CLIENTS = 8
EACH_OF_EIGHT = 100
"""Requests each of the 8 clients sends of each kind."""
SERVE_ARGS = ("--no-workers",) if os.environ.get("BENCH_WRITES_NO_WORKERS") else ()
"""``BENCH_WRITES_NO_WORKERS=1``: servers without background workers (every catch-up is then
a writer's), to tell the workers' share of a write's latency."""
DISCOVERED = "2026-11-27T08:00:00+00:00"


def load(settings: Settings) -> tuple[list[str], str]:
    """Report INCIDENTS incidents and bring views, policies and the chain up to them; the
    incidents' ids, and an API token of a responder."""
    rt = bootstrap(settings)
    try:
        ctx = RequestContext(actor="loader")
        ids: list[str] = []
        started = time.perf_counter()
        for i in range(INCIDENTS):
            incident = rt.app.incidents.report_incident(
                {
                    "title": f"Incident {i}: suspicious access to the HR share",
                    "reporter": "loader",
                    "discovered_at": DISCOVERED,
                },
                ctx,
            )
            ids.append(str(incident.id))
        rt.settle()
        token = provision(rt, "bench", ["responder"])
        rt.settle()
    finally:
        rt.close()
    print(f"\nloaded {INCIDENTS:,} incidents in {time.perf_counter() - started:.1f} s")
    return ids, token


@dataclass(frozen=True)
class Figures:
    """Latencies and throughput of one run."""

    p50: float
    p99: float
    per_second: float


Maker = Callable[[random.Random], clients.Request]
"""Builds one request from a client's random numbers."""


def run(
    servers: list[ServerProcess], token: str, clients_: int, each: int, make: Maker, status: int
) -> Figures:
    """``clients_`` clients (the i-th on server i mod n) sending ``each`` requests that
    ``make(rng)`` builds, each answered ``status``."""
    rngs = [random.Random(seed) for seed in range(clients_)]
    urls = [servers[i % len(servers)].url for i in range(clients_)]
    requests = [[make(rng) for _ in range(each)] for rng in rngs]
    ms, seconds = clients.send(urls, {"Authorization": f"Bearer {token}"}, requests, status)
    q = statistics.quantiles(ms, n=100)
    return Figures(q[49], q[98], len(ms) / seconds)


def kinds(ids: list[str]) -> list[tuple[str, Maker, int]]:
    """The floor and the two writes: name, request maker, expected status."""
    return [
        ("floor: note without text (422)", lambda r: _note(r, ids, {}), 422),
        (
            "report an incident",
            lambda r: (
                "POST",
                "/api/v1/incidents",
                {"title": f"Laptop {r.randrange(10**6)} stolen", "discovered_at": DISCOVERED},
            ),
            201,
        ),
        (
            "add a note",
            lambda r: _note(r, ids, {"text": f"Called the owner {r.randrange(10**6)}"}),
            200,
        ),
    ]


def _note(rng: random.Random, ids: list[str], body: dict[str, str]) -> clients.Request:
    return ("POST", f"/api/v1/incidents/{rng.choice(ids)}/notes", body)


def target(store: str, processes: int, clients_: int, f: Figures) -> str:
    """The target a write's figures are read against, and whether they meet it."""
    if store == "sqlite" and clients_ == 1:
        return f"target p50 ≤ 6 ms: {'met' if f.p50 <= 6 else 'MISSED'}"
    if store == "sqlite":
        return f"target ≥ 300/s: {'met' if f.per_second >= 300 else 'MISSED'}"
    if processes == 1 and clients_ == CLIENTS:
        return f"target ≥ 150/s: {'met' if f.per_second >= 150 else 'MISSED'}"
    return ""


def measure(store: str, servers: list[ServerProcess], token: str, ids: list[str]) -> None:
    """Print the floor and each write with 1 client and with 8, and the servers' memory."""
    rss = [rss_kib(s.process.pid) for s in servers]
    processes = len(servers)
    for clients_, each in ((1, ONE_CLIENT), (CLIENTS, EACH_OF_EIGHT)):
        floor: Figures | None = None
        for name, make, status in kinds(ids):
            f = run(servers, token, clients_, each, make, status)
            ratios, mark = "", ""
            if floor is None:
                floor = f
            else:
                rate = f.per_second / floor.per_second
                ratios = f"  p50 x{f.p50 / floor.p50:4.1f}  rate x{rate:4.2f}"
                mark = target(store, processes, clients_, f)
            print(
                f"{store:<8} {processes}p {clients_}c  {name:<31} p50 {f.p50:6.1f} ms  "
                f"p99 {f.p99:6.1f} ms  {f.per_second:6.0f}/s{ratios}  {mark}"
            )
    for s, start in zip(servers, rss, strict=True):
        now, peak = rss_kib(s.process.pid), rss_kib(s.process.pid, "VmHWM")
        print(
            f"{store:<8} {processes}p  server {s.process.pid} RSS at start {start / 1024:.0f} MiB,"
            f" after the load {now / 1024:.0f} MiB (peak {peak / 1024:.0f} MiB)"
        )


def view_rows(raw: RawStore) -> int:
    """Rows in every view table."""
    return sum(
        int(raw.run("views", f'SELECT COUNT(*) FROM "{t.name}"')[0][0])
        for p in projections()
        for t in p.tables
    )


def stored_bytes(raw: RawStore) -> tuple[int, int, int]:
    """Bytes the store keeps: the event log's, the view tables', and everything."""
    if raw.postgres:
        sizes = dict(
            postgres.rows(
                raw.schema,
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = ? AND c.relkind IN ('r', 'p')",
                [raw.schema],
            )
        )
        views = {t.name for p in projections() for t in p.tables}
        return (
            int(sizes.get(raw.events, 0)),
            sum(int(v) for k, v in sizes.items() if k in views),
            sum(int(v) for v in sizes.values()),
        )
    root = raw.settings.data_dir

    def size(pattern: str) -> int:
        return sum(p.stat().st_size for p in root.rglob(pattern) if p.is_file())

    return size("events.db*"), size("views.db*"), size("*")


def storage(store: str, settings: Settings, when: str) -> None:
    """Print the bytes kept per stored event and per view row."""
    raw = RawStore(settings)
    events, rows = raw.count_events(), view_rows(raw)
    log, views, everything = stored_bytes(raw)
    where = "tables' pg_total_relation_size" if raw.postgres else "files, WAL included"
    print(
        f"{store:<8} {when}: {events:,} events, {rows:,} view rows ({where}): "
        f"log {log / events:,.0f} B/event, views {views / max(rows, 1):,.0f} B/row, "
        f"all {everything / events:,.0f} B/event ({everything / 2**20:.1f} MiB)"
    )


def servers(stack: ExitStack, base: Path, store: Store, count: int) -> list[ServerProcess]:
    """Start ``count`` ``breach serve`` processes on the store, each with a data directory of
    its own on PostgreSQL (the store's own on SQLite), logging to a file."""
    if SERVE_ARGS:
        print(f"servers started with {' '.join(SERVE_ARGS)}")
    env = store.env(
        BREACH_LOG_LEVEL="warning",
        BREACH_PASSWORD_HASH_MEMORY_KIB="64",
        BREACH_COMMAND_RETRIES="50",
    )
    started = []
    for i in range(count):
        data_dir = base / f"serve-{i}" if store.postgres else base / "var"
        data_dir.mkdir(parents=True, exist_ok=True)
        log = base / f"serve-{i}.log"
        started.append(stack.enter_context(running_server(data_dir, *SERVE_ARGS, env=env, log=log)))
    return started


def test_writes_on_sqlite(tmp_path: Path) -> None:
    """Reporting incidents and adding notes through one server on the embedded store."""
    store = Store("sqlite")
    settings = store.settings(tmp_path / "var", log_level="warning")
    ids, token = load(settings)
    storage("sqlite", settings, "after loading")
    with ExitStack() as stack:
        measure("sqlite", servers(stack, tmp_path, store, 1), token, ids)
    storage("sqlite", settings, "after the writes")


def test_writes_on_postgres(tmp_path: Path) -> None:
    """The same through one server process on PostgreSQL, then through two on one schema."""
    with postgres.fresh_schema() as schema:
        store = Store("postgres", schema)
        settings = store.settings(tmp_path / "var", log_level="warning")
        ids, token = load(settings)
        storage("postgres", settings, "after loading")
        for count in (1, 2):
            with ExitStack() as stack:
                measure("postgres", servers(stack, tmp_path, store, count), token, ids)
            storage("postgres", settings, f"after the writes of {count} process(es)")
