"""Benchmark: importing 100,000 people into one incident, against plain sqlite3 inserts.

Prints people per second for both, their ratio, and how much the process's peak resident
memory grew during the import (it streams: memory is bounded by the batch size, not the file
size). Not pass/fail.
"""

from __future__ import annotations

import csv
import resource
import sqlite3
import time
from pathlib import Path

from services.application.context import RequestContext
from services.bootstrap import bootstrap
from services.config import Settings
from tests.support.people import person

N = 100_000


def baseline(path: Path, db_path: Path) -> float:
    """The same rows inserted with plain sqlite3 in batches of 1,000 (no validation,
    encryption or events): the raw floor."""
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(
        "CREATE TABLE people (email TEXT PRIMARY KEY, name TEXT, language TEXT, "
        "jurisdiction TEXT, reference TEXT, position TEXT)"
    )
    start = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        batch = []
        for row in reader:
            batch.append(row)
            if len(batch) == 1000:
                with db:
                    db.executemany("INSERT INTO people VALUES (?,?,?,?,?,?)", batch)
                batch = []
        if batch:
            with db:
                db.executemany("INSERT INTO people VALUES (?,?,?,?,?,?)", batch)
    elapsed = time.perf_counter() - start
    db.close()
    return elapsed


def test_import_100k_people(tmp_path: Path) -> None:
    """people/s of the import and of the raw baseline, their ratio, and peak memory."""
    path = tmp_path / "people.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(person(0)))
        writer.writeheader()
        for i in range(N):
            writer.writerow(person(i))
    raw = baseline(path, tmp_path / "raw.db")
    rt = bootstrap(Settings(data_dir=tmp_path / "var"), configure_logs=False)
    ctx = RequestContext(actor="bench")
    incident = rt.app.incidents.report_incident(
        {"title": "bench", "reporter": "bench", "discovered_at": "2026-11-01T00:00:00Z"}, ctx
    )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    report = rt.app.people.import_people(incident.id, path, ctx)
    ours = time.perf_counter() - start
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    start = time.perf_counter()
    again = rt.app.people.import_people(incident.id, path, ctx)
    rerun = time.perf_counter() - start
    rt.close()
    assert report.imported == N
    assert again.already_present == N
    print(
        f"\nimport of {N:,} people ({path.stat().st_size / 2**20:.1f} MiB CSV):\n"
        f"  raw sqlite3 baseline: {N / raw:,.0f} rows/s ({raw:.2f} s)\n"
        f"  breachledger import (validate, HMAC, per-person key, AES-GCM, events): "
        f"{N / ours:,.0f} people/s ({ours:.2f} s), ratio to baseline {raw / ours:.3f}\n"
        f"  growth of peak resident memory during the import: {rss_growth / 1024:.1f} MiB\n"
        f"  re-import of the same file (all already present): {N / rerun:,.0f} rows/s"
    )
