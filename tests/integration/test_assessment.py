"""Assessment on the real store: the portal-leak scenario, re-evaluation, decisions, views."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from events.incident import (
    ImpactAssessed,
    IncidentFactsAmended,
    ObligationDecided,
    ObligationsEvaluated,
)
from services.application.context import RequestContext
from services.application.errors import InvalidInput, RuleBroken, ServiceError
from services.bootstrap import Runtime
from services.config import Settings
from services.timeline import timeline
from tests.support.clocks import ManualClock
from tests.support.facts import PORTAL_LEAK
from tests.support.store import count_events

DISCOVERED = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
AWARE = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def reported(runtime: Runtime, alice: RequestContext) -> Any:
    return runtime.app.incidents.report_incident(
        {
            "title": "Careers portal CV leak",
            "reporter": "soc",
            "discovered_at": DISCOVERED,
            "aware_at": AWARE,
            "incident_type": "web_application_exfiltration",
        },
        alice,
    )


def due(incident: Any) -> dict[str, datetime | None]:
    return {o.id: o.deadline for o in incident.state.evaluation.obligations if o.due}


def test_portal_leak_produces_the_right_obligations_and_deadlines(
    runtime: Runtime, reported: Any, alice: RequestContext
) -> None:
    """2,300 candidates in the EU, the UK and China, exfiltrated: GDPR, UK GDPR and PIPL."""
    incident = runtime.app.assessment.assess_impact(reported.id, PORTAL_LEAK, alice)
    severity = incident.state.assessment.severity
    assert (severity.band, severity.risk) == ("high", "high_risk")
    assert due(incident) == {
        "eu_gdpr/supervisory_authority": AWARE + timedelta(hours=72),
        "eu_gdpr/data_subjects": None,
        "eu_gdpr/internal_register": None,
        "uk_gdpr/ico": AWARE + timedelta(hours=72),
        "uk_gdpr/data_subjects": None,
        "cn_pipl/pi_protection_authority": None,
        "cn_pipl/data_subjects": None,
    }
    people = {o.id: o.people for o in incident.state.evaluation.obligations}
    assert people["eu_gdpr/supervisory_authority"] == 1300
    assert people["uk_gdpr/ico"] == 600


def test_amending_awareness_moves_the_deadlines_and_the_timeline_shows_both(
    runtime: Runtime, reported: Any, alice: RequestContext
) -> None:
    """The correction and a new evaluation land in one save; the old deadlines stay in history."""
    runtime.app.assessment.assess_impact(reported.id, PORTAL_LEAK, alice)
    later = AWARE + timedelta(hours=3)
    incident = runtime.app.incidents.amend_facts(
        reported.id, {"reason": "escalation ticket", "aware_at": later}, alice
    )
    assert due(incident)["eu_gdpr/supervisory_authority"] == later + timedelta(hours=72)
    history = runtime.app.incidents.incident_history(reported.id)
    kinds = [type(e) for e in history]
    assert kinds[-2:] == [IncidentFactsAmended, ObligationsEvaluated]
    evaluations = [e for e in history if isinstance(e, ObligationsEvaluated)]
    deadlines = [e.evaluation.find("eu_gdpr/supervisory_authority").deadline for e in evaluations]
    assert deadlines == [AWARE + timedelta(hours=72), later + timedelta(hours=72)]
    entries = timeline(history, UTC)
    assert "eu_gdpr/supervisory_authority by 2026-11-29 15:00 UTC" in entries[2].summary
    assert (
        "eu_gdpr/supervisory_authority 2026-11-29 15:00 UTC -> 2026-11-29 18:00 UTC"
        in entries[-1].summary
    )


def test_a_change_that_moves_no_deadline_adds_no_evaluation(
    runtime: Runtime, reported: Any, alice: RequestContext
) -> None:
    """A note changes no obligation, so no new evaluation is recorded."""
    runtime.app.assessment.assess_impact(reported.id, PORTAL_LEAK, alice)
    runtime.app.incidents.add_note(reported.id, {"text": "WAF rule deployed"}, alice)
    history = runtime.app.incidents.incident_history(reported.id)
    assert sum(isinstance(e, ObligationsEvaluated) for e in history) == 1


def test_reassessment_is_a_new_event_and_earlier_ones_stay(
    runtime: Runtime, reported: Any, alice: RequestContext
) -> None:
    """Confirming fewer people re-assesses; both assessments remain in the history."""
    runtime.app.assessment.assess_impact(reported.id, PORTAL_LEAK, alice)
    fewer = {
        **PORTAL_LEAK,
        "people": {"count": 2000, "confirmed": True},
        "people_by_jurisdiction": {"DE": 800, "FR": 300, "GB": 500, "CN": 400},
    }
    incident = runtime.app.assessment.assess_impact(reported.id, fewer, alice)
    assessed = [
        e
        for e in runtime.app.incidents.incident_history(reported.id)
        if isinstance(e, ImpactAssessed)
    ]
    assert [e.facts.people.count for e in assessed] == [2300, 2000]
    assert incident.state.assessments == 2
    with pytest.raises(RuleBroken, match="changes nothing"):
        runtime.app.assessment.assess_impact(reported.id, fewer, alice)


def test_a_decision_pins_the_log_position_and_the_assessment_digest(
    runtime: Runtime, reported: Any, alice: RequestContext, clock: ManualClock
) -> None:
    """'Notified' records when and the reference, the head of the log and the facts' digest."""
    assessed = runtime.app.assessment.assess_impact(reported.id, PORTAL_LEAK, alice)
    head = runtime.feed.head()
    incident = runtime.app.assessment.decide_obligation(
        reported.id,
        {
            "obligation": "eu_gdpr/supervisory",
            "decision": "notified",
            "reason": "filed online",
            "notified_at": AWARE + timedelta(hours=20),
            "reference": "BfDI-2026-0077",
        },
        alice,
    )
    event = runtime.app.incidents.incident_history(reported.id)[-1]
    assert isinstance(event, ObligationDecided)
    assert event.obligation_id == "eu_gdpr/supervisory_authority"
    assert event.log_position == head
    assert event.assessment_digest == assessed.state.assessment.digest
    assert incident.state.decisions[event.obligation_id].reference == "BfDI-2026-0077"


def test_notifying_residents_starts_the_attorney_generals_clock(
    runtime: Runtime, reported: Any, alice: RequestContext
) -> None:
    """A 'notified' decision is a moment other deadlines count from: re-evaluated at once."""
    ca = {
        **PORTAL_LEAK,
        "data_categories": ["identity", "national_id"],
        "people": {"count": 900},
        "people_by_jurisdiction": {"US-CA": 900},
    }
    incident = runtime.app.assessment.assess_impact(reported.id, ca, alice)
    assert incident.state.evaluation.find("us_ca/attorney_general").deadline is None
    told = AWARE + timedelta(days=2)
    incident = runtime.app.assessment.decide_obligation(
        reported.id,
        {
            "obligation": "us_ca/data_subjects",
            "decision": "notified",
            "reason": "letters sent",
            "notified_at": told,
            "reference": "mailing 2026-11-28",
        },
        alice,
    )
    assert incident.state.evaluation.find("us_ca/attorney_general").deadline == told + timedelta(
        days=15
    )


BAD_FACTS: list[tuple[dict[str, Any], str]] = [
    ({"data_categories": ["resume_cv", "dna"]}, "data_categories.1"),
    ({"people_by_jurisdiction": {"DE": 900, "XX": 1}}, "people_by_jurisdiction"),
    ({"people": {"count": -5}}, "people.count"),
    ({"people": {"count": 1000}}, "people_by_jurisdiction"),
    ({"recipients": None}, "recipients"),
    ({"role": "processor"}, "customer"),
    ({"colour": "red"}, "input"),
]


@pytest.mark.parametrize(("change", "field"), BAD_FACTS)
def test_bad_facts_name_the_field_and_record_nothing(
    runtime: Runtime,
    reported: Any,
    alice: RequestContext,
    settings: Settings,
    change: dict[str, Any],
    field: str,
) -> None:
    """Unknown category or jurisdiction, negative or inconsistent counts, missing facts."""
    before = count_events(settings)
    with pytest.raises(InvalidInput) as refused:
        runtime.app.assessment.assess_impact(reported.id, {**PORTAL_LEAK, **change}, alice)
    assert refused.value.field == field
    assert count_events(settings) == before


@pytest.mark.parametrize(
    ("decision", "field"),
    [
        ({"obligation": "nowhere/nobody", "decision": "notify"}, "obligation"),
        ({"obligation": "eu_gdpr/supervisory_authority", "decision": "notified"}, "notified_at"),
        (
            {
                "obligation": "eu_gdpr/supervisory_authority",
                "decision": "notified",
                "notified_at": "2026-11-27T10:00:00Z",
            },
            "reference",
        ),
        (
            {
                "obligation": "eu_gdpr/supervisory_authority",
                "decision": "notified",
                "notified_at": "2030-01-01T00:00:00Z",
                "reference": "r",
            },
            "notified_at",
        ),
        ({"obligation": "eu_gdpr/supervisory_authority", "decision": "maybe"}, "decision"),
    ],
)
def test_bad_decisions_are_refused_and_record_nothing(
    runtime: Runtime,
    reported: Any,
    alice: RequestContext,
    settings: Settings,
    decision: dict[str, Any],
    field: str,
) -> None:
    """Unknown obligations, notified without time or reference, future times, bad kinds."""
    runtime.app.assessment.assess_impact(reported.id, PORTAL_LEAK, alice)
    before = count_events(settings)
    with pytest.raises(ServiceError) as refused:
        runtime.app.assessment.decide_obligation(reported.id, {"reason": "r", **decision}, alice)
    assert refused.value.field == field
    assert count_events(settings) == before


def test_the_obligations_view_lists_open_duties_by_urgency_and_rebuilds_equal(
    runtime: Runtime, reported: Any, alice: RequestContext
) -> None:
    """Overdue first; decided ones leave the open list; a rebuild gives the same rows."""
    runtime.app.assessment.assess_impact(reported.id, PORTAL_LEAK, alice)
    runtime.app.assessment.decide_obligation(
        reported.id,
        {
            "obligation": "eu_gdpr/internal_register",
            "decision": "notified",
            "reason": "register entry 2026-41",
            "notified_at": AWARE,
            "reference": "REG-41",
        },
        alice,
    )
    runtime.views.catch_up()
    now = AWARE + timedelta(hours=73)
    rows = runtime.obligations.by_urgency(now, open_only=True)
    assert [r["obligation_id"] for r in rows][:2] == [
        "eu_gdpr/supervisory_authority",
        "uk_gdpr/ico",
    ]
    assert rows[0]["urgency"] == "overdue"
    assert "eu_gdpr/internal_register" not in {r["obligation_id"] for r in rows}
    live = runtime.obligations.rows()
    runtime.views.rebuild()
    assert runtime.obligations.rows() == live


EARLIER_POLICY = {
    "method": "ENISA 2013: SE = DPC x EI + CB",
    "policy_version": "enisa-2013/policy-2026.11",
    "score": 4.0,
    "band": "very_high",
    "risk": "high_risk",
    "factors": [{"name": "DPC", "value": 4, "source": "sensitive data (health)"}],
    "recommend_authority": True,
    "recommend_people": True,
    "recommendation": "notify the supervisory authority and the people affected, with priority",
}
COLLEAGUES = {
    "data_categories": ["health", "employment_hr"],
    "people": {"count": 80, "confirmed": True},
    "people_by_jurisdiction": {"DE": 80},
    "establishments": ["DE"],
    "breach_types": ["confidentiality"],
    "recipients": "known_trusted",
    "intent": "accidental",
    "deletion_confirmed": True,
}


def test_an_assessment_under_an_earlier_policy_keeps_its_answer(
    runtime: Runtime, reported: Any, alice: RequestContext
) -> None:
    """An assessment recorded under the earlier band-only policy (no likelihood) reloads with
    its own answer, and later changes re-evaluate obligations from that recorded verdict; a
    new assessment of the same facts uses the current policy and its matrix."""
    from events.assessment import AssessmentFacts, SeverityAssessment
    from events.incident import Incident
    from services.assessment.rules import severity_policy

    old = SeverityAssessment.model_validate(EARLIER_POLICY)
    facts = AssessmentFacts.model_validate(COLLEAGUES)
    runtime.app.core.change(
        reported.id,
        Incident,
        alice,
        lambda inc, cause: inc.assess(cause, facts=facts, severity=old),
        logged="test.assessed",
    )
    runtime.app.incidents.amend_facts(
        reported.id, {"aware_at": AWARE - timedelta(hours=1), "reason": "log review"}, alice
    )
    kept = runtime.app.incidents.get_incident(reported.id).state
    assert kept.assessment is not None
    assert kept.assessment.severity == old
    assert kept.assessment.severity.likelihood is None
    assert "eu_gdpr/data_subjects" in due(runtime.app.incidents.get_incident(reported.id))

    anew = runtime.app.assessment.assess_impact(reported.id, COLLEAGUES, alice).state.assessment
    assert anew.severity.policy_version == severity_policy().version
    assert (anew.severity.band, anew.severity.risk) == ("very_high", "unlikely")
    assert anew.severity.likelihood.level == "negligible"
    assert "eu_gdpr/data_subjects" not in due(runtime.app.incidents.get_incident(reported.id))
    history = [
        e.severity.policy_version
        for e in runtime.app.incidents.incident_history(reported.id)
        if isinstance(e, ImpactAssessed)
    ]
    assert history == ["enisa-2013/policy-2026.11", severity_policy().version]


def test_the_risk_judgement_counts_exposure_from_the_incidents_moments(
    runtime: Runtime, alice: RequestContext
) -> None:
    """An incident that occurred 40 days before discovery gets the long-exposure factor from
    its own moments, without an exposure fact."""
    incident = runtime.app.incidents.report_incident(
        {
            "title": "Old share found open",
            "reporter": "soc",
            "occurred_at": DISCOVERED - timedelta(days=40),
            "discovered_at": DISCOVERED,
            "incident_type": "web_application_exfiltration",
        },
        alice,
    )
    facts = {**COLLEAGUES, "recipients": "known", "deletion_confirmed": False}
    severity = runtime.app.assessment.assess_impact(
        incident.id, facts, alice
    ).state.assessment.severity
    assert severity.likelihood is not None
    assert any(
        f.name == "long_exposure" and "40 days" in f.source for f in severity.likelihood.factors
    )
