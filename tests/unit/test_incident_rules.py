"""Given/when/then tests of the Incident aggregate's rules, with no I/O at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from events.base import Cause
from events.errors import RuleViolation
from events.incident import (
    AmendableFact,
    Incident,
    IncidentClosed,
    IncidentFactsAmended,
    IncidentNoteAdded,
    IncidentReopened,
    IncidentReported,
    IncidentTriaged,
)
from events.values import (
    BreachDetermination,
    IncidentStatus,
    IncidentType,
    LegalMoments,
    Severity,
    SourceChannel,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def cause(minutes: int = 0, actor: str = "alice") -> Cause:
    return Cause(actor=actor, correlation_id="c-1", at=NOW + timedelta(minutes=minutes))


def reported(**moments: Any) -> Incident:
    given = {"discovered_at": NOW - timedelta(hours=5)} | moments
    return Incident.report(
        cause(),
        incident_id=uuid4(),
        title="Laptop stolen from car",
        description="Unencrypted laptop with HR exports.",
        reporter="bob",
        source=SourceChannel.EMPLOYEE,
        incident_type=IncidentType.LOST_OR_STOLEN_DEVICE,
        moments=LegalMoments(**given),
    )


def pending(incident: Incident) -> list[Any]:
    return list(incident.collect_events())


def test_report_records_one_event_with_actor_correlation_and_recorded_time() -> None:
    """A report yields a single IncidentReported stamped with the cause."""
    incident = reported(occurred_at=NOW - timedelta(days=1))
    [event] = pending(incident)
    assert isinstance(event, IncidentReported)
    assert (event.actor, event.correlation_id, event.timestamp) == ("alice", "c-1", NOW)
    assert incident.state.status is IncidentStatus.OPEN
    assert incident.state.moments.occurred_at == NOW - timedelta(days=1)


@pytest.mark.parametrize(
    ("moments", "field"),
    [
        ({"occurred_at": NOW - timedelta(hours=1)}, "occurred_at"),
        ({"aware_at": NOW - timedelta(hours=6)}, "aware_at"),
        ({"determined_at": NOW - timedelta(hours=6)}, "determined_at"),
        ({"aware_at": NOW + timedelta(hours=1)}, "aware_at"),
    ],
    ids=["occurred-after-discovered", "aware-before-discovered", "determined-early", "future"],
)
def test_report_refuses_moments_out_of_order(moments: dict[str, Any], field: str) -> None:
    """Moments must run occurred <= discovered <= aware, and none may lie in the future."""
    with pytest.raises(RuleViolation) as refused:
        reported(**moments)
    assert refused.value.field == field


def test_report_refuses_an_empty_title() -> None:
    """A blank title is refused and names the field."""
    with pytest.raises(RuleViolation, match="title: must not be empty"):
        Incident.report(
            cause(),
            incident_id=uuid4(),
            title="   ",
            description="",
            reporter="bob",
            source=SourceChannel.EMAIL,
            incident_type=IncidentType.OTHER,
            moments=LegalMoments(discovered_at=NOW),
        )


def test_amending_the_awareness_time_records_only_what_changed() -> None:
    """A correction lists exactly the facts whose values differ, with the reason."""
    incident = reported(aware_at=NOW - timedelta(hours=4))
    pending(incident)
    new_aware = NOW - timedelta(hours=3)
    incident.amend_facts(
        cause(1),
        reason="SOC ticket shows later escalation",
        changes={AmendableFact.AWARE_AT: new_aware, AmendableFact.TITLE: "Laptop stolen from car"},
    )
    [event] = pending(incident)
    assert isinstance(event, IncidentFactsAmended)
    assert event.amended == (AmendableFact.AWARE_AT,)
    assert incident.state.moments.aware_at == new_aware


def test_a_correction_must_change_something() -> None:
    """Re-stating the current values is refused."""
    incident = reported()
    with pytest.raises(RuleViolation, match="changes nothing"):
        incident.amend_facts(
            cause(1), reason="typo", changes={AmendableFact.TITLE: "Laptop stolen from car"}
        )


def test_a_correction_cannot_break_the_order_of_moments() -> None:
    """Moving discovery after awareness is refused, naming the moment that breaks."""
    incident = reported(aware_at=NOW - timedelta(hours=4))
    with pytest.raises(RuleViolation) as refused:
        incident.amend_facts(
            cause(1),
            reason="re-read logs",
            changes={AmendableFact.DISCOVERED_AT: NOW - timedelta(hours=2)},
        )
    assert refused.value.field == "aware_at"


def test_discovery_time_cannot_be_cleared_but_other_moments_can() -> None:
    """discovered_at is required; an occurrence time can turn out to be unknown."""
    incident = reported(occurred_at=NOW - timedelta(days=1))
    with pytest.raises(RuleViolation, match="discovered_at"):
        incident.amend_facts(cause(1), reason="x", changes={AmendableFact.DISCOVERED_AT: None})
    incident.amend_facts(cause(1), reason="unknown", changes={AmendableFact.OCCURRED_AT: None})
    assert incident.state.moments.occurred_at is None


def test_a_correction_needs_a_reason() -> None:
    """An amendment without a reason is refused."""
    incident = reported()
    with pytest.raises(RuleViolation, match="reason: must not be empty"):
        incident.amend_facts(cause(1), reason=" ", changes={AmendableFact.TITLE: "Other"})


def test_triage_sets_severity_determination_and_type() -> None:
    """Triage records the three values and the state reflects them."""
    incident = reported()
    incident.triage(
        cause(2),
        severity=Severity.HIGH,
        personal_data_breach=BreachDetermination.YES,
        incident_type=IncidentType.LOST_OR_STOLEN_DEVICE,
    )
    assert isinstance(pending(incident)[-1], IncidentTriaged)
    assert incident.state.severity is Severity.HIGH
    assert incident.state.personal_data_breach is BreachDetermination.YES


def test_triage_that_changes_nothing_is_refused() -> None:
    """Repeating the current triage adds no event."""
    incident = reported()
    args = {
        "severity": Severity.LOW,
        "personal_data_breach": BreachDetermination.NO,
        "incident_type": IncidentType.LOST_OR_STOLEN_DEVICE,
    }
    incident.triage(cause(1), **args)
    with pytest.raises(RuleViolation, match="changes nothing"):
        incident.triage(cause(2), **args)


def test_a_closed_incident_cannot_be_triaged_or_amended_until_reopened() -> None:
    """Closing blocks triage and amendment; reopening allows them again."""
    incident = reported()
    incident.close(cause(1), resolution="Device recovered, disk encrypted after all")
    with pytest.raises(RuleViolation, match="closed"):
        incident.triage(
            cause(2),
            severity=Severity.LOW,
            personal_data_breach=BreachDetermination.NO,
            incident_type=IncidentType.OTHER,
        )
    with pytest.raises(RuleViolation, match="closed"):
        incident.amend_facts(cause(2), reason="x", changes={AmendableFact.TITLE: "New"})
    incident.reopen(cause(3), reason="Disk was not encrypted")
    incident.triage(
        cause(4),
        severity=Severity.HIGH,
        personal_data_breach=BreachDetermination.YES,
        incident_type=IncidentType.LOST_OR_STOLEN_DEVICE,
    )
    kinds = [type(e) for e in pending(incident)]
    assert kinds == [IncidentReported, IncidentClosed, IncidentReopened, IncidentTriaged]


def test_closing_twice_and_reopening_an_open_incident_are_refused() -> None:
    """Close and reopen only make sense from the opposite status."""
    incident = reported()
    with pytest.raises(RuleViolation, match="open"):
        incident.reopen(cause(1), reason="x")
    incident.close(cause(1), resolution="done")
    with pytest.raises(RuleViolation, match="already closed"):
        incident.close(cause(2), resolution="again")


def test_notes_are_allowed_on_closed_incidents() -> None:
    """Post-incident notes are part of the record."""
    incident = reported()
    incident.close(cause(1), resolution="done")
    incident.add_note(cause(2, actor="carol"), text="Lessons learned meeting held")
    note = pending(incident)[-1]
    assert isinstance(note, IncidentNoteAdded)
    assert (note.actor, note.text) == ("carol", "Lessons learned meeting held")
    assert incident.state.notes == 1


def test_a_refused_command_leaves_no_pending_event() -> None:
    """After a refusal the aggregate holds exactly the events it held before."""
    incident = reported()
    before = incident.version
    with pytest.raises(RuleViolation):
        incident.reopen(cause(1), reason="x")
    assert incident.version == before
    assert len(pending(incident)) == 1


def test_events_refuse_to_read_the_clock() -> None:
    """An event built without a timestamp fails instead of reading the clock."""
    incident = reported()
    with pytest.raises(TypeError, match="Cause"):
        incident.trigger_event(IncidentNoteAdded, text="x", actor="a", correlation_id="c")
