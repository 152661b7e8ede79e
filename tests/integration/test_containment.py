"""Containment on the real store: playbooks opened once, concurrent work, containment reached."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from events.containment import ContainmentTask, TaskOpened
from events.incident import ContainmentLost, ContainmentReached, Incident, PlaybookApplied
from events.users import Role
from services.application.context import RequestContext
from services.application.errors import InvalidInput, NotFound, RuleBroken, ServiceError
from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from services.containment.policies import PlaybookPolicy
from services.timeline import timeline
from tests.support.clocks import ManualClock
from tests.support.identity import provision
from tests.support.reports import report_input
from tests.support.store import RawStore, Store, count_events


def ransomware(runtime: Runtime, clock: ManualClock, ctx: RequestContext) -> Incident:
    incident = runtime.app.incidents.report_incident(
        report_input(
            clock.current, incident_type="ransomware", aware_at=clock.current - timedelta(hours=20)
        ),
        ctx,
    )
    runtime.app.incidents.triage_incident(
        incident.id, {"severity": "high", "incident_type": "ransomware"}, ctx
    )
    return incident


def task_ids(runtime: Runtime, incident_id: UUID) -> list[str]:
    return sorted(runtime.app.incidents.get_incident(incident_id).state.tasks)


def opened_count(settings: Settings) -> int:
    return RawStore(settings).count_events("events.containment:TaskOpened")


def test_triage_as_ransomware_opens_the_playbook_once_with_its_version(
    runtime: Runtime, clock: ManualClock, alice: RequestContext, settings: Settings
) -> None:
    """Seven tasks, dependencies as blockers, the playbook version on the incident."""
    incident = ransomware(runtime, clock, alice)
    runtime.settle()
    state = runtime.app.incidents.get_incident(incident.id).state
    assert state.playbooks == {"ransomware": 1}
    assert len(state.tasks) == 7
    assert sum(state.tasks.values()) == 6
    rows = runtime.tasks.rows(clock.current, incident_id=incident.id)
    preserve = next(r for r in rows if r["step"] == "preserve_evidence")
    isolate = next(r for r in rows if r["step"] == "isolate")
    assert preserve["waiting_on"] == [isolate["task_id"]]
    runtime.settle()
    assert opened_count(settings) == 7


def test_delivering_the_triage_event_twice_opens_nothing_twice(
    runtime: Runtime, clock: ManualClock, alice: RequestContext, settings: Settings
) -> None:
    """The same event handled again: refused on the tracking record, and on replay with lost
    tracking the playbook is already on the incident."""
    incident = ransomware(runtime, clock, alice)
    [triaged] = [i for i in runtime.feed.read(0, 100) if i.event.originator_version == 2]
    policy = PlaybookPolicy(runtime.app.core, runtime.playbooks)
    first = policy.handle(triaged.event)
    second = policy.handle(triaged.event)
    runtime.app.core.save_tracked(*first, tracking=Tracking(policy.name, triaged.position))
    with pytest.raises(IntegrityError):
        runtime.app.core.save_tracked(*second, tracking=Tracking(policy.name, triaged.position))
    assert policy.handle(triaged.event) == ()
    RawStore(settings).forget_tracking(policy.name)
    runtime.settle()
    assert opened_count(settings) == 7
    assert len(task_ids(runtime, incident.id)) == 7


SLOW_POLICY = textwrap.dedent(
    """
    import sys, time
    from services.bootstrap import bootstrap
    from services.config import Settings

    rt = bootstrap(Settings(data_dir=sys.argv[1]), configure_logs=False)
    worker = rt.policies.workers[0]
    handle = worker.policy.handle

    def slow(event):
        changed = handle(event)
        if changed:
            time.sleep(0.15)
        return changed

    worker.policy.handle = slow
    worker.batch_size = 5
    print("ready", flush=True)
    worker.catch_up()
    """
)


def test_a_policy_killed_mid_way_resumes_without_duplicates(
    settings: Settings, store: Store, clock: ManualClock, alice: RequestContext, data_dir: Path
) -> None:
    """SIGKILL during the playbook policy, then a restart: every incident has its tasks once."""
    rt = bootstrap(settings, clock=clock, configure_logs=False)
    incidents = [ransomware(rt, clock, alice).id for _ in range(20)]
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_POLICY, str(data_dir)],
        stdout=subprocess.PIPE,
        text=True,
        env=store.env(),
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 30
    while opened_count(settings) < 21 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    partial = opened_count(settings)
    assert 0 < partial < 140
    assert partial % 7 == 0
    rt.settle()
    assert opened_count(settings) == 140
    assert all(len(task_ids(rt, i)) == 7 for i in incidents)
    rt.close()


def test_containment_is_reached_with_the_last_mandatory_task_and_reversed_by_a_reopen(
    runtime: Runtime, clock: ManualClock, alice: RequestContext
) -> None:
    """Board and timeline show containment and time to contain; reopening reverses it; both
    survive a rebuild unchanged."""
    incident = ransomware(runtime, clock, alice)
    runtime.settle()
    mandatory: list[dict[str, Any]] = []
    while True:
        rows = runtime.tasks.rows(clock.current, incident_id=incident.id)
        ready = [
            r for r in rows if r["mandatory"] and r["status"] == "open" and not r["waiting_on"]
        ]
        if not ready:
            break
        clock.advance(minutes=30)
        runtime.app.containment.complete_task(UUID(ready[0]["task_id"]), {"outcome": "done"}, alice)
        mandatory.append(ready[0])
        runtime.settle()
    assert len(mandatory) == 6
    state = runtime.app.incidents.get_incident(incident.id).state
    assert state.containment_reached_at is not None
    aware = state.moments.aware_at
    assert state.time_to_contain_seconds == (state.containment_reached_at - aware).total_seconds()
    [board] = runtime.board.rows()
    assert board["time_to_contain_seconds"] == state.time_to_contain_seconds
    assert (board["mandatory_done"], board["mandatory_total"]) == (6, 6)
    summaries = [
        e.summary
        for e in timeline(runtime.app.incidents.incident_history(incident.id), clock.current.tzinfo)
    ]
    assert any(s.startswith("containment reached") for s in summaries)

    runtime.app.containment.reopen_task(
        UUID(mandatory[0]["task_id"]), {"reason": "host re-infected"}, alice
    )
    runtime.settle()
    history = runtime.app.incidents.incident_history(incident.id)
    assert isinstance(history[-1], ContainmentLost)
    assert runtime.board.rows()[0]["containment_reached_at"] is None
    live = (runtime.board.signature(), runtime.tasks.rows(clock.current))
    runtime.views.rebuild()
    assert (runtime.board.signature(), runtime.tasks.rows(clock.current)) == live
    assert sum(isinstance(e, ContainmentReached) for e in history) == 1


def test_two_processes_completing_tasks_at_once(
    runtime: Runtime, store: Store, clock: ManualClock, alice: RequestContext, data_dir: Path
) -> None:
    """Different tasks of one incident: both succeed. The same task: one succeeds, the other
    is told it is already done, by whom."""
    incident = ransomware(runtime, clock, alice)
    runtime.settle()
    rows = runtime.tasks.rows(clock.current, incident_id=incident.id)
    free = [r["task_id"] for r in rows if not r["waiting_on"]]
    breach = Path(sys.executable).parent / "breach"

    tokens = {who: provision(runtime, who, [Role.RESPONDER]) for who in ("ann", "ben")}

    def complete(task: str, who: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [
                str(breach),
                "--data-dir",
                str(data_dir),
                "task",
                "done",
                task,
                "--outcome",
                f"done by {who}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=store.env(BREACH_TOKEN=tokens[who]),
        )

    different = [complete(free[0], "ann"), complete(free[1], "ben")]
    assert [p.wait(timeout=60) for p in different] == [0, 0]
    same = [complete(free[2], "ann"), complete(free[2], "ben")]
    codes = [p.wait(timeout=60) for p in same]
    assert sorted(codes) == [0, 2]
    loser = same[codes.index(2)]
    assert loser.stderr is not None
    message = loser.stderr.read()
    assert "already done by" in message
    assert message.count("\n") == 1
    done = [runtime.app.containment.get_task(UUID(t)).state.status.value for t in free[:3]]
    assert done == ["done", "done", "done"]


def test_bad_task_input_is_refused_and_records_nothing(
    runtime: Runtime, clock: ManualClock, alice: RequestContext, settings: Settings
) -> None:
    """Unknown tasks and blockers, bad owners, due before the report, bad evidence."""
    incident = ransomware(runtime, clock, alice)
    runtime.settle()
    task = UUID(task_ids(runtime, incident.id)[0])
    before = count_events(settings)
    reported = runtime.app.incidents.get_incident(incident.id).created_on
    cases: list[tuple[Any, type[ServiceError], str]] = [
        (lambda: runtime.app.containment.start_task(UUID(int=5), alice), NotFound, "id"),
        (
            lambda: runtime.app.containment.assign_task(task, {"owner": "not an owner!"}, alice),
            InvalidInput,
            "owner",
        ),
        (
            lambda: runtime.app.containment.add_task(
                incident.id, {"title": "x", "due_at": reported - timedelta(minutes=1)}, alice
            ),
            RuleBroken,
            "due_at",
        ),
        (
            lambda: runtime.app.containment.add_task(
                incident.id,
                {"title": "x", "due_at": reported, "blocked_by": [str(UUID(int=9))]},
                alice,
            ),
            InvalidInput,
            "blocked_by",
        ),
        (
            lambda: runtime.app.containment.complete_task(
                task, {"outcome": "x", "evidence": ["sha256:xyz"]}, alice
            ),
            InvalidInput,
            "evidence",
        ),
        (
            lambda: runtime.app.containment.change_task_due(
                task, {"due_at": reported - timedelta(days=1), "reason": "r"}, alice
            ),
            RuleBroken,
            "due_at",
        ),
    ]
    for call, error, field in cases:
        with pytest.raises(error) as refused:
            call()
        assert refused.value.field == field
    assert count_events(settings) == before


def test_a_task_added_by_hand_is_attached_to_its_incident(
    runtime: Runtime, clock: ManualClock, alice: RequestContext
) -> None:
    """The task and the incident's record of it are saved together."""
    incident = ransomware(runtime, clock, alice)
    task = runtime.app.containment.add_task(
        incident.id,
        {
            "title": "Brief the board",
            "due_at": clock.current + timedelta(hours=4),
            "mandatory": False,
            "owner": "ciso",
        },
        alice,
    )
    assert isinstance(task, ContainmentTask)
    assert runtime.app.incidents.get_incident(incident.id).state.tasks[str(task.id)] is False
    opened = runtime.app.core.events.get(task.id)
    assert isinstance(next(iter(opened)), TaskOpened)
    assert not any(
        isinstance(e, PlaybookApplied)
        for e in runtime.app.incidents.incident_history(incident.id)[-1:]
    )
