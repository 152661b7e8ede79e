"""Given/when/then tests of the containment task aggregate's rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from events.base import Cause
from events.containment import (
    ContainmentTask,
    DueAnchor,
    DueClock,
    Evidence,
    Priority,
    TaskBlocked,
    TaskCompleted,
    TaskDueMoved,
    TaskOpened,
    TaskStatus,
    TaskUnblocked,
)
from events.errors import RuleViolation
from events.values import LegalMoments
from services.application.encoding import CanonicalJSONTranscoder, PydanticMapper, canonical_json

REPORTED = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def cause(minutes: int = 0, actor: str = "ann") -> Cause:
    return Cause(actor=actor, correlation_id="c", at=REPORTED + timedelta(minutes=minutes))


def task(**overrides: object) -> ContainmentTask:
    args: dict[str, object] = {
        "task_id": uuid4(),
        "incident_id": uuid4(),
        "incident_reported_at": REPORTED,
        "title": "Isolate hosts",
        "owner": None,
        "priority": Priority.CRITICAL,
        "due_at": REPORTED + timedelta(hours=1),
        "mandatory": True,
    }
    args.update(overrides)
    return ContainmentTask.open(cause(), **args)  # type: ignore[arg-type]


def test_a_task_cannot_be_due_before_its_incident_was_reported() -> None:
    """Due times earlier than the report are refused, on opening and on rescheduling."""
    with pytest.raises(RuleViolation, match="due_at"):
        task(due_at=REPORTED - timedelta(minutes=1))
    t = task()
    with pytest.raises(RuleViolation, match="due_at"):
        t.change_due(cause(1), due_at=REPORTED - timedelta(hours=1), reason="typo")


def test_a_task_whose_blockers_are_open_cannot_start_or_complete() -> None:
    """Blockers still open refuse start and completion, naming them."""
    blocker = uuid4()
    t = task(blocked_by=[blocker])
    with pytest.raises(RuleViolation, match=str(blocker)[:8]):
        t.start(cause(1), open_blockers=[blocker])
    with pytest.raises(RuleViolation, match="waits for"):
        t.complete(cause(1), outcome="done", evidence=(), open_blockers=[blocker])
    t.start(cause(2), open_blockers=[])
    assert t.state.status is TaskStatus.IN_PROGRESS


def test_a_cancelled_task_cannot_be_completed_until_reopened() -> None:
    """Cancel, then complete is refused; reopen, then complete works."""
    t = task()
    t.cancel(cause(1), reason="duplicate of another task")
    with pytest.raises(RuleViolation, match="cancelled"):
        t.complete(cause(2), outcome="x", evidence=(), open_blockers=[])
    t.reopen(cause(3), reason="not a duplicate after all")
    t.complete(cause(4), outcome="isolated", evidence=(), open_blockers=[])
    assert t.state.status is TaskStatus.DONE


def test_completing_a_done_task_says_who_did_it() -> None:
    """The second completion is refused with the first completer's name."""
    t = task()
    t.complete(
        cause(1, actor="ann"),
        outcome="done",
        evidence=(Evidence(kind="ticket", value="SEC-9"),),
        open_blockers=[],
    )
    with pytest.raises(RuleViolation, match="already done by ann"):
        t.complete(cause(2, actor="ben"), outcome="done too", evidence=(), open_blockers=[])


def test_a_block_returns_the_task_to_where_it_was() -> None:
    """Blocking an in-progress task and unblocking it resumes progress."""
    t = task()
    t.start(cause(1), open_blockers=[])
    t.block(cause(2), reason="waiting for the hosting provider")
    assert t.state.status is TaskStatus.BLOCKED
    with pytest.raises(RuleViolation, match="blocked"):
        t.complete(cause(3), outcome="x", evidence=(), open_blockers=[])
    t.unblock(cause(4), reason="provider answered")
    assert t.state.status is TaskStatus.IN_PROGRESS
    kinds = [type(e) for e in t.collect_events()][-2:]
    assert kinds == [TaskBlocked, TaskUnblocked]


def test_reopen_needs_a_finished_task_and_assignment_must_change_the_owner() -> None:
    """Reopening an open task and re-assigning the same owner are refused."""
    t = task(owner="ann")
    with pytest.raises(RuleViolation, match="only a done or cancelled"):
        t.reopen(cause(1), reason="x")
    with pytest.raises(RuleViolation, match="already assigned to this owner"):
        t.assign(cause(1), owner="ann")
    t.assign(cause(2), owner="ben")
    assert t.state.owner == "ben"


def test_completion_records_outcome_evidence_time_and_completer() -> None:
    """The completed event carries the outcome and evidence; the state remembers who and when."""
    t = task()
    digest = "a" * 64
    t.complete(
        cause(30, actor="cy"),
        outcome="hosts isolated",
        evidence=(Evidence(kind="sha256", value=digest),),
        open_blockers=[],
    )
    event = t.collect_events()[-1]
    assert isinstance(event, TaskCompleted)
    assert event.evidence[0].value == digest
    assert (t.state.completed_by, t.state.completed_at) == ("cy", REPORTED + timedelta(minutes=30))


AWARE = REPORTED - timedelta(hours=1)
MOMENTS = LegalMoments(discovered_at=AWARE - timedelta(hours=1), aware_at=AWARE)
THREE_DAYS = DueAnchor(clock=DueClock.AWARE, hours=72)


def anchored(anchor: DueAnchor = THREE_DAYS, **overrides: object) -> ContainmentTask:
    start = anchor.clock.start(MOMENTS) or REPORTED
    return task(due_at=anchor.due_at(start, REPORTED), due_anchor=anchor, **overrides)


def test_a_corrected_awareness_moves_an_anchored_task_by_the_same_amount() -> None:
    """aware + 3 days with awareness two hours earlier is due two hours earlier, with one
    event naming the old and new due, the clock and the corrected fact."""
    t = anchored()
    before = t.state.due_at
    t.collect_events()
    earlier = MOMENTS.model_copy(update={"aware_at": AWARE - timedelta(hours=2)})
    assert t.follow_moments(cause(5), moments=earlier, corrected={"aware_at"}) is True
    [event] = t.collect_events()
    assert isinstance(event, TaskDueMoved)
    assert (event.previous_due_at, event.due_at) == (before, before - timedelta(hours=2))
    assert (event.clock, event.counted_from) == (DueClock.AWARE, AWARE - timedelta(hours=2))
    assert event.reason == "aware_at corrected"
    assert t.state.due_at == before - timedelta(hours=2)
    assert t.state.due_anchor == THREE_DAYS


def test_in_progress_and_blocked_tasks_move_but_finished_ones_keep_their_due() -> None:
    """Open work follows the correction; done and cancelled tasks append nothing."""
    earlier = MOMENTS.model_copy(update={"aware_at": AWARE - timedelta(hours=2)})
    started, blocked, done, cancelled = anchored(), anchored(), anchored(), anchored()
    started.start(cause(1), open_blockers=[])
    blocked.block(cause(1), reason="waiting for the provider")
    done.complete(cause(1), outcome="restored", evidence=(), open_blockers=[])
    cancelled.cancel(cause(1), reason="not needed")
    moved = {
        name: t.follow_moments(cause(5), moments=earlier, corrected={"aware_at"})
        for name, t in (
            ("started", started),
            ("blocked", blocked),
            ("done", done),
            ("cancelled", cancelled),
        )
    }
    assert moved == {"started": True, "blocked": True, "done": False, "cancelled": False}
    assert done.state.due_at == REPORTED + timedelta(hours=71)
    assert not any(isinstance(e, TaskDueMoved) for e in done.collect_events())


def test_tasks_without_an_anchor_or_set_by_hand_keep_their_due() -> None:
    """A task opened by hand has no anchor; a rescheduled task drops its anchor; neither
    moves when awareness is corrected."""
    earlier = MOMENTS.model_copy(update={"aware_at": AWARE - timedelta(hours=2)})
    by_hand = task(due_at=REPORTED + timedelta(hours=5))
    rescheduled = anchored()
    rescheduled.change_due(cause(1), due_at=REPORTED + timedelta(days=5), reason="weekend")
    assert rescheduled.state.due_anchor is None
    for t in (by_hand, rescheduled):
        assert t.follow_moments(cause(5), moments=earlier, corrected={"aware_at"}) is False
    assert rescheduled.state.due_at == REPORTED + timedelta(days=5)


def test_only_a_correction_of_the_clocks_own_moments_moves_a_task() -> None:
    """discovered_at corrected while awareness is recorded moves no aware task; reported and
    triaged clocks never move; awareness cleared falls back to discovery; never before the
    report."""
    earlier_discovery = MOMENTS.model_copy(
        update={"discovered_at": MOMENTS.discovered_at - timedelta(hours=3)}
    )
    t = anchored()
    assert (
        t.follow_moments(cause(5), moments=earlier_discovery, corrected={"discovered_at"}) is False
    )
    assert t.follow_moments(cause(5), moments=earlier_discovery, corrected={"occurred_at"}) is False
    for clock in (DueClock.REPORTED, DueClock.TRIAGED):
        fixed = anchored(DueAnchor(clock=clock, hours=4))
        assert not fixed.follow_moments(
            cause(5), moments=earlier_discovery, corrected={"aware_at", "discovered_at"}
        )
    cleared = MOMENTS.model_copy(update={"aware_at": None})
    assert t.follow_moments(cause(6), moments=cleared, corrected={"aware_at"}) is True
    assert t.state.due_at == MOMENTS.discovered_at + timedelta(hours=72)
    soon = anchored(DueAnchor(clock=DueClock.AWARE, hours=4))
    assert soon.state.due_at == REPORTED + timedelta(hours=3)
    much_earlier = MOMENTS.model_copy(
        update={"discovered_at": AWARE - timedelta(hours=9), "aware_at": AWARE - timedelta(hours=8)}
    )
    assert soon.follow_moments(cause(7), moments=much_earlier, corrected={"aware_at"}) is True
    assert soon.state.due_at == REPORTED


def test_a_version_1_task_opened_event_loads_without_an_anchor() -> None:
    """A stored TaskOpened from before anchors (no class_version, no due_anchor) is upcast:
    the task keeps its recorded due time and follows no moment."""
    opened = task(due_at=REPORTED + timedelta(hours=7)).collect_events()[0]
    mapper = PydanticMapper(transcoder=CanonicalJSONTranscoder())
    stored = mapper.to_stored_event(opened)
    state = json.loads(stored.state)
    assert (state.pop("class_version"), state.pop("due_anchor")) == (2, None)
    old = StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=canonical_json(state),
    )
    loaded = mapper.to_domain_event(old)
    assert isinstance(loaded, TaskOpened)
    t = loaded.mutate(None)
    assert isinstance(t, ContainmentTask)
    assert (t.state.due_at, t.state.due_anchor) == (REPORTED + timedelta(hours=7), None)
    assert t.follow_moments(cause(5), moments=MOMENTS, corrected={"aware_at"}) is False
