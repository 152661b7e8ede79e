"""Given/when/then tests of the containment task aggregate's rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from events.base import Cause
from events.containment import (
    ContainmentTask,
    Evidence,
    Priority,
    TaskBlocked,
    TaskCompleted,
    TaskStatus,
    TaskUnblocked,
)
from events.errors import RuleViolation

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
