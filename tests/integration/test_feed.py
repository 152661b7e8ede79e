"""The store feed: ordered positions, an immediate wake-up on local saves, polling for others."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from events.incident import IncidentReported
from events.users import Role
from services.application.context import RequestContext
from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from services.feeds.topics import PASSED, sparse_read, topics_of
from tests.support.clocks import ManualClock
from tests.support.identity import provision
from tests.support.reports import report_input
from tests.support.store import RawStore, Store


def test_read_yields_events_after_a_position_in_log_order(
    runtime: Runtime, clock: ManualClock, alice: RequestContext
) -> None:
    """Positions start at 1, increase by one per event, and 'after' excludes the given one."""
    first = runtime.app.incidents.report_incident(report_input(clock.current), alice)
    runtime.app.incidents.add_note(first.id, {"text": "one"}, alice)
    second = runtime.app.incidents.report_incident(report_input(clock.current), alice)
    items = runtime.feed.read(0, 10)
    assert [i.position for i in items] == [1, 2, 3]
    assert [i.event.originator_id for i in items] == [first.id, first.id, second.id]
    assert [i.position for i in runtime.feed.read(2, 10)] == [3]
    assert runtime.feed.head() == 3


def test_a_local_save_wakes_a_waiting_feed_long_before_the_next_poll(
    settings: Settings, clock: ManualClock, alice: RequestContext
) -> None:
    """With a 10 s poll interval, a save in this process ends the wait within a second."""
    rt = bootstrap(
        settings.model_copy(update={"feed_poll_interval": 10.0}),
        clock=clock,
        configure_logs=False,
    )
    try:
        saver = threading.Timer(
            0.2, lambda: rt.app.incidents.report_incident(report_input(clock.current), alice)
        )
        started = time.monotonic()
        saver.start()
        assert rt.feed.wait(0, timeout=8.0)
        assert time.monotonic() - started < 1.0
    finally:
        rt.close()


def test_a_save_by_another_process_is_found_by_polling(
    runtime: Runtime, data_dir: Path, store: Store
) -> None:
    """A report made by a separate CLI process becomes readable here without any signal."""
    bob = provision(runtime, "bob", [Role.REPORTER])
    head = runtime.feed.head()
    assert not runtime.feed.wait(head, timeout=0.1)
    subprocess.run(
        [
            Path(sys.executable).parent / "breach",
            "--data-dir",
            str(data_dir),
            "report",
            "--title",
            "Phishing",
            "--discovered-at",
            "now",
        ],
        check=True,
        capture_output=True,
        env=store.env(BREACH_TOKEN=bob),
    )
    assert runtime.feed.wait(head, timeout=5.0)
    [item] = runtime.feed.read(head, 10)
    assert item.event.actor == "bob"


def test_a_topic_read_returns_only_those_events_and_how_far_it_read(
    runtime: Runtime, clock: ManualClock, alice: RequestContext, settings: Settings
) -> None:
    """A read of some topics returns their events alone, in log order, with the position up
    to which the log was read (the last event's when the limit was reached, else the end
    asked for or the head), through an index of the log on the topic."""
    first = runtime.app.incidents.report_incident(report_input(clock.current), alice)
    runtime.app.incidents.add_note(first.id, {"text": "one"}, alice)
    second = runtime.app.incidents.report_incident(report_input(clock.current), alice)
    runtime.app.incidents.add_note(second.id, {"text": "two"}, alice)
    runtime.app.incidents.add_note(second.id, {"text": "three"}, alice)
    reports = topics_of([IncidentReported])
    items, reached = runtime.feed.read_topics(0, 10, reports, 100)
    assert [(i.position, i.event.originator_id) for i in items] == [(1, first.id), (3, second.id)]
    assert reached == 5
    items, reached = runtime.feed.read_topics(0, 1, reports, 100)
    assert ([i.position for i in items], reached) == ([1], 1)
    assert runtime.feed.read_topics(1, 10, reports, 2) == ([], 2)
    assert runtime.feed.read_topics(3, 10, reports, 100) == ([], 5)
    assert runtime.feed.read_topics(5, 10, reports, 100) == ([], 5)
    raw = RawStore(settings)
    if raw.postgres:
        found = raw.run(
            "events",
            "SELECT indexdef FROM pg_indexes WHERE schemaname = ? AND indexname = ?",
            [raw.schema, f"{raw.events}_topic"],
        )
    else:
        found = raw.run(
            "events", "SELECT sql FROM sqlite_master WHERE name = ?", [f"{raw.events}_topic"]
        )
    assert found
    assert "topic" in found[0][0]


def test_a_sparse_read_gives_the_topics_events_and_passes_over_the_rest(
    runtime: Runtime, clock: ManualClock, alice: RequestContext
) -> None:
    """A sparse read returns the events of its topics, then a mark at the position the log
    was read to, so that a reader's position moves over events it was never given; the
    policies' read is one, and their catch-up ends at the head of a log of notes."""
    first = runtime.app.incidents.report_incident(report_input(clock.current), alice)
    for i in range(5):
        runtime.app.incidents.add_note(first.id, {"text": f"note {i}"}, alice)
    read = sparse_read(runtime.feed, topics_of([IncidentReported]))
    items = read(0, 10)
    assert [i.position for i in items] == [1, 6]
    assert items[0].event.originator_id == first.id
    assert items[1].event is PASSED
    assert [(i.position, i.event) for i in read(1, 10)] == [(6, PASSED)]
    assert read(6, 10) == []
    assert [i.position for i in read(0, 1)] == [1]
    assert sparse_read(runtime.feed, [])(0, 10) == []
    runtime.policies.catch_up()
    assert all(p.position() == 6 for p in runtime.policies.processors)
