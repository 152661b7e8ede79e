"""The event store (SQLite or PostgreSQL): history survives restarts, old events load, bad
input stores nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from events.incident import IncidentTriaged
from events.values import BreachDetermination
from services.application.context import RequestContext
from services.application.errors import InvalidInput, NotFound, RuleBroken, ServiceError
from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from tests.support.clocks import ManualClock
from tests.support.reports import report_input
from tests.support.store import RawStore, count_events


def test_history_survives_a_restart(
    runtime: Runtime, settings: Settings, clock: ManualClock, alice: RequestContext
) -> None:
    """A second process on the same file sees the same incident, version and board row."""
    incident = runtime.app.incidents.report_incident(report_input(clock.current), alice)
    runtime.app.incidents.triage_incident(incident.id, {"severity": "high"}, alice)
    runtime.app.incidents.add_note(incident.id, {"text": "Contained"}, alice)
    before = runtime.app.incidents.get_incident(incident.id)
    runtime.close()

    again = bootstrap(settings, clock=clock, configure_logs=False)
    try:
        after = again.app.incidents.get_incident(incident.id)
        assert after.state == before.state
        assert after.version == 3
        again.views.catch_up()
        assert [r["incident_id"] for r in again.board.rows()] == [str(incident.id)]
    finally:
        again.close()


def test_stored_events_are_canonical_json_with_actor_and_correlation(
    runtime: Runtime, settings: Settings, clock: ManualClock, alice: RequestContext
) -> None:
    """Stored state is sorted, compact UTF-8 JSON carrying who and why."""
    runtime.app.incidents.report_incident(
        report_input(clock.current, title="Fuite de données é"), alice
    )
    [state] = RawStore(settings).states()
    decoded = json.loads(state)
    assert (
        state
        == json.dumps(decoded, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )
    assert decoded["actor"] == "alice"
    assert decoded["correlation_id"] == "req-alice"


def test_a_version_1_triage_event_still_loads(
    runtime: Runtime, settings: Settings, clock: ManualClock, alice: RequestContext
) -> None:
    """A triage stored in the old shape (boolean breach flag, no class_version) is upcast."""
    incident = runtime.app.incidents.report_incident(report_input(clock.current), alice)
    old_state = {
        "actor": "dpo",
        "correlation_id": "legacy",
        "incident_type": "web_application_exfiltration",
        "personal_data_breach": True,
        "severity": "high",
        "timestamp": (clock.current + timedelta(minutes=5)).isoformat(),
    }
    RawStore(settings).add_event(
        incident.id, 2, "events.incident:IncidentTriaged", json.dumps(old_state).encode()
    )
    runtime.app.core.repository.cache = None
    loaded = runtime.app.incidents.get_incident(incident.id)
    assert loaded.version == 2
    assert loaded.state.personal_data_breach is BreachDetermination.YES
    history = runtime.app.incidents.incident_history(incident.id)
    assert isinstance(history[-1], IncidentTriaged)


BAD_REQUESTS: list[tuple[str, dict[str, Any], type[ServiceError], str]] = [
    ("report", {"title": ""}, InvalidInput, "title"),
    ("report", {"discovered_at": "not a time"}, InvalidInput, "discovered_at"),
    ("report", {"aware_at": "2020-01-01T00:00:00Z"}, RuleBroken, "aware_at"),
    ("report", {"source": "carrier pigeon"}, InvalidInput, "source"),
    ("amend", {"reason": "r", "title": "Resumes downloadable without login"}, RuleBroken, "title"),
    ("amend", {"reason": "r"}, InvalidInput, "facts"),
    ("triage", {"severity": "apocalyptic"}, InvalidInput, "severity"),
    ("reopen", {"reason": "r"}, RuleBroken, "status"),
    ("close", {"resolution": " "}, InvalidInput, "resolution"),
]


@pytest.mark.parametrize(("command", "data", "error", "field"), BAD_REQUESTS)
def test_bad_requests_name_the_field_and_append_nothing(
    runtime: Runtime,
    settings: Settings,
    clock: ManualClock,
    alice: RequestContext,
    command: str,
    data: dict[str, Any],
    error: type[ServiceError],
    field: str,
) -> None:
    """Each refused request raises the right error for the right field; the log is unchanged."""
    incident = runtime.app.incidents.report_incident(report_input(clock.current), alice)
    before = count_events(settings)
    assert before == 1
    app = runtime.app
    commands: dict[str, Callable[[], object]] = {
        "report": lambda: app.incidents.report_incident(report_input(clock.current, **data), alice),
        "amend": lambda: app.incidents.amend_facts(incident.id, data, alice),
        "triage": lambda: app.incidents.triage_incident(incident.id, data, alice),
        "reopen": lambda: app.incidents.reopen_incident(incident.id, data, alice),
        "close": lambda: app.incidents.close_incident(incident.id, data, alice),
    }
    with pytest.raises(error) as refused:
        commands[command]()
    assert refused.value.field == field
    assert count_events(settings) == before


def test_unknown_incident_is_not_found(runtime: Runtime, alice: RequestContext) -> None:
    """Commands on an id that was never reported are refused as not found."""
    with pytest.raises(NotFound):
        runtime.app.incidents.add_note(UUID(int=7), {"text": "hello"}, alice)
