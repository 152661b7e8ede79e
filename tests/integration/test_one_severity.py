"""The board's one severity on the real stores: triage, assessment, re-assessment,
filters, and the board and the incident as they were at earlier moments."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.application.context import RequestContext
from services.audit.replay import replay_incident
from services.bootstrap import Runtime
from services.operations import audit as service
from tests.support.clocks import ManualClock
from tests.support.facts import PORTAL_LEAK
from tests.support.severity import HEALTH_LEAK, apart_from, band_of

DISCOVERED = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))


def severities(row: dict[str, Any]) -> tuple[Any, Any, Any]:
    return row["severity"], row["severity_source"], row["initial_severity"]


def test_the_board_row_moves_from_triage_to_assessed_severity(
    runtime: Runtime, clock: ManualClock, alice: RequestContext
) -> None:
    """After triage the row shows the estimate (source triage); after assessment the band
    (source assessment) with the estimate kept, and the severity filter finds the row by the
    new value only; a re-assessment to another band moves the row again, a later triage
    changes only the estimate; the board and the incident as of each earlier moment show the
    severity they had then."""
    first, second = band_of(PORTAL_LEAK), band_of(HEALTH_LEAK)
    assert first != second, "the two fact sets must assess to different bands"
    estimate = apart_from(first, second)
    app, board = runtime.app, runtime.board
    incident = app.incidents.report_incident(
        {"title": "Careers portal CV leak", "reporter": "soc", "discovered_at": DISCOVERED},
        alice,
    )
    key = incident.id

    def row() -> tuple[Any, Any, Any]:
        runtime.settle()
        (only,) = [r for r in board.rows() if r["incident_id"] == str(key)]
        return severities(only)

    def found(value: Any) -> list[str]:
        return [r["incident_id"] for r in board.rows(severity=value.value)]

    clock.advance(minutes=5)
    app.incidents.triage_incident(key, {"severity": estimate.value}, alice)
    assert row() == (estimate.value, "triage", estimate.value)
    assert found(estimate) == [str(key)]
    triaged_at = clock.advance(minutes=5)

    clock.advance(minutes=5)
    app.assessment.assess_impact(key, PORTAL_LEAK, alice)
    assert row() == (first.value, "assessment", estimate.value)
    assert found(first) == [str(key)]
    assert found(estimate) == []
    assert [r["incident_id"] for r in board.page(severity=first.value)] == [str(key)]
    assessed_at = clock.advance(minutes=5)

    clock.advance(minutes=5)
    app.assessment.assess_impact(key, HEALTH_LEAK, alice)
    assert row() == (second.value, "assessment", estimate.value)
    assert (found(first), found(second)) == ([], [str(key)])

    later = apart_from(estimate, first, second)
    clock.advance(minutes=5)
    app.incidents.triage_incident(key, {"severity": later.value}, alice)
    assert row() == (second.value, "assessment", later.value)
    assert found(later) == []

    _, then = service.board_as_of(runtime, triaged_at)
    assert [severities(r) for r in then] == [(estimate.value, "triage", estimate.value)]
    _, then = service.board_as_of(runtime, assessed_at)
    assert [severities(r) for r in then] == [(first.value, "assessment", estimate.value)]
    for moment, expected in (
        (triaged_at, (estimate, "triage", estimate)),
        (assessed_at, (first, "assessment", estimate)),
    ):
        state = replay_incident(app, runtime.notifications, key, moment).state
        assert state is not None
        assert (state.severity, state.severity_source, state.initial_severity) == expected
