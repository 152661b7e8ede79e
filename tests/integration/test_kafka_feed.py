"""Projection and policy workers consuming the event stream in consumer groups, in their own
processes, against a real broker and the shared SQLite files; read-your-writes."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from events.incident import PlaybookApplied
from events.notifications import NoticesQueued
from services.application.context import RequestContext
from services.bootstrap import Runtime, bootstrap, projections
from services.config import Settings
from services.feeds.kafka import partition_of
from services.feeds.relay import Relay
from services.notifications.views import NoticeQueueView
from services.projections.sqlite_store import SQLiteViewStore
from services.projections.views import Views
from services.server.distributed import distributed_settle, pipeline
from tests.support.broker import (  # noqa: F401  (fixtures)
    Broker,
    WorkerProcess,
    broker,
    start_worker,
    wait_until,
)
from tests.support.campaigns import CONTENT
from tests.support.identity import dpo_of
from tests.support.people import person, write_csv
from tests.support.reports import report_due_within_the_hour, report_input

ALICE = RequestContext(actor="alice", correlation_id="req-feed")
DPO = RequestContext(actor="dpo")


@pytest.fixture
def settings(broker: Broker, tmp_path: Path) -> Settings:  # noqa: F811
    return broker.settings(tmp_path / "var")


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    runtime = bootstrap(settings, configure_logs=False)
    yield runtime
    runtime.close()


@pytest.fixture
def relay(rt: Runtime, settings: Settings) -> Iterator[Relay]:
    """The relay, running in a thread of the test process."""
    stop = threading.Event()
    running = Relay(settings, rt.app.core, rt.feed, batch_size=200)
    thread = threading.Thread(target=running.run, args=(stop,), daemon=True)
    thread.start()
    yield running
    stop.set()
    thread.join(30)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[WorkerProcess]]:
    """Worker processes started by a test; killed at the end if still running."""
    started: list[WorkerProcess] = []
    yield started
    for w in started:
        w.kill()


def workload(rt: Runtime, incidents: int, *, triaged: int = 0, notes: int = 2) -> list[Any]:
    """Incidents (the first ``triaged`` triaged, so playbooks open tasks), with notes."""
    ids = [
        rt.app.incidents.report_incident(
            report_input(rt.app.core.clock.now(), title=f"Incident {i}"), ALICE
        ).id
        for i in range(incidents)
    ]
    for incident in ids[:triaged]:
        rt.app.incidents.triage_incident(
            incident, {"severity": "high", "personal_data_breach": "yes"}, ALICE
        )
    for n in range(notes):
        for incident in ids:
            rt.app.incidents.add_note(incident, {"text": f"note {n}"}, ALICE)
    return ids


def rebuilt_rows(rt: Runtime, path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every view table as a rebuild from the store feed makes it, in a scratch file."""
    store = SQLiteViewStore(path, projections())
    store.create_table()
    try:
        Views(rt.feed, store, projections()).rebuild()
        return table_rows(store)
    finally:
        store.close()


def table_rows(store: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every view table, sorted."""
    out = {}
    for projection in projections():
        for table in projection.tables:
            rows = store.query(f'SELECT * FROM "{table.name}"')
            out[table.name] = sorted(tuple((k, str(v)) for k, v in sorted(r.items())) for r in rows)
    return out


def views_done(rt: Runtime, timeout: float = 60.0) -> None:
    """Wait until every view applied every stored event (and the relay published them)."""
    pipeline(rt).wait_views(rt.feed.head(), timeout=timeout)


def quiet(rt: Runtime, timeout: float = 90.0) -> None:
    """Wait until policies and views have handled everything and no new reaction appears."""
    progress = pipeline(rt)
    deadline = time.monotonic() + timeout
    while True:
        head = rt.feed.head()
        left = deadline - time.monotonic()
        progress.wait_policies(head, timeout=left)
        progress.wait_views(head, timeout=deadline - time.monotonic())
        if rt.feed.head() == head:
            return


@pytest.mark.slow
def test_two_projection_workers_in_one_group_build_the_views_a_rebuild_builds(
    rt: Runtime,
    settings: Settings,
    relay: Relay,
    workers: list[WorkerProcess],
    tmp_path: Path,
) -> None:
    """Two processes share the 4 partitions (both apply batches); the views they build are
    row for row those of a rebuild from the store; SIGTERM stops both cleanly."""
    for _ in range(2):
        workers.append(start_worker(settings, "projections", tmp_path / "logs"))
    wait_until(
        lambda: (
            sorted(p for w in workers for p in w.assigned()) == [0, 1, 2, 3]
            and all(len(w.assigned()) == 2 for w in workers)
        ),
        60,
        "the group to share the partitions",
    )
    workload(rt, 40, triaged=10)
    rt.policies.catch_up()
    workload(rt, 10)
    views_done(rt)
    assert all(w.lines("projection.applied") for w in workers)
    assert table_rows(rt.views.store) == rebuilt_rows(rt, tmp_path / "rebuilt.db")
    assert rt.board.count() == 50
    assert [w.terminate() for w in workers] == [0, 0]
    assert all(w.lines("kafka.stopped") for w in workers)


@pytest.mark.slow
def test_a_projection_worker_killed_mid_batch_applies_nothing_twice(
    rt: Runtime,
    settings: Settings,
    relay: Relay,
    workers: list[WorkerProcess],
    tmp_path: Path,
) -> None:
    """SIGKILL after a few batches of 10, then a restart: per view and partition the applied
    ranges never overlap and add up to the partition's events; the views equal a rebuild."""
    workload(rt, 80, notes=3)
    head = rt.feed.head()
    wait_until(lambda: relay.position == head, 60, "the relay")
    first = start_worker(settings, "projections", tmp_path / "logs", "--batch-size", "10")
    workers.append(first)
    wait_until(lambda: len(first.lines("projection.applied")) >= 30, 60, "some batches")
    first.kill()
    behind = [rt.views.store.position("board", f"p{p}") for p in range(4)]
    second = start_worker(settings, "projections", tmp_path / "logs", "--batch-size", "10")
    workers.append(second)
    views_done(rt)
    assert second.terminate() == 0
    partitions: Counter[int] = Counter(
        partition_of(n.originator_id, 4) for n in rt.feed.read_raw(0, head)
    )
    published = pipeline(rt).published()
    assert any(behind[p] < published[p] for p in published), "killed after the end"
    ranges: dict[tuple[str, str], list[tuple[int, int, int]]] = defaultdict(list)
    for w in (first, second):
        for line in w.lines("projection.applied"):
            ranges[(line["view"], line["stream"])].append(
                (line["first"], line["last"], line["count"])
            )
    assert len(ranges) == len(projections()) * 4
    for (view, stream), applied in ranges.items():
        applied.sort()
        for (_, last, _), (start, _, _) in pairwise(applied):
            assert start > last, f"{view}@{stream} applied {start} twice"
        # A batch's line is written after its transaction commits, so the killed worker's
        # last batch may be applied without its line: the logged counts may fall short of
        # the partition's events, never exceed them; that nothing was lost is shown by the
        # views equalling a rebuild below.
        assert sum(c for _, _, c in applied) <= partitions[int(stream[1:])], (view, stream)
    assert table_rows(rt.views.store) == rebuilt_rows(rt, tmp_path / "rebuilt.db")


@pytest.mark.slow
def test_policies_run_exactly_once_per_event_across_two_workers(
    rt: Runtime,
    settings: Settings,
    relay: Relay,
    workers: list[WorkerProcess],
    tmp_path: Path,
) -> None:
    """Two policy processes in one group (and a projection worker for the people view):
    every triage opens its playbook once, the campaign's 60 notices are queued once, and no
    (policy, position) reaction is saved twice."""
    logs = tmp_path / "logs"
    workers.append(start_worker(settings, "projections", logs))
    for _ in range(2):
        workers.append(start_worker(settings, "policies", logs))
    policy_workers = workers[1:]
    wait_until(
        lambda: all(len(w.assigned()) == 2 for w in policy_workers) and workers[0].assigned(),
        60,
        "the groups to form",
    )
    ids = workload(rt, 30, triaged=30, notes=1)
    incident = ids[0]
    rt.app.people.import_people(
        incident, write_csv(tmp_path / "people.csv", [person(i) for i in range(60)]), ALICE
    )
    campaign = rt.app.notifications.draft_campaign(
        incident, {"audience": "people", **CONTENT}, ALICE
    )
    rt.app.notifications.preview_campaign(campaign.id, ALICE)
    rt.app.notifications.approve_campaign(campaign.id, dpo_of(rt, DPO))
    rt.app.notifications.start_dispatch(campaign.id, ALICE)
    quiet(rt)
    events = [n for n in rt.feed.read(0, 100_000)]
    playbooks = Counter(
        i.event.originator_id for i in events if isinstance(i.event, PlaybookApplied)
    )
    assert sorted(playbooks.values()) == [1] * 30
    queued = [i.event for i in events if isinstance(i.event, NoticesQueued)]
    assert [q.count for q in queued] == [60]
    assert rt.notifications.counts(campaign.id)["queued"] == 60
    reactions = Counter(
        (line["policy"], line["position"])
        for w in policy_workers
        for line in w.lines("policy.reacted")
    )
    assert reactions, "no reaction logged"
    assert max(reactions.values()) == 1
    assert all(w.lines("policy.reacted") for w in policy_workers)
    assert [w.terminate() for w in workers] == [0, 0, 0]


@pytest.mark.slow
def test_read_your_writes_waits_for_the_workers_not_longer(
    rt: Runtime,
    settings: Settings,
    relay: Relay,
    workers: list[WorkerProcess],
    tmp_path: Path,
) -> None:
    """With projection and policy workers running elsewhere, the distributed settle returns
    once a new incident is on the board and its triage's playbook tasks are listed."""
    logs = tmp_path / "logs"
    workers.append(start_worker(settings, "projections", logs))
    workers.append(start_worker(settings, "policies", logs))
    wait_until(lambda: all(w.assigned() for w in workers), 60, "the groups to form")
    settle = distributed_settle(rt, timeout=10)
    incident = rt.app.incidents.report_incident(report_input(rt.app.core.clock.now()), ALICE)
    started = time.monotonic()
    settle()
    assert rt.board.count() == 1
    rt.app.incidents.triage_incident(incident.id, {"severity": "high"}, ALICE)
    settle()
    elapsed = time.monotonic() - started
    assert rt.tasks.rows(rt.app.core.clock.now(), incident_id=incident.id)
    assert rt.views.store.position("board", "") == 0
    assert elapsed < 10
    lag = pipeline(rt).lag()
    assert lag["relay"] == 0
    assert set(lag["views"].values()) == {0}


def test_the_alarm_clock_reads_the_views_the_projection_workers_keep_and_writes_none(
    rt: Runtime,
    settings: Settings,
    relay: Relay,
    workers: list[WorkerProcess],
    tmp_path: Path,
) -> None:
    """With Kafka the alarm clock does not build the obligations and tasks views from the
    store beside the projection workers: it raises nothing while they have not shown the
    obligations, then each due step once, and the views' store-feed positions stay at 0."""
    report_due_within_the_hour(rt, ALICE)
    alarm = rt.alarm_clock(view_timeout=0.5)
    assert alarm.scan() == []
    assert rt.views.store.position("obligations", "") == 0
    workers.append(start_worker(settings, "projections", tmp_path / "logs"))
    raised: list[UUID] = []
    wait_until(lambda: raised.extend(alarm.scan()) or len(raised) >= 2, 60, "the due steps")
    assert alarm.scan() == []
    assert len(raised) == 2  # GDPR's and UK GDPR's one-hour step
    assert {rt.views.store.position(name, "") for name in ("obligations", "tasks")} == {0}


def test_a_campaign_is_finished_only_once_the_view_holds_every_queued_notice(
    rt: Runtime, settings: Settings
) -> None:
    """A campaign queued with 2 notices whose view shows only 1 (final) notice is not yet
    finished: the other notice's partition may be behind; with both final it is."""
    queue = NoticeQueueView(rt.notifications.store)
    with sqlite3.connect(settings.views_db) as db:
        db.execute(
            "INSERT INTO campaigns (campaign_id, incident_id, audience, status, "
            "template_version, drafted_by, queued, created_at, last_change_at) VALUES "
            "(?, 'i1', 'people', 'dispatching', 'v1', 'alice', 2, 't', 't')",
            [str(CAMPAIGN)],
        )
        db.execute(NOTICE, ["n1", str(CAMPAIGN)])
    assert queue.finished_campaigns() == []
    with sqlite3.connect(settings.views_db) as db:
        db.execute(NOTICE, ["n2", str(CAMPAIGN)])
    assert queue.finished_campaigns() == [CAMPAIGN]


CAMPAIGN = UUID("c1c1c1c1-0000-4000-8000-000000000001")
NOTICE = (
    "INSERT INTO notices (notice_id, campaign_id, incident_id, language, fallback, status, "
    "attempts, version) VALUES (?, ?, 'i1', 'en', 0, 'sent', 1, 3)"
)
