"""The one severity an incident shows: the rule, the band scale, and the incident's state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from events.assessment import SeverityAssessment
from events.base import Cause
from events.errors import RuleViolation
from events.incident import Incident, IncidentState
from events.values import (
    BreachDetermination,
    IncidentType,
    LegalMoments,
    Severity,
    SeveritySource,
    SourceChannel,
    severity_of_band,
    shown_severity,
)
from services.assessment.rules import severity_policy
from services.incidents.presentation import incident_document, severity_label
from tests.support.assessment import facts

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LOW, MEDIUM, HIGH, VERY_HIGH = Severity
ASSESSMENT, TRIAGE = SeveritySource.ASSESSMENT, SeveritySource.TRIAGE


@pytest.mark.parametrize(
    ("initial", "assessed", "shown", "source"),
    [
        (None, None, None, None),
        (LOW, None, LOW, TRIAGE),
        (VERY_HIGH, None, VERY_HIGH, TRIAGE),
        (None, HIGH, HIGH, ASSESSMENT),
        (LOW, HIGH, HIGH, ASSESSMENT),
        (VERY_HIGH, LOW, LOW, ASSESSMENT),
        (MEDIUM, MEDIUM, MEDIUM, ASSESSMENT),
    ],
)
def test_the_assessed_band_wins_over_the_triage_estimate(
    initial: Severity | None,
    assessed: Severity | None,
    shown: Severity | None,
    source: SeveritySource | None,
) -> None:
    """The severity shown is the assessed one when there is one, else the triage estimate,
    else nothing, and the source names which."""
    assert shown_severity(initial, assessed) == (shown, source)


@pytest.mark.parametrize(
    ("band", "severity"),
    [
        ("low", LOW),
        ("medium", MEDIUM),
        ("high", HIGH),
        ("very_high", VERY_HIGH),
        ("Very High", VERY_HIGH),
        (" very-high ", VERY_HIGH),
        ("critical", None),
        ("", None),
    ],
)
def test_enisa_bands_map_onto_the_triage_scale(band: str, severity: Severity | None) -> None:
    """Each ENISA band is the triage severity of the same step; anything else is off it."""
    assert severity_of_band(band) == severity


def test_every_band_of_the_shipped_policy_is_on_the_scale() -> None:
    """The severity policy names no band that the triage scale lacks, so every assessment
    yields a severity to show."""
    bands = {b.band for b in severity_policy().bands}
    assert {severity_of_band(b) for b in bands} == set(Severity)


def cause(minutes: int) -> Cause:
    return Cause(actor="a", correlation_id="c", at=NOW + timedelta(minutes=minutes))


def severity(band: str) -> SeverityAssessment:
    return SeverityAssessment(
        method="test",
        policy_version="test",
        score=1,
        band=band,
        risk="high_risk",
        factors=(),
        recommend_authority=True,
        recommend_people=True,
        recommendation="",
    )


def reported() -> Incident:
    return Incident.report(
        cause(0),
        incident_id=uuid4(),
        title="Stolen laptop",
        description="",
        reporter="hr",
        source=SourceChannel.EMPLOYEE,
        incident_type=IncidentType.LOST_OR_STOLEN_DEVICE,
        moments=LegalMoments(discovered_at=NOW - timedelta(hours=2)),
    )


def triage(incident: Incident, minutes: int, estimate: Severity) -> None:
    incident.triage(
        cause(minutes),
        severity=estimate,
        personal_data_breach=BreachDetermination.YES,
        incident_type=IncidentType.LOST_OR_STOLEN_DEVICE,
    )


def shown(incident: Incident) -> tuple[Any, Any, Any]:
    doc = incident_document(incident)
    return doc["severity"], doc["severity_source"], doc["initial_severity"]


def test_the_incident_shows_triage_then_assessment_and_keeps_the_estimate() -> None:
    """Before assessment the triage estimate is shown with source triage; an assessment
    replaces it (the estimate stays as the initial severity); a later triage changes only
    the estimate, and a re-assessment moves the severity to its band."""
    incident = reported()
    assert shown(incident) == (None, None, None)
    triage(incident, 1, MEDIUM)
    assert shown(incident) == ("medium", "triage", "medium")
    incident.assess(cause(2), facts=facts(), severity=severity("high"))
    assert shown(incident) == ("high", "assessment", "medium")
    triage(incident, 3, LOW)
    assert shown(incident) == ("high", "assessment", "low")
    incident.assess(cause(4), facts=facts(), severity=severity("very_high"))
    assert shown(incident) == ("very_high", "assessment", "low")
    assert severity_label(incident_document(incident)) == (
        "very_high (assessed; initial estimate low)"
    )


def test_an_assessment_whose_band_is_off_the_scale_is_refused() -> None:
    """An assessment must yield a severity to show; a band the scale lacks is refused and
    nothing is recorded."""
    incident = reported()
    with pytest.raises(RuleViolation) as refused:
        incident.assess(cause(1), facts=facts(), severity=severity("catastrophic"))
    assert refused.value.field == "severity"
    assert "catastrophic" not in str(refused.value)
    assert incident.state.assessment is None
    assert len(incident.collect_events()) == 1


def test_a_state_saved_before_the_rename_reads_its_severity_as_the_estimate() -> None:
    """A snapshot that stored the triage estimate as ``severity`` loads it as the initial
    severity; a new snapshot round-trips all three."""
    incident = reported()
    triage(incident, 1, HIGH)
    saved = incident.state.model_dump(mode="json")
    old = {k: v for k, v in saved.items() if k not in ("initial_severity", "severity_source")}
    loaded = IncidentState.model_validate(old)
    assert (loaded.initial_severity, loaded.severity, loaded.severity_source) == (
        HIGH,
        HIGH,
        TRIAGE,
    )
    assert IncidentState.model_validate(saved) == incident.state


def test_labels_say_where_the_severity_comes_from() -> None:
    """The words for people name the severity and its source, or say it is not triaged."""
    assert severity_label({"severity": None}) == "not triaged"
    triaged = {"severity": "medium", "severity_source": "triage", "initial_severity": "medium"}
    assert severity_label(triaged) == "medium (triage estimate)"
    assert severity_label(triaged, short=True) == "medium (triage)"
    assessed = {"severity": HIGH, "severity_source": ASSESSMENT, "initial_severity": None}
    assert severity_label(assessed) == "high (assessed; initial estimate none)"
    assert severity_label(assessed, short=True) == "high (assessed)"
