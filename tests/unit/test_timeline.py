"""The timeline says in words what each event changed, with old and new values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from events.base import Cause
from events.containment import ContainmentTask, DueAnchor, DueClock, Priority
from events.incident import AmendableFact, Incident
from events.values import (
    BreachDetermination,
    IncidentType,
    LegalMoments,
    Severity,
    SourceChannel,
)
from services.timeline import timeline
from tests.support.assessment import evaluate, facts, risk

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_timeline_names_actor_time_and_old_and_new_values() -> None:
    """Every event appears with its recorded time and actor, corrections show old -> new."""
    incident = Incident.report(
        Cause(actor="soc", correlation_id="c1", at=NOW),
        incident_id=uuid4(),
        title="Ransomware on file server",
        description="",
        reporter="edr",
        source=SourceChannel.MONITORING,
        incident_type=IncidentType.RANSOMWARE,
        moments=LegalMoments(discovered_at=NOW - timedelta(hours=3)),
    )
    incident.amend_facts(
        Cause(actor="lead", correlation_id="c2", at=NOW + timedelta(hours=1)),
        reason="ticket timestamps",
        changes={AmendableFact.AWARE_AT: NOW - timedelta(hours=2)},
    )
    incident.triage(
        Cause(actor="dpo", correlation_id="c3", at=NOW + timedelta(hours=2)),
        severity=Severity.VERY_HIGH,
        personal_data_breach=BreachDetermination.UNDETERMINED,
        incident_type=IncidentType.RANSOMWARE,
    )
    incident.add_note(Cause(actor="lead", correlation_id="c4", at=NOW), text="Backups intact")
    entries = timeline(list(incident.collect_events()), UTC)
    assert [(e.version, e.actor) for e in entries] == [
        (1, "soc"),
        (2, "lead"),
        (3, "dpo"),
        (4, "lead"),
    ]
    assert entries[0].summary.startswith('reported "Ransomware on file server" (ransomware)')
    assert "discovered 2026-11-27 09:00 UTC" in entries[0].summary
    assert entries[1].summary == (
        "corrected aware_at unknown -> 2026-11-27 10:00 UTC (reason: ticket timestamps)"
    )
    assert "severity none -> very_high" in entries[2].summary
    assert "personal data breach undetermined" in entries[2].summary
    assert entries[3].summary == "note: Backups intact"
    assert entries[1].recorded_at == NOW + timedelta(hours=1)


def test_a_task_due_move_is_told_in_words_after_the_correction_that_caused_it() -> None:
    """A due-time move placed after the correction names the task, the old and new due, the
    corrected fact and the clock, under the incident's version, and is not replayed onto the
    incident."""
    at = Cause(actor="soc", correlation_id="c1", at=NOW)
    incident = Incident.report(
        at,
        incident_id=uuid4(),
        title="Ransomware on file server",
        description="",
        reporter="edr",
        source=SourceChannel.MONITORING,
        incident_type=IncidentType.RANSOMWARE,
        moments=LegalMoments(discovered_at=NOW - timedelta(hours=3)),
    )
    task = ContainmentTask.open(
        at,
        task_id=uuid4(),
        incident_id=incident.id,
        incident_reported_at=NOW,
        title="Restore systems",
        owner=None,
        priority=Priority.HIGH,
        due_at=NOW + timedelta(hours=69),
        mandatory=True,
        due_anchor=DueAnchor(clock=DueClock.AWARE, hours=72),
    )
    fix = Cause(actor="lead", correlation_id="c2", at=NOW + timedelta(hours=1))
    incident.amend_facts(
        fix, reason="ticket timestamps", changes={AmendableFact.AWARE_AT: NOW - timedelta(hours=2)}
    )
    moments = incident.state.moments
    assert task.follow_moments(fix, moments=moments, corrected={"aware_at"})
    events = [*incident.collect_events(), task.collect_events()[-1]]
    entries = timeline(events, UTC)
    assert [(e.version, e.event, e.task_id) for e in entries] == [
        (1, "IncidentReported", None),
        (2, "IncidentFactsAmended", None),
        (2, "TaskDueMoved", task.id),
    ]
    assert entries[2].summary == (
        f"task {str(task.id)[:8]} due 2026-11-30 09:00 UTC -> 2026-11-30 10:00 UTC: "
        "aware_at corrected (counts from aware, now 2026-11-27 10:00 UTC)"
    )


def test_evaluation_entries_carry_the_recommendation_when_it_changes() -> None:
    """The first evaluation says what must be done (from the duties due, naming the customer
    of a processor); a re-evaluation repeats it only when it changed, and the assessment entry
    states the risk rather than the band's advice."""
    incident = Incident.report(
        Cause(actor="soc", correlation_id="c1", at=NOW),
        incident_id=uuid4(),
        title="Shared drive exposed",
        description="",
        reporter="edr",
        source=SourceChannel.MONITORING,
        incident_type=IncidentType.UNAUTHORISED_ACCESS,
        moments=LegalMoments(discovered_at=NOW - timedelta(hours=3)),
    )
    f = facts(role="processor", customer="Acme GmbH", establishments=["DE"])
    cause = Cause(actor="dpo", correlation_id="c2", at=NOW)
    incident.assess(cause, facts=f, severity=risk("high_risk"))
    first = evaluate(f, discovered=NOW - timedelta(hours=3))
    incident.record_evaluation(cause, evaluation=first, reason="impact assessed")
    later = evaluate(f, discovered=NOW - timedelta(hours=3), aware=NOW - timedelta(hours=2))
    incident.record_evaluation(
        Cause(actor="lead", correlation_id="c3", at=NOW), evaluation=later, reason="amended"
    )
    entries = timeline(list(incident.collect_events()), UTC)
    assert "notify the supervisory authority" not in entries[1].summary
    assert "; risk: high_risk" in entries[1].summary
    assert entries[2].summary.endswith(
        "; recommendation: Tell the controller, Acme GmbH, without undue delay"
    )
    assert "recommendation" not in entries[3].summary
