"""The risk judgement: severity and likelihood combined by the policy's matrix.

The verdict (unlikely to result in a risk, a risk, a high risk) is what the regimes read;
the reasons say, in words a DPO can paste into the register, which facts moved each axis.
"""

from __future__ import annotations

from datetime import datetime

from events.assessment import AssessmentFacts, Likelihood, SeverityAssessment
from services.assessment.likelihood import assess_likelihood
from services.assessment.rules import SeverityPolicy
from services.assessment.severity import Severity, assess_severity

VERDICT_WORDS = {
    "unlikely": "unlikely to result in a risk",
    "risk": "likely to result in a risk",
    "high_risk": "likely to result in a high risk",
}


def _words(value: str) -> str:
    return value.replace("_", " ")


def _severity_reason(severity: Severity, policy: SeverityPolicy) -> str:
    terms = {f.name: f for f in severity.factors}
    base = terms["DPC base"].source.split(" (", 1)[0]
    general = {f"DPC {name}" for name in policy.adjustments.general}
    moved = [f"{f.name[4:]} {f.value:+g}" for f in severity.factors if f.name in general]
    adjust = f", adjusted {', '.join(moved)}" if moved else ""
    kept = [
        f"{f.name[3:]} {f.value:g}"
        for f in severity.factors
        if f.name.startswith("CB ") and f.value
    ]
    circumstances = ", ".join(kept) if kept else "none"
    return (
        f"Severity {_words(severity.band)} (SE {severity.score:g}): DPC {terms['DPC'].value:g} "
        f"({base}{adjust}) x EI {terms['EI'].value:g} + CB {terms['CB'].value:g} "
        f"({circumstances})."
    )


def _likelihood_reason(likelihood: Likelihood) -> str:
    moved = [
        f"{f.source} ({f.property}: {f.effect})" for f in likelihood.factors if f.name != "baseline"
    ]
    starts = [
        f"{f.property} {f.level}: {f.source}" for f in likelihood.factors if f.name == "baseline"
    ]
    text = f"Likelihood {likelihood.level}: " + "; ".join(starts)
    if moved:
        text += "; then " + "; ".join(moved)
    return text + "."


def assess_risk(
    facts: AssessmentFacts,
    policy: SeverityPolicy,
    *,
    occurred_at: datetime | None = None,
    discovered_at: datetime | None = None,
) -> SeverityAssessment:
    """Judge the risk of a breach: both axes, the matrix cell, the verdict and its reasons."""
    severity = assess_severity(facts, policy)
    likelihood = assess_likelihood(
        facts,
        policy,
        hidden=severity.unintelligible,
        occurred_at=occurred_at,
        discovered_at=discovered_at,
    )
    verdict = policy.verdict(severity.band, likelihood.level)
    recommendation = policy.verdicts[verdict]
    matrix = (
        f"severity {_words(severity.band)} x likelihood {likelihood.level} -> "
        f"{VERDICT_WORDS[verdict]}"
    )
    reasons = (
        _severity_reason(severity, policy),
        *severity.notes,
        _likelihood_reason(likelihood),
        f"Matrix: {matrix} ({policy.sources['matrix']}); so {recommendation.text}.",
    )
    return SeverityAssessment(
        method=policy.method,
        policy_version=policy.version,
        score=severity.score,
        band=severity.band,
        risk=verdict,
        factors=severity.factors,
        notes=severity.notes,
        recommend_authority=recommendation.authority,
        recommend_people=recommendation.people,
        recommendation=recommendation.text,
        likelihood=likelihood,
        matrix=matrix,
        reasons=reasons,
    )
