"""Planner statistics on PostgreSQL: tables breachledger fills in bulk are analysed when the
bulk work ends (a rebuild or a long catch-up of the views, an import of people), so their
queries are planned on their real sizes even where autovacuum is slow or off."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.application.context import RequestContext
from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from services.people import handlers as people_handlers
from services.projections import views as views_module
from tests.support import postgres
from tests.support.clocks import ManualClock
from tests.support.people import person, write_csv
from tests.support.reports import report_input
from tests.support.store import Store

ALICE = RequestContext(actor="alice")


@pytest.fixture
def schema() -> Iterator[str]:
    with postgres.fresh_schema() as name:
        yield name


@pytest.fixture
def rt(schema: str, data_dir: Path, clock: ManualClock) -> Iterator[Runtime]:
    settings: Settings = Store("postgres", schema).settings(data_dir, log_level="warning")
    runtime = bootstrap(settings, clock=clock, configure_logs=False)
    yield runtime
    runtime.close()


def analysed(schema: str, *tables: str) -> dict[str, bool]:
    """Whether each table has been analysed by hand (not by autovacuum) since it was made."""
    found = postgres.rows(
        schema,
        "SELECT relname, last_analyze IS NOT NULL FROM pg_stat_user_tables "
        "WHERE schemaname = ? AND relname = ANY(?)",
        [schema, list(tables)],
    )
    return {name: bool(done) for name, done in found}


def test_a_rebuild_of_the_views_analyses_their_tables(
    rt: Runtime, schema: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before any bulk catch-up the board and tasks tables have no statistics of their own;
    a rebuild applying more events than the threshold analyses them and the tracking."""
    for i in range(5):
        rt.gateway.run(
            rt.app.incidents.report_incident, report_input(clock.current, title=f"Leak {i}"), ALICE
        )
    assert analysed(schema, "board", "tasks") == {"board": False, "tasks": False}
    monkeypatch.setattr(views_module, "ANALYZE_AFTER", 10)
    rt.views.rebuild()
    assert analysed(schema, "board", "tasks", "view_tracking") == {
        "board": True,
        "tasks": True,
        "view_tracking": True,
    }


def test_an_import_of_many_people_analyses_the_keys_and_lookups(
    rt: Runtime, schema: str, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import below the threshold leaves the key store's tables alone; one at or above it
    analyses the keys and the lookup index."""
    incident = rt.gateway.run(rt.app.incidents.report_incident, report_input(clock.current), ALICE)
    monkeypatch.setattr(people_handlers, "ANALYZE_AFTER", 20)
    few = write_csv(tmp_path / "few.csv", [person(i) for i in range(5)])
    rt.app.people.import_people(incident.id, few, ALICE)
    assert analysed(schema, "person_keys", "person_lookups") == {
        "person_keys": False,
        "person_lookups": False,
    }
    many = write_csv(tmp_path / "many.csv", [person(i) for i in range(100, 130)])
    rt.app.people.import_people(incident.id, many, ALICE)
    assert analysed(schema, "person_keys", "person_lookups") == {
        "person_keys": True,
        "person_lookups": True,
    }
