"""The one-holder lease on the real stores: of two processes' leases only one is taken; it
passes to the other when the holder releases it or dies (a killed process, a dropped
database connection), and a holder whose connection was dropped knows it lost it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from services.storage.postgres import PostgresTarget, lock_key
from services.storage.singleton import FileSingleton, PostgresSingleton
from tests.support import postgres

HOLD = """
import sys, time
from pathlib import Path
from services.storage.singleton import FileSingleton
lease = FileSingleton(Path(sys.argv[1]))
print("held" if lease.acquire() else "refused", flush=True)
time.sleep(60)
"""


def test_a_file_lease_has_one_holder_and_passes_on_when_its_holder_is_killed(
    tmp_path: Path,
) -> None:
    """Another process holds the file lease: ours is refused; once that process is killed
    (SIGKILL, no clean-up) ours is taken; a second lease in this process is then refused
    until ours is released."""
    path = tmp_path / "alert_mail.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        ours = FileSingleton(path)
        assert not ours.acquire()
    finally:
        holder.kill()
        holder.wait(10)
    assert ours.acquire()
    assert ours.held()
    other = FileSingleton(path)
    assert not other.acquire()
    ours.release()
    assert other.acquire()
    other.release()


def test_a_postgres_lease_has_one_holder_and_is_lost_with_its_connection() -> None:
    """Two leases of one name on one schema: one is taken; when the holder's connection is
    terminated by the server, the holder sees it no longer holds it and the other takes it;
    a lease of another name or schema is independent."""
    with postgres.fresh_schema() as schema:
        target = PostgresTarget.from_url(postgres.URL, schema)
        first = PostgresSingleton(target, lock_key(schema, "alert_mail"))
        second = PostgresSingleton(target, lock_key(schema, "alert_mail"))
        elsewhere = PostgresSingleton(target, lock_key(schema + "_other", "alert_mail"))
        try:
            assert first.acquire()
            assert not second.acquire()
            assert elsewhere.acquire()
            postgres.rows(
                schema,
                "SELECT pg_terminate_backend(pid) FROM pg_locks "
                "WHERE locktype = 'advisory' AND pid <> pg_backend_pid() AND granted "
                "AND objid = (hashtextextended(?, 0) & 4294967295)::oid",
                [lock_key(schema, "alert_mail")],
            )
            deadline = time.monotonic() + 10
            while first.held():
                assert time.monotonic() < deadline, "the terminated holder still says it holds"
                time.sleep(0.05)
            assert second.acquire()
        finally:
            for lease in (first, second, elsewhere):
                lease.release()
