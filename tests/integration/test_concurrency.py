"""Concurrent writers on one incident: a lost race is retried on the new version, nothing lost."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from events.incident import Incident, IncidentNoteAdded
from services.application.context import RequestContext
from services.application.errors import Conflict, RuleBroken
from services.audit.chain import ChainWorker
from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from services.feeds.progress import RunnerProgress
from services.operations import audit as service
from services.server.workers import catch_up_loop
from tests.support.clocks import ManualClock
from tests.support.reports import report_input
from tests.support.store import RawStore, Store, count_events
from tests.support.threads import race


def notes_of(rt: Runtime, incident_id: UUID) -> list[str]:
    """The texts of an incident's notes, from its history."""
    return [
        e.text
        for e in rt.app.incidents.incident_history(incident_id)
        if isinstance(e, IncidentNoteAdded)
    ]


def interleave(loser: Runtime, winner_move: Any, times: int = 1) -> None:
    """Make ``loser``'s next loads each be followed by a save from the other process."""
    original = loser.app.core.load
    remaining = {"n": times}

    def load(aggregate_id: UUID, kind: type[Any], **kw: Any) -> Any:
        aggregate = original(aggregate_id, kind, **kw)
        if remaining["n"] > 0:
            remaining["n"] -= 1
            winner_move()
        return aggregate

    loser.app.core.load = load  # type: ignore[method-assign]


def test_a_lost_race_is_retried_on_the_winners_version(
    runtime: Runtime, settings: Settings, clock: ManualClock, alice: RequestContext
) -> None:
    """Both changes land: the loser reloads and applies its note after the winner's triage."""
    incident = runtime.app.incidents.report_incident(report_input(clock.current), alice)
    other = bootstrap(settings, clock=clock, configure_logs=False)
    try:
        interleave(
            runtime,
            lambda: other.app.incidents.triage_incident(incident.id, {"severity": "high"}, alice),
        )
        runtime.app.incidents.add_note(incident.id, {"text": "added during triage"}, alice)
        final: Incident = other.app.incidents.get_incident(incident.id)
        assert final.version == 3
        assert final.state.severity is not None
        assert notes_of(other, incident.id) == ["added during triage"]
    finally:
        other.close()


def test_a_retry_that_no_longer_makes_sense_is_refused(
    runtime: Runtime,
    settings: Settings,
    clock: ManualClock,
    alice: RequestContext,
) -> None:
    """Two people close the same incident: one wins, the other is told it is already closed."""
    incident = runtime.app.incidents.report_incident(report_input(clock.current), alice)
    other = bootstrap(settings, clock=clock, configure_logs=False)
    try:
        interleave(
            runtime,
            lambda: other.app.incidents.close_incident(
                incident.id, {"resolution": "contained"}, alice
            ),
        )
        with pytest.raises(RuleBroken, match="already closed"):
            runtime.app.incidents.close_incident(
                incident.id, {"resolution": "also contained"}, alice
            )
        assert count_events(settings) == 2
    finally:
        other.close()


def test_endless_races_end_in_a_conflict_with_nothing_appended(
    runtime: Runtime,
    settings: Settings,
    clock: ManualClock,
    alice: RequestContext,
) -> None:
    """When every retry loses too, the request fails with a conflict and stores nothing."""
    incident = runtime.app.incidents.report_incident(report_input(clock.current), alice)
    other = bootstrap(settings, clock=clock, configure_logs=False)
    try:
        interleave(
            runtime,
            lambda: other.app.incidents.add_note(incident.id, {"text": "winner"}, alice),
            times=runtime.app.core.command_retries + 1,
        )
        with pytest.raises(Conflict):
            runtime.app.incidents.add_note(incident.id, {"text": "loser"}, alice)
        notes = notes_of(other, incident.id)
        assert "loser" not in notes
        assert count_events(settings) == 1 + runtime.app.core.command_retries + 1
    finally:
        other.close()


WRITER = textwrap.dedent(
    """
    import sys
    from uuid import UUID
    from services.application.context import RequestContext
    from services.bootstrap import bootstrap
    from services.config import Settings

    data_dir, incident_id, who, n = sys.argv[1], UUID(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    rt = bootstrap(Settings(data_dir=data_dir, command_retries=50), configure_logs=False)
    ctx = RequestContext(actor=who)
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(n):
        rt.app.incidents.add_note(incident_id, {"text": f"{who} {i}"}, ctx)
    rt.close()
    """
)


def test_two_processes_adding_notes_at_once_lose_nothing(
    runtime: Runtime,
    settings: Settings,
    store: Store,
    data_dir: Path,
    clock: ManualClock,
    alice: RequestContext,
) -> None:
    """Two processes released together each add 25 notes to one incident: all 50 are there,
    at consecutive positions (a write that lost the race took no position)."""
    incident = runtime.app.incidents.report_incident(report_input(clock.current), alice)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(data_dir), str(incident.id), who, "25"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=store.env(),
        )
        for who in ("ann", "ben")
    ]
    for p in procs:
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        assert p.wait(timeout=60) == 0
    notes = notes_of(runtime, incident.id)
    assert sorted(notes) == sorted(f"{who} {i}" for who in ("ann", "ben") for i in range(25))
    assert count_events(settings) == 51
    assert [i.position for i in runtime.feed.read(0, 100)] == list(range(1, 52))


def test_two_policy_runners_racing_open_each_playbook_once(
    runtime: Runtime, settings: Settings, clock: ManualClock, alice: RequestContext
) -> None:
    """Two runtimes (own connections) run the policies over ten ransomware triages at once:
    each incident gets its seven tasks exactly once."""
    ids = ransomware_triages(runtime, clock, alice)
    other = bootstrap(settings, clock=clock, configure_logs=False)
    try:
        for rt in (runtime, other):
            for worker in rt.policies.workers:
                worker.batch_size = 3
        race(runtime.policies.catch_up, other.policies.catch_up)
        runtime.settle()
        assert RawStore(settings).count_events("events.containment:TaskOpened") == 70
        assert all(len(runtime.app.incidents.get_incident(i).state.tasks) == 7 for i in ids)
    finally:
        other.close()


def ransomware_triages(runtime: Runtime, clock: ManualClock, ctx: RequestContext) -> list[UUID]:
    """Ten incidents triaged as ransomware (a playbook of seven tasks each); their ids."""
    ids = []
    for i in range(10):
        incident = runtime.app.incidents.report_incident(
            report_input(clock.current, title=f"R{i}", incident_type="ransomware"), ctx
        )
        runtime.app.incidents.triage_incident(
            incident.id, {"severity": "high", "incident_type": "ransomware"}, ctx
        )
        ids.append(incident.id)
    return ids


def test_positions_held_by_a_runner_are_recorded_late_and_lost_ones_cost_no_reaction_twice(
    runtime: Runtime, settings: Settings, clock: ManualClock, alice: RequestContext
) -> None:
    """A server's policy runner holds the positions that moved without a reaction: its
    reactions are recorded at once, those positions only when flushed. A runner dropped
    without flushing (a crash) leaves the events after its last recorded position to be
    offered again; the policies that run them then add no task twice."""
    ids = ransomware_triages(runtime, clock, alice)
    head = runtime.feed.head()
    crashed = bootstrap(settings, clock=clock, configure_logs=False)
    try:
        runner = crashed.policies.runner(hold_for=3600)
        runner.advance()
        crashed.policies.flush(due_only=True)
        assert runner.reached >= head
        held = {p.name: p.position() for p in crashed.policies.processors}
        stored = {p.name: runtime.app.core.tracked_position(p.name) for p in runner.processors}
        assert any(stored[name] < held[name] for name in held), "nothing was held"
        assert RawStore(settings).count_events("events.containment:TaskOpened") == 70
    finally:
        crashed.close()
    runtime.policies.catch_up()
    runtime.settle()
    assert RawStore(settings).count_events("events.containment:TaskOpened") == 70
    assert all(len(runtime.app.incidents.get_incident(i).state.tasks) == 7 for i in ids)
    after = runtime.feed.head()
    assert all(
        runtime.app.core.tracked_position(p.name) == after for p in runtime.policies.processors
    )


def test_a_runner_records_what_it_holds_when_flushed_and_when_it_stops(
    runtime: Runtime, settings: Settings, clock: ManualClock, alice: RequestContext
) -> None:
    """Held positions are recorded by a flush that is due, and when the server's catch-up
    loop stops; a flush that is not due yet records nothing."""
    ransomware_triages(runtime, clock, alice)
    runner = runtime.policies.runner(hold_for=3600)
    runner.advance()
    stored = {
        p.name: runtime.app.core.tracked_position(p.name) for p in runtime.policies.processors
    }
    runtime.policies.flush(due_only=True)
    assert stored == {
        p.name: runtime.app.core.tracked_position(p.name) for p in runtime.policies.processors
    }
    stop = threading.Event()
    stop.set()
    catch_up_loop(runtime, RunnerProgress()).run(stop)
    head = runtime.feed.head()
    assert all(
        runtime.app.core.tracked_position(p.name) == head for p in runtime.policies.processors
    )


def test_two_chain_linkers_racing_build_one_chain(
    runtime: Runtime, settings: Settings, clock: ManualClock, alice: RequestContext
) -> None:
    """Two runtimes link the same 60 events at once in small batches: every position is
    linked once and the chain verifies against its checkpoints."""
    for i in range(30):
        incident = runtime.app.incidents.report_incident(
            report_input(clock.current, title=f"I{i}"), alice
        )
        runtime.app.incidents.add_note(incident.id, {"text": "n"}, alice)
    other = bootstrap(settings, clock=clock, configure_logs=False)
    try:
        linkers = [
            ChainWorker(rt.feed, rt.chain, rt.audit_key, batch=4, clock=rt.app.core.clock)
            for rt in (runtime, other)
        ]
        race(linkers[0].catch_up, linkers[1].catch_up)
        assert runtime.chain.last()[0] == 60
        assert [p for p, _, _ in runtime.chain.links(1, 60)] == list(range(1, 61))
        verdict = service.verify_live(runtime)
        assert (verdict.ok, verdict.checked) == (True, 60), verdict.reason
        assert verdict.checkpoints >= 1
    finally:
        other.close()
