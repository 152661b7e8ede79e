"""The ENISA 2013 severity method, SE = DPC x EI + CB, showing every term's value and source."""

from __future__ import annotations

from events.assessment import (
    CREDENTIAL_CATEGORIES,
    AssessmentFacts,
    BreachType,
    DataCategory,
    Encryption,
    Factor,
    Intent,
    SeverityAssessment,
)
from services.assessment.rules import SeverityPolicy, Term

CREDENTIALS = CREDENTIAL_CATEGORIES


def _dpc_base(facts: AssessmentFacts, policy: SeverityPolicy) -> tuple[int, str]:
    best: tuple[int, str] = (0, "")
    for category in facts.data_categories:
        if category in CREDENTIALS:
            opened = [c for c in facts.credentials_open if c not in CREDENTIALS]
            if opened:
                score = max(policy.dpc[c.value].score for c in opened)
                why = f"{category.value}: open {', '.join(c.value for c in opened)}"
            else:
                entry = policy.credentials[category.value]
                score, why = entry.score, f"{category.value}: {entry.why}"
        else:
            entry = policy.dpc[category.value]
            score, why = entry.score, f"{category.value}: {entry.why}"
        if score > best[0]:
            best = (score, why)
    return best


def assess_severity(facts: AssessmentFacts, policy: SeverityPolicy) -> SeverityAssessment:
    """Score the breach and map the band to a risk level and recommendations."""
    factors: list[Factor] = []
    notes: list[str] = []

    base, base_why = _dpc_base(facts, policy)
    factors.append(Factor(name="DPC base", value=base, source=f"highest category: {base_why}"))
    steps: list[tuple[str, int, str]] = []
    wanted = {
        "volume": facts.adjustments.volume,
        "sensitive_controller": facts.adjustments.sensitive_controller,
        "vulnerable_people": facts.vulnerable_people
        or facts.children
        or DataCategory.CHILDREN in facts.data_categories,
        "inaccurate": facts.adjustments.inaccurate,
        "public": facts.adjustments.public,
    }
    for name, applies in wanted.items():
        if applies:
            step = policy.adjustments[name]
            steps.append((name, step.step, step.why))
            factors.append(Factor(name=f"DPC {name}", value=step.step, source=step.why))
    dpc = max(1, min(4, base + sum(s for _, s, _ in steps)))
    factors.append(Factor(name="DPC", value=dpc, source="base plus adjustments, kept within 1..4"))

    ei = policy.ease_of_identification[facts.identifiability.value]
    factors.append(
        Factor(name="EI", value=ei, source=f"ease of identification: {facts.identifiability.value}")
    )

    cb = 0.0
    kinds = set(facts.breach_types)
    if BreachType.CONFIDENTIALITY in kinds:
        term = policy.term("confidentiality", facts.recipients.value)
        factors.append(Factor(name="CB confidentiality", value=term.value, source=term.why))
        cb += term.value
    if BreachType.INTEGRITY in kinds:
        term = policy.term("integrity", facts.recovery.value)
        factors.append(Factor(name="CB integrity", value=term.value, source=term.why))
        cb += term.value
    if BreachType.AVAILABILITY in kinds:
        term = policy.term("availability", facts.recovery.value)
        factors.append(Factor(name="CB availability", value=term.value, source=term.why))
        cb += term.value
    if facts.intent is Intent.MALICIOUS:
        malicious = Term.model_validate(policy.circumstances["malicious"])
        factors.append(Factor(name="CB malicious", value=malicious.value, source=malicious.why))
        cb += malicious.value
    factors.append(Factor(name="CB", value=cb, source="sum of the circumstances"))

    score = round(dpc * ei + cb, 2)
    band = next(b.band for b in policy.bands if score >= b.at_least)
    order = [b.band for b in reversed(policy.bands)]
    if facts.people.count >= policy.volume_escalation.people_at_least and band != order[-1]:
        band = order[order.index(band) + 1]
        notes.append(policy.volume_escalation.why)
    risk = policy.risk[band]
    recommendation = policy.recommendations[band]
    authority, people, text = recommendation.authority, recommendation.people, recommendation.text
    if facts.encryption is Encryption.ENCRYPTED_KEY_SAFE and kinds == {BreachType.CONFIDENTIALITY}:
        risk = policy.unintelligible.risk
        notes.append(policy.unintelligible.why)
        low = policy.recommendations[order[0]]
        authority, people, text = low.authority, low.people, low.text
    return SeverityAssessment(
        method=policy.method,
        policy_version=policy.version,
        score=score,
        band=band,
        risk=risk,
        factors=tuple(factors),
        notes=tuple(notes),
        recommend_authority=authority,
        recommend_people=people,
        recommendation=text,
    )
