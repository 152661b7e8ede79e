"""What only PostgreSQL has: the schema made on first start, ``breach`` processes sharing one
database, a log whose positions stay gap-free when writes lose a race, an audit chain that
tells a skipped number from a deleted event, and a clear error when the server is away."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from eventsourcing.persistence import IntegrityError, ProgrammingError
from pydantic import SecretStr

from events.incident import IncidentNoteAdded
from events.users import Role
from services.application.context import RequestContext
from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from services.operations import audit as service
from services.storage.postgres import DatabaseUnavailable
from services.storage.recorder import LedgerPostgresRecorder
from tests.api.conftest import make_user
from tests.support import postgres
from tests.support.clocks import ManualClock
from tests.support.identity import provision
from tests.support.reports import report_input
from tests.support.server import running_server
from tests.support.store import RawStore, Store, count_events

BREACH = Path(sys.executable).parent / "breach"
TABLES = {
    "breachledger_events",
    "breachledger_tracking",
    "board",
    "obligations",
    "tasks",
    "people",
    "campaigns",
    "notices",
    "view_meta",
    "view_tracking",
    "links",
    "checkpoints",
    "person_keys",
    "person_lookups",
    "lookup_index_meta",
    "pending_erasures",
    "passwords",
    "tokens",
    "sessions",
}


@pytest.fixture
def pg() -> Iterator[Store]:
    with postgres.fresh_schema() as schema:
        yield Store("postgres", schema)


@pytest.fixture
def pg_settings(pg: Store, data_dir: Path) -> Settings:
    return pg.settings(data_dir, log_format="json", log_level="info")


@pytest.fixture
def pg_runtime(pg_settings: Settings, clock: ManualClock) -> Iterator[Runtime]:
    rt = bootstrap(pg_settings, clock=clock, configure_logs=False)
    yield rt
    rt.close()


def breach(pg: Store, data_dir: Path, *args: str, token: str = "") -> subprocess.Popen[str]:
    """Start ``breach`` on the test's schema (as the user ``token`` proves, if given)."""
    return subprocess.Popen(
        [str(BREACH), *args],
        env=pg.env(BREACH_DATA_DIR=str(data_dir), BREACH_TOKEN=token, BREACH_COMMAND_RETRIES="50"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def tables(schema: str) -> set[str]:
    return {
        r[0]
        for r in postgres.rows(
            schema,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
            [schema],
        )
    }


def test_the_schema_and_its_tables_are_created_on_first_start(
    pg: Store, pg_settings: Settings, clock: ManualClock
) -> None:
    """A schema that does not exist is created with every table at the first start; a
    second start finds them and keeps what was stored."""
    assert not postgres.schema_exists(pg.schema)
    rt = bootstrap(pg_settings, clock=clock, configure_logs=False)
    incident = rt.app.incidents.report_incident(
        report_input(clock.current), RequestContext(actor="a")
    )
    rt.close()
    assert postgres.schema_exists(pg.schema)
    assert tables(pg.schema) >= TABLES
    again = bootstrap(pg_settings, clock=clock, configure_logs=False)
    try:
        assert again.app.incidents.get_incident(incident.id).version == 1
        assert count_events(pg_settings) == 1
    finally:
        again.close()
    assert not (pg_settings.data_dir / "events.db").exists()


def test_breach_processes_adding_notes_to_one_incident_at_once_lose_nothing(
    pg: Store, pg_settings: Settings, pg_runtime: Runtime, data_dir: Path, clock: ManualClock
) -> None:
    """Six ``breach note`` processes on one schema, started together: six notes, no gap in
    the log's positions, and the audit chain over it verifies."""
    incident = pg_runtime.app.incidents.report_incident(
        report_input(clock.current), RequestContext(actor="a")
    )
    ann = provision(pg_runtime, "ann", [Role.RESPONDER])
    before = count_events(pg_settings)
    procs = [
        breach(pg, data_dir, "note", str(incident.id), f"note {i}", token=ann) for i in range(6)
    ]
    results = [(p.wait(timeout=60), p.stderr.read() if p.stderr else "") for p in procs]
    assert [code for code, _ in results] == [0] * 6, results
    history = pg_runtime.app.incidents.incident_history(incident.id)
    notes = sorted(e.text for e in history if isinstance(e, IncidentNoteAdded))
    assert notes == [f"note {i}" for i in range(6)]
    assert count_events(pg_settings) == before + 6
    assert [i.position for i in pg_runtime.feed.read(0, 100)] == list(range(1, before + 7))
    pg_runtime.link()
    assert service.verify_live(pg_runtime).ok


def test_a_commands_events_are_appended_by_the_schemas_function_drawing_no_position_on_a_lost_race(
    pg: Store, pg_runtime: Runtime, clock: ManualClock
) -> None:
    """A save without a tracking record goes through the schema's append function: an
    event colliding with a stored one raises eventsourcing's integrity error without
    drawing a number from the sequence, and the next save takes the next position."""
    alice = RequestContext(actor="alice")
    incident = pg_runtime.app.incidents.report_incident(report_input(clock.current), alice)
    recorder = pg_runtime.app.core.recorder
    assert isinstance(recorder, LedgerPostgresRecorder)
    sequence = f"{pg.schema}.breachledger_events"

    def last_drawn() -> object:
        return postgres.rows(
            pg.schema,
            "SELECT pg_sequence_last_value(pg_get_serial_sequence(?, 'notification_id'))",
            [sequence],
        )[0][0]

    drawn = last_drawn()
    with pytest.raises(IntegrityError):
        recorder.insert_events(recorder.select_events(incident.id))
    assert last_drawn() == drawn
    pg_runtime.app.incidents.add_note(incident.id, {"text": "after the lost race"}, alice)
    assert [i.position for i in pg_runtime.feed.read(0, 10)] == [1, 2]
    postgres.rows(pg.schema, f'DROP FUNCTION "{recorder.append_function}"')
    with pytest.raises(ProgrammingError):
        pg_runtime.app.incidents.add_note(incident.id, {"text": "no function"}, alice)


def test_views_rebuild_check_through_the_cli_is_equal(
    pg: Store, pg_settings: Settings, pg_runtime: Runtime, data_dir: Path, clock: ManualClock
) -> None:
    """`breach views rebuild --check` on PostgreSQL: equal after real work, and exit 1 naming
    the table once a live row is doctored."""
    alice = RequestContext(actor="alice")
    for i in range(5):
        incident = pg_runtime.app.incidents.report_incident(
            report_input(clock.current, title=f"I{i}", incident_type="ransomware"), alice
        )
        pg_runtime.app.incidents.triage_incident(
            incident.id, {"severity": "high", "incident_type": "ransomware"}, alice
        )
    pg_runtime.settle()
    check = breach(pg, data_dir, "views", "rebuild", "--check", "--json")
    assert check.wait(timeout=60) == 0, check.stderr.read() if check.stderr else ""
    assert check.stdout is not None
    assert json.loads(check.stdout.read()) == {"equal": True, "differences": {}}
    postgres.rows(pg.schema, "UPDATE tasks SET title = 'edited' WHERE step = 'isolate'")
    doctored = breach(pg, data_dir, "views", "rebuild", "--check", "--json")
    assert doctored.wait(timeout=60) == 1
    assert doctored.stdout is not None
    assert json.loads(doctored.stdout.read())["differences"] == {
        "tasks": {"missing_from_live": 5, "extra_in_live": 5}
    }


def test_a_skipped_position_is_linked_as_absent_and_must_stay_empty(
    pg: Store, pg_settings: Settings, pg_runtime: Runtime, clock: ManualClock
) -> None:
    """A number the sequence skipped (a write that failed after drawing it) does not stop the
    chain; an event later slipped into it, or a linked event deleted, is caught there."""
    alice = RequestContext(actor="alice")
    incident = pg_runtime.app.incidents.report_incident(report_input(clock.current), alice)
    sequence = f"{pg.schema}.breachledger_events"
    postgres.rows(
        pg.schema, "SELECT nextval(pg_get_serial_sequence(?, 'notification_id'))", [sequence]
    )
    pg_runtime.app.incidents.add_note(incident.id, {"text": "after the gap"}, alice)
    pg_runtime.app.incidents.add_note(incident.id, {"text": "and another"}, alice)
    assert [i.position for i in pg_runtime.feed.read(0, 10)] == [1, 3, 4]
    assert pg_runtime.link() == 3
    verdict = service.verify_live(pg_runtime)
    assert (verdict.ok, verdict.checked) == (True, 3)
    raw = RawStore(pg_settings)
    raw.copy_event(3, 2, 99)
    slipped = service.verify_live(pg_runtime)
    assert (slipped.ok, slipped.first_bad_position) == (False, 2)
    assert "appeared" in slipped.reason
    raw.delete_event(2)
    assert service.verify_live(pg_runtime).ok
    raw.delete_event(3)
    deleted = service.verify_live(pg_runtime)
    assert (deleted.ok, deleted.first_bad_position) == (False, 3)
    assert "deleted" in deleted.reason


def test_an_unreachable_server_is_named_in_a_clear_error(tmp_path: Path) -> None:
    """Nothing listening: bootstrap fails at once with the server's address, never the
    password."""
    settings = Settings(
        data_dir=tmp_path / "var",
        database_url=SecretStr("postgresql://breach:s3cret-pw@127.0.0.1:9/ledger"),
    )
    with pytest.raises(DatabaseUnavailable) as refused:
        bootstrap(settings, configure_logs=False)
    assert "127.0.0.1:9/ledger" in str(refused.value)
    assert "s3cret-pw" not in str(refused.value)


def test_two_api_processes_on_one_database_work_together(
    pg: Store, pg_settings: Settings, pg_runtime: Runtime, tmp_path: Path
) -> None:
    """Two ``breach serve`` processes with data directories of their own on one schema: an
    incident reported through one is read through the other at once, notes posted through
    both at the same time all land, and both boards show the same incident and version."""
    token, _ = make_user(pg_runtime, "resp", ["responder"])
    headers = {"Authorization": f"Bearer {token}"}
    env = pg.env(BREACH_PASSWORD_HASH_MEMORY_KIB="64", BREACH_COMMAND_RETRIES="50")
    with (
        running_server(tmp_path / "a", env=env) as a,
        running_server(tmp_path / "b", env=env) as b,
    ):
        body = {"title": "Laptop stolen", "discovered_at": "2026-11-27T08:00:00Z"}
        made = httpx.post(f"{a.url}/api/v1/incidents", json=body, headers=headers, timeout=30)
        assert made.status_code == 201, made.text
        path = f"/api/v1/incidents/{made.json()['id']}"
        seen = httpx.get(f"{b.url}{path}", headers=headers, timeout=30)
        assert seen.status_code == 200, seen.text
        assert seen.json()["title"] == "Laptop stolen"

        def note(i: int) -> int:
            server = (a, b)[i % 2]
            answer = httpx.post(
                f"{server.url}{path}/notes", json={"text": f"note {i}"}, headers=headers, timeout=60
            )
            return answer.status_code

        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(note, range(16))) == [200] * 16
        boards = [
            httpx.get(f"{s.url}/api/v1/incidents", headers=headers, timeout=30).json()["items"]
            for s in (a, b)
        ]
    history = pg_runtime.app.incidents.incident_history(UUID(made.json()["id"]))
    notes = sorted(e.text for e in history if isinstance(e, IncidentNoteAdded))
    assert notes == sorted(f"note {i}" for i in range(16))
    assert [(r["incident_id"], r["version"]) for r in boards[0]] == [(made.json()["id"], 17)], (
        boards[0]
    )
    assert boards[0] == boards[1]
    assert not (tmp_path / "a" / "events.db").exists()


def test_a_save_by_another_process_wakes_a_waiting_feed_at_once_even_after_a_lost_link(
    pg: Store, data_dir: Path, clock: ManualClock
) -> None:
    """With polls 60 s apart, a feed waiting for news learns of another runtime's save
    within a second (LISTEN/NOTIFY); after its listening connection is killed on the server
    it reconnects and the next save wakes it as fast."""
    slow = pg.settings(data_dir, feed_poll_interval=60.0)
    waiting = bootstrap(slow, clock=clock, configure_logs=False)
    saving = bootstrap(pg.settings(data_dir), clock=clock, configure_logs=False)
    ctx = RequestContext(actor="a")
    try:
        listener = waiting.feed.listener
        assert listener is not None
        for round_ in range(2):
            head = waiting.feed.head()
            timer = threading.Timer(
                0.3, lambda: saving.app.incidents.report_incident(report_input(clock.current), ctx)
            )
            timer.start()
            started = time.monotonic()
            assert waiting.feed.wait(head, timeout=10)
            assert time.monotonic() - started < 1.5
            timer.join()
            if round_ == 0:
                assert listener.connected.is_set()
                killed = postgres.rows(
                    pg.schema, "SELECT pg_terminate_backend(?)", [listener.backend_pid]
                )
                assert killed == [(True,)]
                wait_for(lambda: not listener.connected.is_set(), 5)
                wait_for(listener.connected.is_set, 10)
    finally:
        waiting.close()
        saving.close()


def wait_for(condition: Callable[[], bool], timeout: float) -> None:
    """Wait until ``condition`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_the_urls_libpq_parameters_reach_the_event_stores_connections(
    data_dir: Path, clock: ManualClock
) -> None:
    """A libpq parameter of the database URL (here application_name; in production sslmode
    and its certificates) applies to the log's connections too, not only to the other
    stores': the event store's sessions carry it."""
    with postgres.fresh_schema() as schema:
        url = f"{postgres.URL}?application_name=breach-log-check"
        rt = bootstrap(
            Store("postgres", schema).settings(data_dir, database_url=url),
            clock=clock,
            configure_logs=False,
        )
        try:
            rt.app.incidents.report_incident(report_input(clock.current), RequestContext(actor="a"))
            datastore = rt.app.core.factory.datastore  # type: ignore[attr-defined]
            with datastore.get_connection() as conn:
                row = conn.execute("SHOW application_name").fetchone()
            assert row == {"application_name": "breach-log-check"}
        finally:
            rt.close()
