"""The severity axis: the ENISA 2013 method, SE = DPC x EI + CB, every term with its source.

Each category is scored with the adjustments chosen for it and the highest counts; the
general adjustments then move the whole context; ease of identification multiplies it; one
circumstance term is added per property lost, plus malicious intent. Data unintelligible to
whoever holds them neutralise the confidentiality term whatever else was lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from events.assessment import (
    CREDENTIAL_CATEGORIES,
    AssessmentFacts,
    BreachType,
    DataCategory,
    Encryption,
    Factor,
    Intent,
)
from services.assessment.rules import SeverityPolicy


@dataclass(frozen=True)
class Severity:
    """The severity working: score, band, each term and the notes weighed after the formula."""

    score: float
    band: str
    factors: tuple[Factor, ...]
    notes: tuple[str, ...]
    unintelligible: bool


def _within(score: int) -> int:
    return max(1, min(4, score))


def unintelligible(facts: AssessmentFacts, policy: SeverityPolicy) -> bool:
    """Whether the data are unintelligible to whoever holds them."""
    if facts.encryption is Encryption.ENCRYPTED_KEY_SAFE:
        return True
    shown = set(policy.unintelligible.categories)
    return all(c.value in shown for c in facts.data_categories)


def _category_score(
    category: DataCategory, facts: AssessmentFacts, policy: SeverityPolicy
) -> tuple[int, str, str]:
    """A category's own score (with its chosen adjustments), its class and its working."""
    if category in CREDENTIAL_CATEGORIES:
        opened = [c for c in facts.credentials_open if c not in CREDENTIAL_CATEGORIES]
        if opened:
            best = max(opened, key=lambda c: policy.dpc[c.value].score)
            entry = policy.dpc[best.value]
            why = f"{category.value} open {', '.join(c.value for c in opened)}"
            level = entry.level
            score = entry.score
        else:
            entry = policy.credentials[category.value]
            score, level, why = entry.score, entry.level, f"{category.value}: {entry.why}"
    else:
        entry = policy.dpc[category.value]
        score, level, why = entry.score, entry.level, f"{category.value}: {entry.why}"
    parts = [f"{why} ({level}, {score})"]
    for choice in facts.dpc_adjustments:
        if choice.category is category:
            score += choice.step
            parts.append(f"{choice.name} {choice.step:+d}: {choice.reason}")
    return _within(score), level, "; ".join(parts)


def _dpc(facts: AssessmentFacts, policy: SeverityPolicy, factors: list[Factor]) -> int:
    scored = [(c, *_category_score(c, facts, policy)) for c in facts.data_categories]
    for category, score, _level, working in scored:
        factors.append(Factor(name=f"DPC {category.value}", value=score, source=working))
    best = max(scored, key=lambda s: s[1])
    base = best[1]
    factors.append(
        Factor(
            name="DPC base",
            value=base,
            source=f"highest category: {best[0].value} ({policy.sources['dpc']})",
        )
    )
    general = policy.adjustments.general
    wanted = {
        "volume": facts.adjustments.volume,
        "sensitive_controller": facts.adjustments.sensitive_controller
        or any(s.value in policy.adjustments.sensitive_sectors for s in facts.sectors),
        "vulnerable_people": facts.vulnerable_people
        or facts.children
        or DataCategory.CHILDREN in facts.data_categories,
        "inaccurate": facts.adjustments.inaccurate,
        "public": facts.adjustments.public,
    }
    total = base
    for name, applies in wanted.items():
        if applies:
            step = general[name]
            total += step.step
            factors.append(Factor(name=f"DPC {name}", value=step.step, source=step.why))
    dpc = _within(total)
    factors.append(Factor(name="DPC", value=dpc, source="base plus adjustments, kept within 1..4"))
    return dpc


def assess_severity(facts: AssessmentFacts, policy: SeverityPolicy) -> Severity:
    """Score the breach by the ENISA method and place it in a band."""
    factors: list[Factor] = []
    notes: list[str] = []
    dpc = _dpc(facts, policy, factors)

    ei = policy.ease_of_identification[facts.identifiability.value]
    factors.append(
        Factor(
            name="EI",
            value=ei,
            source=(
                f"ease of identification: {facts.identifiability.value} ({policy.sources['ei']})"
            ),
        )
    )

    circumstances = policy.circumstances
    kinds = set(facts.breach_types)
    hidden = BreachType.CONFIDENTIALITY in kinds and unintelligible(facts, policy)
    cb = 0.0
    if BreachType.CONFIDENTIALITY in kinds:
        term = circumstances.confidentiality[facts.recipients.value]
        if hidden:
            factors.append(
                Factor(
                    name="CB confidentiality",
                    value=0,
                    source=(
                        f"neutralised: {policy.unintelligible.why} "
                        f"(else {term.value:g}: {term.why})"
                    ),
                )
            )
        else:
            factors.append(Factor(name="CB confidentiality", value=term.value, source=term.why))
            cb += term.value
    if BreachType.INTEGRITY in kinds:
        term = circumstances.integrity[facts.integrity.value]
        factors.append(Factor(name="CB integrity", value=term.value, source=term.why))
        cb += term.value
    if BreachType.AVAILABILITY in kinds:
        term = circumstances.availability[facts.recovery.value]
        source = term.why
        if facts.time_to_restore_hours is not None:
            source = f"{source}; restore took {facts.time_to_restore_hours:g} h"
        factors.append(Factor(name="CB availability", value=term.value, source=source))
        cb += term.value
    if facts.intent is Intent.MALICIOUS:
        malicious = circumstances.malicious
        factors.append(Factor(name="CB malicious", value=malicious.value, source=malicious.why))
        cb += malicious.value
    factors.append(
        Factor(name="CB", value=cb, source=f"sum of the circumstances ({policy.sources['cb']})")
    )

    score = round(dpc * ei + cb, 2)
    band = next(b.band for b in policy.bands if score >= b.at_least)
    order = [b.band for b in reversed(policy.bands)]
    if facts.people.count >= policy.volume_escalation.people_at_least and band != order[-1]:
        band = order[order.index(band) + 1]
        notes.append(policy.volume_escalation.why)
    if hidden:
        notes.append(policy.unintelligible.why)
    return Severity(
        score=score, band=band, factors=tuple(factors), notes=tuple(notes), unintelligible=hidden
    )
