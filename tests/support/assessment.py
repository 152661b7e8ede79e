"""Building assessment facts and evaluations for tests of the obligations engine."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from events.assessment import AssessmentFacts, Evaluation, Obligation, SeverityAssessment
from events.values import LegalMoments
from services.assessment.engine import IncidentClocks, evaluate_obligations
from services.assessment.rules import rule_set

BASE_FACTS: dict[str, Any] = {
    "data_categories": ["contact", "identity"],
    "people": {"count": 100, "confirmed": True},
    "people_by_jurisdiction": {"DE": 100},
    "breach_types": ["confidentiality"],
    "recipients": "unknown_or_public",
    "intent": "malicious",
}


def facts(**overrides: Any) -> AssessmentFacts:
    """Valid facts: 100 people in Germany, contact and identity data, exfiltrated."""
    data = {**BASE_FACTS, **overrides}
    if "people_by_jurisdiction" in overrides and "people" not in overrides:
        data["people"] = {"count": sum(overrides["people_by_jurisdiction"].values())}
    return AssessmentFacts.model_validate(data)


def risk(level: str) -> SeverityAssessment:
    """A severity that stands for the given risk level (the rules only read the risk)."""
    return SeverityAssessment(
        method="test",
        policy_version="test",
        score=0,
        band={"unlikely": "low", "risk": "medium"}.get(level, "high"),
        risk=level,
        factors=(),
        recommend_authority=True,
        recommend_people=True,
        recommendation="",
    )


def evaluate(
    f: AssessmentFacts,
    *,
    level: str = "high_risk",
    discovered: datetime,
    aware: datetime | None = None,
    determined: datetime | None = None,
    assessed: datetime | None = None,
    closed: datetime | None = None,
    notified: Mapping[str, datetime] | None = None,
    assumed: Mapping[str, str] | None = None,
) -> Evaluation:
    """Evaluate with the shipped rule set (``assumed``: clocks taken as the evaluation's
    moment, with the reason)."""
    clocks = IncidentClocks(
        moments=LegalMoments(discovered_at=discovered, aware_at=aware, determined_at=determined),
        assessed_at=assessed or discovered,
        closed_at=closed,
        notified=notified or {},
        assumed=assumed or {},
    )
    return evaluate_obligations(f, risk(level), clocks, rule_set())


def one(evaluation: Evaluation, obligation_id: str) -> Obligation:
    """The obligation with this id (fails the test if absent)."""
    found = evaluation.find(obligation_id)
    assert found is not None, (
        f"{obligation_id} not evaluated: {[o.id for o in evaluation.obligations]}"
    )
    return found
