"""Deadline alerts on the real store: who is on the hook, and each escalation step raised
exactly once through restarts and racing scanners, stopped by a decision, started again by a
moved deadline."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from events.alerts import Alert
from services.application.context import RequestContext
from services.application.errors import InvalidInput, RuleBroken, ServiceError
from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from services.timeline import timeline
from tests.support.clocks import ManualClock
from tests.support.facts import PORTAL_LEAK
from tests.support.store import count_events

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
AWARE = START - timedelta(hours=12)
DEADLINE = AWARE + timedelta(hours=72)
GDPR = "eu_gdpr/supervisory_authority"
UK = "uk_gdpr/ico"
STEPS = {"due_24h": 24, "due_6h": 6, "due_1h": 1, "overdue": 0}
ADMIN = RequestContext(actor="ada", correlation_id="req-ada")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def incident(runtime: Runtime, alice: RequestContext) -> UUID:
    """A portal leak (GDPR and UK GDPR, 72 hours from awareness) owned by olga, with dora
    on the DPO duty rota and ada an admin."""
    users = runtime.app.users
    users.add_user("olga", ["responder"], ADMIN)
    users.add_user("dora", ["dpo"], ADMIN)
    users.add_user("ada", ["admin"], ADMIN)
    reported = runtime.app.incidents.report_incident(
        {
            "title": "Careers portal CV leak",
            "reporter": "soc",
            "discovered_at": AWARE - timedelta(hours=2),
            "aware_at": AWARE,
            "incident_type": "web_application_exfiltration",
        },
        alice,
    )
    runtime.app.assessment.assess_impact(reported.id, PORTAL_LEAK, alice)
    runtime.app.incidents.assign_owner(reported.id, {"owner": "olga"}, alice)
    runtime.app.alerts.schedule_duty(
        {
            "user": "dora",
            "starts_at": START - timedelta(days=1),
            "ends_at": START + timedelta(days=30),
        },
        alice,
    )
    runtime.settle()
    return reported.id


@pytest.fixture
def reopen(settings: Settings, clock: ManualClock) -> Iterator[Any]:
    """Opens runtimes on the same data (closed at the end)."""
    opened: list[Runtime] = []

    def make() -> Runtime:
        rt = bootstrap(settings, clock=clock, configure_logs=False)
        opened.append(rt)
        return rt

    yield make
    for rt in opened:
        rt.close()


def alerts(rt: Runtime, incident_id: UUID) -> list[Alert]:
    """The incident's alerts, from the log."""
    rt.views.catch_up_only("alerts")
    return [rt.app.alerts.get_alert(i) for i in rt.alerts.ids_of_incident(incident_id)]


def steps_of(rt: Runtime, incident_id: UUID, obligation: str) -> list[str]:
    return [a.state.step for a in alerts(rt, incident_id) if a.state.subject_id == obligation]


def race(first: Runtime, second: Runtime) -> list[UUID]:
    """Two alarm clocks scanning at once; the alerts each raised."""
    clocks = [first.alarm_clock(), second.alarm_clock()]
    raised: list[list[UUID]] = [[], []]
    barrier = threading.Barrier(2)

    def scan(i: int) -> None:
        barrier.wait()
        raised[i] = clocks[i].scan()

    threads = [threading.Thread(target=scan, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return raised[0] + raised[1]


def test_one_obligation_walks_every_step_once_through_restarts_and_racing_scanners(
    runtime: Runtime, incident: UUID, clock: ManualClock, reopen: Any
) -> None:
    """Before, at each step's moment and after: with a restart before each scan and two
    scanners racing, each step is raised exactly once per obligation, on time, for the
    step's recipients, and the timeline tells it."""
    runtime.close()
    rt = reopen()
    assert rt.alarm_clock().scan() == []
    for step, hours in STEPS.items():
        clock.current = DEADLINE - timedelta(hours=hours) + timedelta(seconds=5)
        rt.close()
        rt, other = reopen(), reopen()
        raised = race(rt, other)
        assert len(raised) == len(set(raised)) == 2  # GDPR and UK GDPR, once each
        assert rt.alarm_clock().scan() == []
        assert other.alarm_clock().scan() == []
        assert steps_of(rt, incident, GDPR)[-1] == step
        other.close()
    rt.settle()
    walked = steps_of(rt, incident, GDPR)
    assert walked == list(STEPS)
    assert steps_of(rt, incident, UK) == list(STEPS)
    by_step = {a.state.step: a.state for a in alerts(rt, incident) if a.state.subject_id == GDPR}
    assert by_step["due_24h"].recipients == ("olga", "dora")
    assert by_step["due_6h"].recipients == ("olga", "dora")
    assert by_step["overdue"].recipients == ("olga", "dora", "ada")
    assert not any(s.late for s in by_step.values())
    assert all(s.deadline == DEADLINE for s in by_step.values())
    entries = timeline(rt.app.containment.timeline_events(incident), rt.settings.zone)
    told = [e.summary for e in entries if e.event == "AlertRaised"]
    assert len(told) == 8
    assert any(f"alert overdue for obligation {GDPR}" in t for t in told)
    assert [e.event for e in entries].index("IncidentOwnerAssigned") < [
        e.event for e in entries
    ].index("AlertRaised")
    assert rt.alerts.unread("dora") == 8
    assert rt.alerts.unread("olga") == 8


def test_many_subjects_raised_in_batches_by_two_racing_scanners_each_once(
    runtime: Runtime, incident: UUID, clock: ManualClock, alice: RequestContext, reopen: Any
) -> None:
    """Two scanners on their own runtimes raise a storm of due steps at once, in small
    batches that collide: every due alert is raised exactly once between them (one
    AlertRaised event per alert id, no id raised by both) and no subject's step is lost."""
    for i in range(15):
        reported = runtime.app.incidents.report_incident(
            {
                "title": f"Portal leak {i}",
                "reporter": "soc",
                "discovered_at": AWARE - timedelta(hours=2),
                "aware_at": AWARE,
                "incident_type": "web_application_exfiltration",
            },
            alice,
        )
        runtime.app.assessment.assess_impact(reported.id, PORTAL_LEAK, alice)
    runtime.settle()
    runtime.close()
    clock.current = DEADLINE - timedelta(hours=6) + timedelta(seconds=5)
    first, second = reopen(), reopen()
    due = {f.alert_id for f in first.alarm_clock().due(clock.current)}
    assert len(due) == 32  # sixteen incidents, two regimes each
    clocks = [first.alarm_clock(), second.alarm_clock()]
    for alarm, size in zip(clocks, (3, 5), strict=True):
        alarm.batch_size = size
    raised: list[list[UUID]] = [[], []]
    barrier = threading.Barrier(2)

    def scan(i: int) -> None:
        barrier.wait()
        raised[i] = clocks[i].scan()

    threads = [threading.Thread(target=scan, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not set(raised[0]) & set(raised[1])
    assert len(raised[0]) + len(raised[1]) == len(due)
    assert set(raised[0]) | set(raised[1]) == due
    stored = first.app.core.stored_events_of(sorted(due))
    assert sorted(str(e.originator_id) for e in stored) == sorted(str(i) for i in due)
    assert first.alarm_clock().scan() == []
    assert second.alarm_clock().scan() == []
    first.settle()
    found = [first.app.alerts.get_alert(i).state for i in due]
    assert {(a.incident_id, a.subject_id) for a in found} == {
        (f.subject.incident_id, f.subject.subject_id)
        for f in first.alarm_clock().due(clock.current)
    }
    assert {a.step for a in found} == {"due_6h"}


def test_a_decision_stops_the_ladder_and_a_moved_deadline_starts_a_new_one(
    runtime: Runtime, incident: UUID, clock: ManualClock, alice: RequestContext
) -> None:
    """After the 24-hour step, a decision on GDPR stops its ladder; correcting awareness
    moves UK GDPR's deadline, and its ladder starts again at the new deadline."""
    clock.current = DEADLINE - timedelta(hours=24)
    assert len(runtime.alarm_clock().scan()) == 2
    runtime.app.assessment.decide_obligation(
        incident,
        {
            "obligation": GDPR,
            "decision": "notified",
            "reason": "Filed with the lead authority",
            "notified_at": clock.current,
            "reference": "DPC-1",
        },
        alice,
    )
    runtime.settle()
    clock.current = DEADLINE - timedelta(hours=6)
    runtime.alarm_clock().scan()
    runtime.settle()
    assert steps_of(runtime, incident, GDPR) == ["due_24h"]
    assert steps_of(runtime, incident, UK) == ["due_24h", "due_6h"]

    later = AWARE + timedelta(hours=20)
    runtime.app.incidents.amend_facts(
        incident, {"aware_at": later, "reason": "escalation ticket found"}, alice
    )
    runtime.settle()
    assert runtime.alarm_clock().scan() == []  # the new deadline is 26 hours away
    clock.current = later + timedelta(hours=72 - 24)
    assert len(runtime.alarm_clock().scan()) == 1
    runtime.settle()
    uk = [a.state for a in alerts(runtime, incident) if a.state.subject_id == UK]
    assert [(a.step, a.deadline) for a in uk] == [
        ("due_24h", DEADLINE),
        ("due_6h", DEADLINE),
        ("due_24h", later + timedelta(hours=72)),
    ]
    assert steps_of(runtime, incident, GDPR) == ["due_24h"]


def test_steps_missed_while_down_fire_once_at_start_up_marked_late(
    runtime: Runtime, incident: UUID, clock: ManualClock, reopen: Any
) -> None:
    """Down from before the first step until half an hour before the deadline: at start-up
    only the latest passed step (1 hour) is raised, once, marked late; the earlier ones are
    not replayed."""
    runtime.close()
    clock.current = DEADLINE - timedelta(minutes=30)
    rt = reopen()
    assert len(rt.alarm_clock().scan()) == 2
    assert rt.alarm_clock().scan() == []
    rt.settle()
    found = [a.state for a in alerts(rt, incident)]
    assert {(a.subject_id, a.step, a.late) for a in found} == {
        (GDPR, "due_1h", True),
        (UK, "due_1h", True),
    }
    assert all(a.due_at == DEADLINE - timedelta(hours=1) for a in found)


def test_a_recipient_acknowledges_an_alert_once(
    runtime: Runtime, incident: UUID, clock: ManualClock
) -> None:
    """The acknowledgement is recorded once; a second one and one by a non-recipient are
    refused and record nothing."""
    clock.current = DEADLINE - timedelta(hours=6)
    runtime.alarm_clock().scan()
    runtime.settle()
    [first, *_] = runtime.alerts.of("dora")
    alert = UUID(first["alert_id"])
    dora = RequestContext(actor="dora", correlation_id="req-dora")
    runtime.gateway.run(runtime.app.alerts.acknowledge, alert, dora)
    assert runtime.alerts.of("dora")[0]["acknowledged_at"] is not None
    assert runtime.alerts.unread("dora") == 1
    assert runtime.alerts.unread("olga") == 2
    for who, reason in ((dora, "already"), (ADMIN, "not addressed")):
        before = count_events(runtime.settings)
        with pytest.raises(RuleBroken) as caught:
            runtime.app.alerts.acknowledge(alert, who)
        assert caught.value.field == "alert"
        assert reason in caught.value.reason
        assert count_events(runtime.settings) == before
    assert runtime.app.alerts.get_alert(alert).state.acknowledged.keys() == {"dora"}


def test_the_owner_is_recorded_shown_and_a_same_owner_is_refused(
    runtime: Runtime, incident: UUID, alice: RequestContext
) -> None:
    """The owner is on the incident's state; giving it the same owner changes nothing and
    is refused; null removes the owner."""
    assert runtime.app.incidents.get_incident(incident).state.owner == "olga"
    before = count_events(runtime.settings)
    with pytest.raises(RuleBroken) as caught:
        runtime.app.incidents.assign_owner(incident, {"owner": "olga"}, alice)
    assert caught.value.field == "owner"
    assert count_events(runtime.settings) == before
    runtime.app.incidents.assign_owner(incident, {"owner": None}, alice)
    assert runtime.app.incidents.get_incident(incident).state.owner is None


def test_the_board_row_carries_the_owner_through_changes(
    runtime: Runtime, incident: UUID, alice: RequestContext
) -> None:
    """The board shows the incident's owner, follows a change of owner, and shows none once
    the owner is removed."""

    def owner_on_board() -> object:
        return next(r for r in runtime.board.rows() if r["incident_id"] == str(incident))["owner"]

    assert owner_on_board() == "olga"
    runtime.gateway.run(runtime.app.incidents.assign_owner, incident, {"owner": "dora"}, alice)
    assert owner_on_board() == "dora"
    runtime.gateway.run(runtime.app.incidents.assign_owner, incident, {"owner": None}, alice)
    assert owner_on_board() is None


@pytest.mark.parametrize(
    ("command", "data", "field"),
    [
        ("owner", {}, "owner"),
        ("owner", {"owner": "nobody-here"}, "owner"),
        ("owner", {"owner": "bad name!"}, "owner"),
        ("owner", {"owner": "olga", "extra": "x-secret"}, "input"),
        (
            "duty",
            {"user": "nobody-here", "starts_at": START, "ends_at": START + timedelta(1)},
            "user",
        ),
        ("duty", {"user": "dora", "starts_at": START, "ends_at": START - timedelta(1)}, "ends_at"),
        ("duty", {"user": "dora", "starts_at": "soon-ish", "ends_at": START}, "starts_at"),
        ("cancel", {"shift_id": "no-such-shift"}, "shift"),
    ],
)
def test_bad_input_to_each_new_command_records_nothing_and_echoes_nothing(
    runtime: Runtime,
    incident: UUID,
    alice: RequestContext,
    command: str,
    data: dict[str, Any],
    field: str,
) -> None:
    """Each refusal names the field, repeats no value given, and stores no event."""
    before = count_events(runtime.settings)
    run = {
        "owner": lambda: runtime.app.incidents.assign_owner(incident, data, alice),
        "duty": lambda: runtime.app.alerts.schedule_duty(data, alice),
        "cancel": lambda: runtime.app.alerts.cancel_duty(data, alice),
    }[command]
    with pytest.raises(ServiceError) as caught:
        run()
    assert caught.value.field == field
    for value in data.values():
        if isinstance(value, str):
            assert value not in caught.value.reason
    assert count_events(runtime.settings) == before
    assert isinstance(caught.value, InvalidInput | RuleBroken)
