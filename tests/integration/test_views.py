"""Views: tracked in the same transaction, applied exactly once, rebuilt to equal content."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from events.base import DomainEvent
from services.application.context import RequestContext
from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from services.demo import DEMO_FACTS
from services.feeds.store import StoreFeed
from services.projections.postgres_store import PostgresViewStore
from services.projections.schema import Projection, Table, ViewTransaction
from services.projections.sqlite_store import SQLiteViewStore
from services.projections.store import ViewStore
from services.projections.views import Views
from services.projections.worker import ProjectionWorker, ViewSet
from services.storage.postgres import PostgresDatabase, PostgresTarget
from tests.support.clocks import ManualClock
from tests.support.reports import report_input
from tests.support.store import Store
from tests.support.threads import race

OpenStore = Callable[[str, Sequence[Projection]], ViewStore]

COUNTS = Table("event_counts", {"kind": "TEXT", "n": "INTEGER"}, key=("kind",))


class CountingProjection:
    """Counts events by type: any event applied twice would show up as a wrong count."""

    name = "counts"
    version = 1
    tables: Sequence[Table] = (COUNTS,)
    handles: tuple[type[DomainEvent], ...] = (DomainEvent,)

    def __init__(self, fail_at: int | None = None) -> None:
        self.fail_at = fail_at

    def process(self, event: DomainEvent, position: int, tx: ViewTransaction) -> None:
        if position == self.fail_at:
            raise RuntimeError("projection bug")
        kind = type(event).__name__
        row = tx.get(COUNTS.name, {"kind": kind})
        tx.upsert(COUNTS.name, {"kind": kind, "n": (row["n"] if row else 0) + 1})


def counts(store: ViewStore) -> dict[str, int]:
    return {r["kind"]: r["n"] for r in store.query("SELECT * FROM event_counts")}


@pytest.fixture
def open_store(store: Store, settings: Settings, tmp_path: Path) -> Iterator[OpenStore]:
    """Opens view stores of the test's kind, each with its own connections: an SQLite file
    under the test's directory, or the test's PostgreSQL schema."""
    pools: list[PostgresDatabase] = []

    def open_(name: str, projections: Sequence[Projection]) -> ViewStore:
        if not store.postgres:
            return SQLiteViewStore(tmp_path / f"{name}.db", projections)
        assert settings.database_url is not None
        target = PostgresTarget.from_url(settings.database_url.get_secret_value(), store.schema)
        database = PostgresDatabase(target)
        pools.append(database)
        return PostgresViewStore(database, projections)

    yield open_
    for database in pools:
        database.close()


def populate(rt: Runtime, clock: ManualClock, ctx: RequestContext, n: int) -> None:
    for i in range(n):
        incident = rt.app.incidents.report_incident(
            report_input(clock.current, title=f"Incident {i}"), ctx
        )
        if i % 3 == 0:
            rt.app.incidents.triage_incident(incident.id, {"severity": "medium"}, ctx)
        if i % 5 == 0:
            rt.app.incidents.close_incident(incident.id, {"resolution": "false positive"}, ctx)


def test_catch_up_applies_each_event_once_and_tracks_the_position(
    runtime: Runtime, clock: ManualClock, alice: RequestContext
) -> None:
    """A second catch-up finds nothing to do; the board has one row per incident."""
    populate(runtime, clock, alice, 10)
    head = runtime.feed.head()
    views = len(runtime.views.workers)
    assert runtime.views.catch_up() == head * views
    assert runtime.views.catch_up() == 0
    assert set(runtime.views.lag().values()) == {0}
    assert "board" in runtime.views.lag()
    assert len(runtime.board.rows()) == 10
    assert len(runtime.board.rows(status="closed")) == 2


def test_two_workers_racing_on_one_view_never_apply_an_event_twice(
    runtime: Runtime, open_store: OpenStore, clock: ManualClock, alice: RequestContext
) -> None:
    """Four threads with their own connections and batch sizes catch up one view at once."""
    populate(runtime, clock, alice, 60)
    stores = [open_store("race", [CountingProjection()]) for _ in range(4)]
    stores[0].create_table()
    feed = StoreFeed(runtime.app.core.recorder, runtime.app.core.mapper)
    workers = [
        ProjectionWorker(feed, s, CountingProjection(), batch_size=size)
        for s, size in zip(stores, (3, 5, 7, 11), strict=True)
    ]
    race(*(w.catch_up for w in workers))
    expected: dict[str, int] = {}
    for item in feed.read(0, 10_000):
        kind = type(item.event).__name__
        expected[kind] = expected.get(kind, 0) + 1
    assert counts(stores[0]) == expected
    assert all(s.position("counts") == feed.head() for s in stores)
    for s in stores:
        s.close()


class OtherCounts(CountingProjection):
    """A second counting view, in tables of its own."""

    name = "other_counts"
    tables: Sequence[Table] = (
        Table("other_event_counts", {"kind": "TEXT", "n": "INTEGER"}, key=("kind",)),
    )

    def process(self, event: DomainEvent, position: int, tx: ViewTransaction) -> None:
        kind = type(event).__name__
        row = tx.get("other_event_counts", {"kind": kind})
        tx.upsert("other_event_counts", {"kind": kind, "n": (row["n"] if row else 0) + 1})


def kinds(feed: StoreFeed) -> dict[str, int]:
    """Events of the log by type, counted."""
    expected: dict[str, int] = {}
    for item in feed.read(0, 10_000):
        kind = type(item.event).__name__
        expected[kind] = expected.get(kind, 0) + 1
    return expected


def test_view_sets_and_single_views_racing_never_apply_an_event_twice(
    runtime: Runtime, open_store: OpenStore, clock: ManualClock, alice: RequestContext
) -> None:
    """Three view sets of two views and a lone worker of one of them, with their own
    connections and batch sizes, catch up at once: each view counts every event once."""
    populate(runtime, clock, alice, 60)
    views = (CountingProjection(), OtherCounts())
    stores = [open_store("sets", views) for _ in range(4)]
    stores[0].create_table()
    feed = StoreFeed(runtime.app.core.recorder, runtime.app.core.mapper)
    calls: list[Callable[[], object]] = [
        ProjectionWorker(feed, stores[3], CountingProjection(), batch_size=4).catch_up
    ]
    for store, size in zip(stores[:3], (3, 7, 11), strict=True):
        calls.append(partial(Views(feed, store, views).catch_up, batch_size=size))
    race(*calls)
    expected = kinds(feed)
    assert counts(stores[0]) == expected
    other = stores[0].query("SELECT * FROM other_event_counts")
    assert {r["kind"]: r["n"] for r in other} == expected
    assert stores[0].positions(["counts", "other_counts"]) == {
        "counts": feed.head(),
        "other_counts": feed.head(),
    }
    for s in stores:
        s.close()


MERGED = Table(
    "merged_counts",
    {"kind": "TEXT", "n": "INTEGER", "first": "INTEGER", "last": "INTEGER"},
    key=("kind",),
    merge=(("n", "sum"), ("first", "min"), ("last", "max")),
)


class MergedCounts:
    """Counts events by type by merging one row per event: sum, lowest and highest position."""

    name = "merged"
    version = 1
    tables: Sequence[Table] = (MERGED,)
    handles: tuple[type[DomainEvent], ...] = (DomainEvent,)

    def process(self, event: DomainEvent, position: int, tx: ViewTransaction) -> None:
        row = {"kind": type(event).__name__, "n": 1, "first": position, "last": position}
        tx.merge(MERGED.name, row)


def test_rows_merged_by_workers_of_different_streams_at_once_add_up(
    runtime: Runtime, open_store: OpenStore, clock: ManualClock, alice: RequestContext
) -> None:
    """Three workers, each applying the events of its own aggregates as a stream of the
    log (as partition workers do), merge into the same rows at once in small batches: each
    row sums its events once and keeps their lowest and highest positions (and no worker
    waits on another's rows for ever)."""
    populate(runtime, clock, alice, 60)
    feed = StoreFeed(runtime.app.core.recorder, runtime.app.core.mapper)
    items = feed.read(0, 10_000)
    stores = [open_store("merged", (MergedCounts(),)) for _ in range(3)]
    stores[0].create_table()

    def stream(k: int) -> None:
        mine = [i for i in items if i.event.originator_id.int % 3 == k]
        views = ViewSet(stores[k], (MergedCounts(),))
        for start in range(0, len(mine), 5):
            views.process(mine[start : start + 5], views.position(f"p{k}"), stream=f"p{k}")

    race(*(partial(stream, k) for k in range(3)))
    expected: dict[str, tuple[int, int, int]] = {}
    for item in items:
        kind = type(item.event).__name__
        n, first, _ = expected.get(kind, (0, item.position, 0))
        expected[kind] = (n + 1, first, item.position)
    rows = stores[0].query("SELECT * FROM merged_counts")
    assert {r["kind"]: (r["n"], r["first"], r["last"]) for r in rows} == expected
    assert len(expected) >= 3
    for store in stores:
        store.close()


def test_a_view_set_goes_on_from_a_view_moved_on_elsewhere_and_rereads_a_reset_one(
    runtime: Runtime, open_store: OpenStore, clock: ManualClock, alice: RequestContext
) -> None:
    """A set's remembered positions may be stale: a view another worker moved on is
    continued from where it is, and a view reset meanwhile makes the batch a race, after
    which the positions are read again and the reset view is rebuilt in full."""
    populate(runtime, clock, alice, 10)
    store = open_store("stale", [CountingProjection(), OtherCounts()])
    store.create_table()
    feed = StoreFeed(runtime.app.core.recorder, runtime.app.core.mapper)
    views = ViewSet(store, [CountingProjection(), OtherCounts()])
    assert views.position() == 0
    ProjectionWorker(feed, store, CountingProjection(), batch_size=5).catch_up()
    outcome = views.process(feed.read(0, 10_000), 0)
    assert not outcome.raced
    assert outcome.reached == feed.head()
    assert counts(store) == kinds(feed)
    populate(runtime, clock, alice, 2)
    store.reset(CountingProjection())
    assert views.process(feed.read(views.position(), 10_000), views.position()).raced
    assert views.position() == 0
    views.process(feed.read(0, 10_000), 0)
    assert counts(store) == kinds(feed)
    other = store.query("SELECT * FROM other_event_counts")
    assert {r["kind"]: r["n"] for r in other} == kinds(feed)
    store.close()


def test_a_failing_projection_leaves_its_batch_unapplied(
    runtime: Runtime, open_store: OpenStore, clock: ManualClock, alice: RequestContext
) -> None:
    """An error mid-batch rolls back the batch's rows and its position together, for
    every view of the set."""
    populate(runtime, clock, alice, 4)
    store = open_store("fail", [CountingProjection(fail_at=3), OtherCounts()])
    store.create_table()
    views = Views(runtime.feed, store, [OtherCounts(), CountingProjection(fail_at=3)])
    with pytest.raises(RuntimeError, match="projection bug"):
        views.catch_up()
    assert store.positions(["counts", "other_counts"]) == {"counts": 0, "other_counts": 0}
    assert counts(store) == {}
    assert store.query("SELECT * FROM other_event_counts") == []
    store.close()


def test_a_new_projection_version_rebuilds_the_view_on_start(
    runtime: Runtime, open_store: OpenStore, clock: ManualClock, alice: RequestContext
) -> None:
    """Raising a projection's version drops its stale rows and position when the store opens."""
    populate(runtime, clock, alice, 3)
    store = open_store("versioned", [CountingProjection()])
    store.create_table()
    Views(runtime.feed, store, [CountingProjection()]).catch_up()
    assert store.position("counts") == runtime.feed.head()
    store.close()

    class CountingV2(CountingProjection):
        version = 2

    reopened = open_store("versioned", [CountingV2()])
    reopened.create_table()
    assert reopened.position("counts") == 0
    assert counts(reopened) == {}
    assert reopened.stored_version("counts") == 2
    reopened.close()


def test_rebuild_gives_a_board_equal_to_the_live_one(
    runtime: Runtime, clock: ManualClock, alice: RequestContext
) -> None:
    """A board kept current incrementally equals one rebuilt from the whole log."""
    for _ in range(3):
        populate(runtime, clock, alice, 20)
        runtime.views.catch_up()
    live: Any = runtime.board.signature()
    assert runtime.views.rebuild() == runtime.feed.head() * len(runtime.views.workers)
    assert runtime.board.signature() == live
    assert len(live) == 60


def test_views_follow_the_log_in_the_background(
    settings: Settings, clock: ManualClock, alice: RequestContext
) -> None:
    """Started workers keep the board current without any explicit catch-up."""
    rt = bootstrap(settings, clock=clock, configure_logs=False)
    stop = threading.Event()
    threads = rt.views.start(stop)
    try:
        incident = rt.app.incidents.report_incident(report_input(clock.current), alice)
        for _ in range(50):
            if rt.views.lag()["board"] == 0:
                break
            threading.Event().wait(0.05)
        assert [r["incident_id"] for r in rt.board.rows()] == [str(incident.id)]
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=5)
        rt.close()


def _expected_board(rt: Runtime, incident_id: UUID) -> tuple[Any, ...]:
    """Progress and next deadline of an incident as the task and obligation views tell them."""
    done, total = rt.tasks.progress(incident_id)
    open_ = sorted(
        (r["deadline"], r["regime_name"])
        for r in rt.obligations.rows(incident_id=str(incident_id), open_only=True)
        if r["triggered"] and r["deadline"] is not None
    )
    deadline, regime = open_[0] if open_ else (None, None)
    return done, total, deadline, regime


def _shown_board(rt: Runtime, incident_id: UUID) -> tuple[Any, ...]:
    """Progress and next deadline of an incident as the board shows them (rows and pages)."""
    [page_row] = [r for r in rt.board.page() if r["incident_id"] == str(incident_id)]
    [row] = [r for r in rt.board.rows() if r["incident_id"] == str(incident_id)]
    assert (row["mandatory_done"], row["mandatory_total"]) == (
        page_row["mandatory_done"],
        page_row["mandatory_total"],
    )
    assert "next_deadline" not in row
    return (
        page_row["mandatory_done"],
        page_row["mandatory_total"],
        page_row["next_deadline"],
        page_row["next_deadline_regime"],
    )


def test_board_progress_and_next_deadline_follow_tasks_and_obligations(
    runtime: Runtime, clock: ManualClock, alice: RequestContext
) -> None:
    """Through task completions, cancellations, reopenings, obligation decisions and a
    re-assessment, the board's containment progress and next deadline equal what the task
    and obligation views say, and a rebuilt board shows the same."""
    rt = runtime
    incident = rt.app.incidents.report_incident(
        report_input(
            clock.current, incident_type="ransomware", aware_at=clock.current - timedelta(hours=2)
        ),
        alice,
    ).id
    rt.app.incidents.triage_incident(
        incident, {"severity": "high", "incident_type": "ransomware"}, alice
    )
    rt.app.assessment.assess_impact(incident, DEMO_FACTS, alice)
    rt.settle()
    seen = [_expected_board(rt, incident)]
    assert _shown_board(rt, incident) == seen[-1]

    def step(change: Callable[[], object]) -> None:
        clock.advance(minutes=10)
        change()
        rt.settle()
        seen.append(_expected_board(rt, incident))
        assert _shown_board(rt, incident) == seen[-1]

    tasks = [r for r in rt.tasks.rows(clock.current, incident_id=incident) if r["mandatory"]]
    free = [UUID(r["task_id"]) for r in tasks if not r["waiting_on"]]
    first, second = free[0], UUID(tasks[-1]["task_id"])
    reason = {"reason": "r"}
    step(lambda: rt.app.containment.complete_task(first, {"outcome": "isolated"}, alice))
    step(lambda: rt.app.containment.cancel_task(second, reason, alice))
    step(lambda: rt.app.containment.reopen_task(second, reason, alice))
    step(lambda: rt.app.containment.reopen_task(first, reason, alice))
    step(lambda: rt.app.containment.block_task(first, reason, alice))
    step(lambda: rt.app.containment.unblock_task(first, reason, alice))
    open_ids = [
        r["obligation_id"]
        for r in rt.obligations.by_urgency(clock.current, incident_id=str(incident))
        if r["status"] == "open" and r["deadline"] is not None
    ]
    assert len(open_ids) >= 2
    decide = rt.app.assessment.decide_obligation
    step(
        lambda: decide(incident, {"obligation": open_ids[0], "decision": "notify", **reason}, alice)
    )
    step(
        lambda: decide(
            incident,
            {
                "obligation": open_ids[0],
                "decision": "notified",
                "notified_at": clock.current,
                "reference": "SA-1",
                **reason,
            },
            alice,
        )
    )
    step(
        lambda: decide(
            incident, {"obligation": open_ids[1], "decision": "do_not_notify", **reason}, alice
        )
    )
    people = {**DEMO_FACTS, "people": {"count": 2400, "confirmed": True}}
    step(lambda: rt.app.assessment.assess_impact(incident, people, alice))
    step(
        lambda: decide(incident, {"obligation": open_ids[0], "decision": "notify", **reason}, alice)
    )
    assert len({s[:2] for s in seen}) >= 3
    assert len({s[2:] for s in seen}) >= 3
    live = rt.board.signature()
    rt.views.rebuild()
    assert rt.board.signature() == live
    assert _shown_board(rt, incident) == seen[-1]
