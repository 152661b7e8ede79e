"""The escalation ladder as data, the pure rule of which step is due, and who answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest

from events.alerts import DutyRotaState, DutyShift, SubjectKind, alert_id
from services.alerts.ladder import LadderError, Subject, due_step, ladder, parse_ladder, responsible

DEADLINE = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
INCIDENT = UUID("00000000-0000-4000-8000-000000000001")
GRACE = timedelta(minutes=1)


def obligation(deadline: datetime = DEADLINE, *, open_: bool = True) -> Subject:
    return Subject(
        SubjectKind.OBLIGATION, INCIDENT, "eu_gdpr/supervisory_authority", deadline, open_
    )


def step_at(now: datetime, subject: Subject | None = None) -> str | None:
    found = due_step(ladder().obligation, subject or obligation(), now, GRACE)
    return None if found is None else found.step.step


def test_the_shipped_ladder_has_the_default_steps() -> None:
    """Obligations: 24 h, 6 h, 1 h before and at the deadline; mandatory tasks: overdue."""
    shipped = ladder()
    assert [s.step for s in shipped.obligation] == ["due_24h", "due_6h", "due_1h", "overdue"]
    assert [s.before.delta for s in shipped.obligation] == [
        timedelta(hours=24),
        timedelta(hours=6),
        timedelta(hours=1),
        timedelta(0),
    ]
    assert [s.step for s in shipped.task] == ["overdue"]
    assert "admins" in shipped.obligation[-1].recipients


@pytest.mark.parametrize(
    ("before_deadline", "expected"),
    [
        (timedelta(hours=30), None),
        (timedelta(hours=24, seconds=1), None),
        (timedelta(hours=24), "due_24h"),
        (timedelta(hours=7), "due_24h"),
        (timedelta(hours=6), "due_6h"),
        (timedelta(minutes=59), "due_1h"),
        (timedelta(0), "overdue"),
        (-timedelta(days=3), "overdue"),
    ],
)
def test_the_latest_passed_step_is_due(before_deadline: timedelta, expected: str | None) -> None:
    """At each moment the step due is the latest whose moment has passed."""
    assert step_at(DEADLINE - before_deadline) == expected


def test_a_decided_obligation_has_no_step_due() -> None:
    """A subject no longer open (decided, or a finished task) gets nothing, even overdue."""
    assert step_at(DEADLINE + timedelta(hours=1), obligation(open_=False)) is None


def test_a_step_raised_long_after_its_moment_is_late() -> None:
    """Within the allowed delay a step is on time; after it, late (missed while down)."""
    on_time = due_step(ladder().obligation, obligation(), DEADLINE - timedelta(hours=6), GRACE)
    late = due_step(ladder().obligation, obligation(), DEADLINE - timedelta(minutes=30), GRACE)
    assert on_time is not None
    assert not on_time.late
    assert late is not None
    assert late.late
    assert late.step.step == "due_1h"
    assert late.due_at == DEADLINE - timedelta(hours=1)


def test_a_moved_deadline_gets_its_own_ladder() -> None:
    """The same step of the same obligation has another id at another deadline version,
    and the same id whichever scanner computes it."""
    now = DEADLINE - timedelta(hours=6)
    first = due_step(ladder().obligation, obligation(), now, GRACE)
    again = due_step(ladder().obligation, obligation(), now, GRACE)
    moved = due_step(ladder().obligation, obligation(DEADLINE + timedelta(hours=3)), now, GRACE)
    assert first is not None
    assert again is not None
    assert moved is not None
    assert first.alert_id == again.alert_id
    assert moved.alert_id != first.alert_id
    same_moment = DEADLINE.astimezone(timezone(timedelta(hours=2)))
    assert alert_id(SubjectKind.OBLIGATION, INCIDENT, "x", same_moment, "overdue") == alert_id(
        SubjectKind.OBLIGATION, INCIDENT, "x", DEADLINE, "overdue"
    )


def test_who_answers_falls_back_from_owner_to_incident_owner_to_dpo() -> None:
    """The subject's owner first, then the incident's owner, then the DPO on duty."""
    assert responsible("tara", "olga", "dora") == "tara"
    assert responsible(None, "olga", "dora") == "olga"
    assert responsible(None, None, "dora") == "dora"
    assert responsible(None, None, None) is None


def test_the_dpo_on_duty_is_the_latest_starting_shift_covering_the_moment() -> None:
    """Overlapping shifts: the one that started last wins; outside every shift, nobody."""
    start = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
    rota = DutyRotaState(
        shifts=(
            DutyShift(
                shift_id="a", user="dora", starts_at=start, ends_at=start + timedelta(days=7)
            ),
            DutyShift(
                shift_id="b",
                user="dave",
                starts_at=start + timedelta(days=1),
                ends_at=start + timedelta(days=2),
            ),
        )
    )
    assert rota.on_duty(start) == "dora"
    assert rota.on_duty(start + timedelta(days=1, hours=3)) == "dave"
    assert rota.on_duty(start + timedelta(days=2)) == "dora"
    assert rota.on_duty(start + timedelta(days=7)) is None


def _ladder(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": 1,
        "obligation": [
            {"step": "soon", "before": {"hours": 2}, "recipients": ["owner"], "channels": ["bell"]},
            {"step": "late", "before": {}, "recipients": ["admins"], "channels": ["email"]},
        ],
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        (
            {
                "obligation": [
                    {"step": "x", "before": {}, "recipients": ["boss"], "channels": ["bell"]}
                ]
            },
            "obligation.0.recipients",
        ),
        (
            {
                "obligation": [
                    {"step": "x", "before": {}, "recipients": ["owner"], "channels": ["sms"]}
                ]
            },
            "obligation.0.channels.0",
        ),
        ({"obligation": list(reversed(_ladder()["obligation"]))}, "earliest first"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_malformed_ladder_is_refused_naming_the_entry(
    changes: dict[str, Any], named: str
) -> None:
    """An unknown recipient or channel, steps out of order or an unknown key: refused,
    the message naming the file and where."""
    with pytest.raises(LadderError) as caught:
        parse_ladder(_ladder(**changes))
    assert "rules/ladder.yaml" in str(caught.value)
    assert named in str(caught.value)


def test_a_role_may_be_named_as_recipients() -> None:
    """role:<role> names every holder of a role."""
    parsed = parse_ladder(
        _ladder(
            task=[
                {"step": "overdue", "before": {}, "recipients": ["role:dpo"], "channels": ["bell"]}
            ]
        )
    )
    assert parsed.task[0].recipients == ("role:dpo",)
