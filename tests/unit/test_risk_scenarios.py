"""Worked cases, as a DPO would describe them, after the regulators' published guidance.

Each case is written from the situations in EDPB Guidelines 01/2021 (examples regarding
personal data breach notification) and WP250 rev.01, in our own words and numbers. Each
asserts whether the supervisory authority and the people must be told under GDPR, and the
reason the judgement shows for it. The whole evaluation is run, so the GDPR duties that
come out are the ones a DPO would see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from events.assessment import AssessmentFacts, Audience, SeverityAssessment
from events.values import LegalMoments
from services.assessment.engine import IncidentClocks, evaluate_obligations
from services.assessment.headline import headline
from services.assessment.risk import assess_risk
from services.assessment.rules import rule_set, severity_policy

FOUND = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    """A breach as a DPO tells it, and what a supervisor would conclude."""

    story: str
    facts: dict[str, Any]
    authority: bool
    people: bool
    reason: str
    occurred: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.story


def given(**facts: Any) -> dict[str, Any]:
    """Facts for 500 people in Germany, where we are established, unless said otherwise."""
    base: dict[str, Any] = {
        "people": {"count": 500, "confirmed": True},
        "people_by_jurisdiction": {"DE": 500},
        "establishments": ["DE"],
    }
    return {**base, **facts}


CASES = [
    Case(
        "ransomware encrypted the HR file server; restored from an offline backup in four "
        "hours; logs show no exfiltration",
        given(
            data_categories=["employment_hr", "contact"],
            breach_types=["availability"],
            recipients="none_known",
            intent="malicious",
            recovery="without_difficulty",
            time_to_restore_hours=4,
        ),
        authority=False,
        people=False,
        reason="restored without difficulty",
    ),
    Case(
        "ransomware encrypted the customer database; no usable backup, the data are lost; "
        "no exfiltration",
        given(
            data_categories=["contact", "identity"],
            breach_types=["availability"],
            recipients="none_known",
            intent="malicious",
            recovery="unrecoverable",
        ),
        authority=True,
        people=False,
        reason="availability significant: unrecoverable",
    ),
    Case(
        "ransomware with exfiltration: customer accounts and bank details copied out, then "
        "encrypted; restored from backup",
        given(
            data_categories=["contact", "financial"],
            breach_types=["confidentiality", "availability"],
            recipients="unknown_or_public",
            intent="malicious",
            recovery="without_difficulty",
        ),
        authority=True,
        people=True,
        reason="a malicious actor took the data",
    ),
    Case(
        "ransomware in a hospital: patient records restored from backup, but clinics worked "
        "without them for three days",
        given(
            data_categories=["health", "identity"],
            breach_types=["availability"],
            recipients="none_known",
            intent="malicious",
            recovery="temporary_loss",
            time_to_restore_hours=72,
            sectors=["medical_organisation"],
        ),
        authority=True,
        people=True,
        reason="unavailable for more than a day (72 h)",
    ),
    Case(
        "a day-care centre's laptop stolen from a car; full-disk encryption, the key was not "
        "with it; a backup holds everything",
        given(
            data_categories=["identity", "contact", "children"],
            breach_types=["confidentiality", "availability"],
            recipients="unknown_or_public",
            intent="malicious",
            encryption="encrypted_key_safe",
            recovery="without_difficulty",
        ),
        authority=False,
        people=False,
        reason="the data are unintelligible to whoever holds them",
    ),
    Case(
        "the same laptop, unencrypted: children's names, addresses and dates of birth",
        given(
            data_categories=["identity", "contact", "children"],
            breach_types=["confidentiality", "availability"],
            recipients="unknown_or_public",
            intent="malicious",
            recovery="without_difficulty",
        ),
        authority=True,
        people=True,
        reason="unknown recipients or public exposure",
    ),
    Case(
        "an insurance quote with income details emailed to the wrong broker, a long-standing "
        "partner under contract, who deleted it and confirmed in writing",
        given(
            data_categories=["financial", "contact"],
            breach_types=["confidentiality"],
            recipients="known_trusted",
            intent="accidental",
            deletion_confirmed=True,
            people={"count": 1, "confirmed": True},
            people_by_jurisdiction={"DE": 1},
        ),
        authority=False,
        people=False,
        reason="the known recipients confirmed deletion",
    ),
    Case(
        "a jobseekers' list with health conditions emailed in clear to 120 other jobseekers",
        given(
            data_categories=["health", "contact"],
            breach_types=["confidentiality"],
            recipients="known",
            intent="accidental",
            people={"count": 40, "confirmed": True},
            people_by_jurisdiction={"DE": 40},
        ),
        authority=True,
        people=True,
        reason="recipients known but not bound to protect the data",
    ),
    Case(
        "credential stuffing on the online bank: 2,000 accounts opened with passwords "
        "reused from elsewhere; balances and transactions seen",
        given(
            data_categories=["financial", "contact"],
            breach_types=["confidentiality"],
            recipients="unknown_or_public",
            intent="malicious",
            people={"count": 2000, "confirmed": True},
            people_by_jurisdiction={"DE": 2000},
        ),
        authority=True,
        people=True,
        reason="a malicious actor took the data",
    ),
    Case(
        "a sales manager who left copied the customer list and purchase history to use at a "
        "competitor",
        given(
            data_categories=["contact", "behavioural"],
            breach_types=["confidentiality"],
            recipients="known",
            intent="malicious",
        ),
        authority=True,
        people=False,
        reason="severity medium",
    ),
    Case(
        "the website's user table copied: user names and passwords hashed with a salted, "
        "slow algorithm; no other data",
        given(
            data_categories=["credentials_strongly_hashed"],
            breach_types=["confidentiality"],
            recipients="unknown_or_public",
            intent="malicious",
        ),
        authority=False,
        people=False,
        reason="data unintelligible to the recipients",
    ),
    Case(
        "a rehabilitation clinic's paper intake files, with diagnoses, stolen in a burglary",
        given(
            data_categories=["health", "identity"],
            breach_types=["confidentiality", "availability"],
            recipients="unknown_or_public",
            intent="malicious",
            recovery="unrecoverable",
            people={"count": 60, "confirmed": True},
            people_by_jurisdiction={"DE": 60},
        ),
        authority=True,
        people=True,
        reason="severity very high",
    ),
    Case(
        "our staff's temperature and symptom records for epidemic prevention emailed to 15 "
        "colleagues, who all confirmed deletion the same day",
        given(
            data_categories=["health", "employment_hr"],
            breach_types=["confidentiality"],
            recipients="known_trusted",
            intent="accidental",
            deletion_confirmed=True,
            people={"count": 80, "confirmed": True},
            people_by_jurisdiction={"DE": 80},
        ),
        authority=False,
        people=False,
        reason="likelihood negligible",
    ),
    Case(
        "the same records emailed to the 15 colleagues, deletion not yet confirmed",
        given(
            data_categories=["health", "employment_hr"],
            breach_types=["confidentiality"],
            recipients="known_trusted",
            intent="accidental",
            people={"count": 80, "confirmed": True},
            people_by_jurisdiction={"DE": 80},
        ),
        authority=True,
        people=False,
        reason="recipients known, trusted and bound by confidentiality",
    ),
    Case(
        "a courier lost a parcel of CVs and found it sealed the next morning",
        given(
            data_categories=["resume_cv", "contact"],
            breach_types=["confidentiality"],
            recipients="none_known",
            intent="accidental",
            recovered_before_access=True,
            adjustments={"volume": True},
        ),
        authority=False,
        people=False,
        reason="recovered before anyone could read them",
    ),
    Case(
        "a misconfigured storage bucket exposed candidates' CVs for five months before a "
        "researcher reported it",
        given(
            data_categories=["resume_cv", "contact"],
            breach_types=["confidentiality"],
            recipients="unknown_or_public",
            intent="accidental",
            adjustments={"volume": True},
            dpc_adjustments=[
                {
                    "name": "simple_profiling",
                    "category": "resume_cv",
                    "step": 1,
                    "reason": "full work histories allow a profile of each candidate",
                }
            ],
        ),
        occurred=datetime(2025, 10, 1, tzinfo=UTC),
        authority=True,
        people=True,
        reason="exposed for a long time before detection",
    ),
]


def evaluate(case: Case) -> tuple[SeverityAssessment, set[Audience], str]:
    """The judgement, the audiences of the GDPR duties that are due, and the headline."""
    facts = AssessmentFacts.model_validate(case.facts)
    severity = assess_risk(facts, severity_policy(), occurred_at=case.occurred, discovered_at=FOUND)
    clocks = IncidentClocks(
        moments=LegalMoments(occurred_at=case.occurred, discovered_at=FOUND, aware_at=FOUND),
        assessed_at=FOUND,
    )
    evaluation = evaluate_obligations(facts, severity, clocks, rule_set())
    due = {o.audience for o in evaluation.obligations if o.regime == "eu_gdpr" and o.due}
    return severity, due, headline(facts, severity, evaluation, UTC)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.story[:40])
def test_worked_case(case: Case) -> None:
    """The verdict on telling the authority and the people is a supervisor's, and the reason
    that decided it is shown in the judgement."""
    severity, due, said = evaluate(case)
    told = (Audience.AUTHORITY in due, Audience.DATA_SUBJECTS in due)
    assert told == (case.authority, case.people), "\n".join(severity.reasons)
    assert (severity.recommend_authority, severity.recommend_people) == told
    assert any(case.reason in r for r in severity.reasons), "\n".join(severity.reasons)
    if not case.authority:
        assert said.startswith("Document internally only (GDPR Art 33(5) register)"), said
        assert "risk unlikely" in said
    else:
        assert said.startswith("Notify the supervisory authority (lead: DE"), said
        assert ("the people affected" in said) == case.people, said


def test_a_processors_breach_tells_the_controller_whatever_the_risk() -> None:
    """A processor whose hosting exposed a customer's client list owes no notice to the
    authority or the people itself: its one GDPR duty is to tell the controller."""
    facts = AssessmentFacts.model_validate(
        given(
            data_categories=["contact", "payment_card"],
            breach_types=["confidentiality"],
            recipients="unknown_or_public",
            intent="malicious",
            role="processor",
            customer="Acme Retail GmbH",
        )
    )
    severity = assess_risk(facts, severity_policy(), discovered_at=FOUND)
    clocks = IncidentClocks(
        moments=LegalMoments(discovered_at=FOUND, aware_at=FOUND), assessed_at=FOUND
    )
    evaluation = evaluate_obligations(facts, severity, clocks, rule_set())
    due = {o.audience for o in evaluation.obligations if o.regime == "eu_gdpr" and o.due}
    assert severity.risk == "high_risk"
    assert due - {Audience.INTERNAL} == {Audience.CONTROLLER}
    assert headline(facts, severity, evaluation, UTC).startswith(
        "Tell the controller, Acme Retail GmbH, without undue delay"
    )


def test_there_are_at_least_twelve_cases() -> None:
    """The set keeps at least a dozen cases, each with a story and a reason."""
    assert len(CASES) >= 12
    assert all(c.story and c.reason for c in CASES)
