"""Playbook task due times on the real store follow a corrected legal moment, in the same save."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import pytest

from events.containment import ContainmentTask, TaskDueMoved
from services.application.context import RequestContext
from services.application.errors import RuleBroken
from services.audit.replay import replay_incident
from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from services.timeline import timeline
from tests.support.clocks import ManualClock
from tests.support.reports import report_input
from tests.support.store import RawStore, count_events

MOVED = "events.containment:TaskDueMoved"


def ransomware(runtime: Runtime, clock: ManualClock, ctx: RequestContext) -> tuple[UUID, datetime]:
    """A ransomware incident aware 20 hours before its report, triaged, its playbook opened;
    returns its id and the report time."""
    reported = clock.current
    incident = runtime.app.incidents.report_incident(
        report_input(reported, incident_type="ransomware", aware_at=reported - timedelta(hours=20)),
        ctx,
    )
    runtime.app.incidents.triage_incident(
        incident.id, {"severity": "high", "incident_type": "ransomware"}, ctx
    )
    runtime.settle()
    return incident.id, reported


def by_step(
    runtime: Runtime, clock: ManualClock, incident_id: UUID
) -> dict[str, dict[str, object]]:
    return {
        str(r["step"]): r
        for r in runtime.tasks.rows(clock.current, incident_id=incident_id)
        if r["step"]
    }


def due(runtime: Runtime, task_id: object) -> datetime:
    return runtime.app.containment.get_task(UUID(str(task_id))).state.due_at


def moves_of(runtime: Runtime, task_id: object) -> list[TaskDueMoved]:
    return [
        e for e in runtime.app.core.events.get(UUID(str(task_id))) if isinstance(e, TaskDueMoved)
    ]


def amend_aware(
    runtime: Runtime, incident_id: UUID, aware_at: datetime, ctx: RequestContext
) -> None:
    runtime.app.incidents.amend_facts(
        incident_id, {"aware_at": aware_at, "reason": "EDR alert found earlier"}, ctx
    )
    runtime.settle()


def test_awareness_two_hours_earlier_moves_open_anchored_tasks_two_hours_earlier(
    runtime: Runtime, clock: ManualClock, alice: RequestContext, settings: Settings
) -> None:
    """aware + 3 days and aware + 24 h move two hours earlier, one event each saved with the
    correction; a done task, a task opened by hand and tasks held at the report time keep
    their due; the board and the timeline show the move."""
    incident_id, reported = ransomware(runtime, clock, alice)
    steps = by_step(runtime, clock, incident_id)
    restore, scope = steps["restore"]["task_id"], steps["scope_exfiltration"]["task_id"]
    law = steps["law_enforcement"]["task_id"]
    assert due(runtime, restore) == reported + timedelta(hours=52)
    runtime.app.containment.complete_task(UUID(str(law)), {"outcome": "not reported"}, alice)
    by_hand = runtime.app.containment.add_task(
        incident_id, {"title": "Brief the board", "due_at": reported + timedelta(hours=30)}, alice
    )
    runtime.settle()
    untouched = {
        tid: due(runtime, tid)
        for tid in runtime.app.incidents.get_incident(incident_id).state.tasks
        if tid not in (str(restore), str(scope))
    }
    before = count_events(settings)
    clock.advance(minutes=10)
    amend_aware(runtime, incident_id, reported - timedelta(hours=22), alice)

    assert count_events(settings) == before + 3
    assert RawStore(settings).count_events(MOVED) == 2
    assert due(runtime, restore) == reported + timedelta(hours=50)
    assert due(runtime, scope) == reported + timedelta(hours=2)
    assert {tid: due(runtime, tid) for tid in untouched} == untouched
    assert str(by_hand.id) in untouched
    [moved] = moves_of(runtime, restore)
    assert len(moves_of(runtime, scope)) == 1
    assert (moved.previous_due_at, moved.due_at) == (
        reported + timedelta(hours=52),
        reported + timedelta(hours=50),
    )
    assert (moved.clock.value, moved.reason) == ("aware", "aware_at corrected")
    amended = list(runtime.app.core.events.get(incident_id))[-1]
    assert (moved.timestamp, moved.correlation_id) == (amended.timestamp, amended.correlation_id)
    rows = by_step(runtime, clock, incident_id)
    assert rows["restore"]["due_at"] == "2026-11-29T11:00:00.000000Z"
    assert rows["law_enforcement"]["status"] == "done"
    entries = timeline(runtime.app.containment.timeline_events(incident_id), runtime.settings.zone)
    assert [e.event for e in entries[-3:]] == [
        "IncidentFactsAmended",
        "TaskDueMoved",
        "TaskDueMoved",
    ]
    assert {e.task_id for e in entries[-2:]} == {UUID(str(restore)), UUID(str(scope))}
    assert any(
        e.summary.startswith(f"task {str(restore)[:8]} due 2026-11-29 13:00 UTC -> ")
        and "aware_at corrected" in e.summary
        for e in entries
    )


def test_replay_before_the_correction_shows_the_old_due(
    runtime: Runtime, clock: ManualClock, alice: RequestContext
) -> None:
    """As of a moment before the correction the task is due where the old awareness put it;
    after it, where the new one does."""
    incident_id, reported = ransomware(runtime, clock, alice)
    restore = by_step(runtime, clock, incident_id)["restore"]["task_id"]
    clock.advance(minutes=5)
    earlier = clock.current
    clock.advance(minutes=5)
    amend_aware(runtime, incident_id, reported - timedelta(hours=22), alice)

    def due_as_of(at: datetime) -> datetime:
        replay = replay_incident(runtime.app, runtime.notifications, incident_id, at)
        [task] = [t for t in replay.tasks if t.task_id == restore]
        return task.due_at

    assert due_as_of(earlier) == reported + timedelta(hours=52)
    assert due_as_of(clock.current) == reported + timedelta(hours=50)
    as_of = runtime.app.core.as_of(UUID(str(restore)), earlier)
    assert isinstance(as_of, ContainmentTask)
    assert as_of.state.due_at == reported + timedelta(hours=52)


def test_a_refused_correction_or_one_of_another_moment_moves_nothing(
    runtime: Runtime, clock: ManualClock, alice: RequestContext, settings: Settings
) -> None:
    """Awareness before discovery is refused with nothing stored; a corrected title or
    occurrence moves no task."""
    incident_id, reported = ransomware(runtime, clock, alice)
    restore = by_step(runtime, clock, incident_id)["restore"]["task_id"]
    before = count_events(settings)
    with pytest.raises(RuleBroken, match="aware_at"):
        runtime.app.incidents.amend_facts(
            incident_id, {"aware_at": reported - timedelta(days=3), "reason": "typo"}, alice
        )
    assert count_events(settings) == before
    runtime.app.incidents.amend_facts(
        incident_id,
        {
            "title": "Ransomware on the file server",
            "occurred_at": reported - timedelta(days=3),
            "reason": "more known",
        },
        alice,
    )
    runtime.settle()
    assert count_events(settings) == before + 1
    assert RawStore(settings).count_events(MOVED) == 0
    assert due(runtime, restore) == reported + timedelta(hours=52)


def test_a_task_stored_before_anchors_keeps_its_due_when_awareness_moves(
    runtime: Runtime, clock: ManualClock, alice: RequestContext, settings: Settings
) -> None:
    """A version 1 TaskOpened (no anchor, no class_version) still loads and is not moved,
    while the anchored tasks of the same incident are."""
    incident_id, reported = ransomware(runtime, clock, alice)
    steps = by_step(runtime, clock, incident_id)
    restore, scope = steps["restore"]["task_id"], steps["scope_exfiltration"]["task_id"]
    raw = RawStore(settings)
    [position] = [
        p
        for p, oid, version, topic, _ in raw.stored()
        if UUID(str(oid)) == UUID(str(restore)) and version == 1
    ]
    raw.edit_event(position, '"class_version":2,', "")
    raw.edit_event(position, '"due_anchor":{"clock":"aware","hours":72},', "")
    [(_, _, _, _, state)] = [s for s in raw.stored() if s[0] == position]
    assert b"due_anchor" not in state
    assert b"class_version" not in state
    fresh = bootstrap(settings, clock=clock, configure_logs=False)
    try:
        old = fresh.app.containment.get_task(UUID(str(restore))).state
        assert (old.due_anchor, old.due_at) == (None, reported + timedelta(hours=52))
        amend_aware(fresh, incident_id, reported - timedelta(hours=22), alice)
        assert due(fresh, restore) == reported + timedelta(hours=52)
        assert due(fresh, scope) == reported + timedelta(hours=2)
        assert moves_of(fresh, restore) == []
        assert len(moves_of(fresh, scope)) == 1
    finally:
        fresh.close()
