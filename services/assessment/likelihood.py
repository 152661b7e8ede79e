"""The likelihood axis: how likely the consequences of a breach are to happen.

Each property lost starts at a baseline read from its fact (who received the data, what
became of altered data, whether lost data came back), then the named factors of the policy
move it: steps first, in the policy's order, then the factors that set a level. The
likelihood of the breach is the highest of its properties'. Every factor that applied, and
every one that was considered and left the level as it was, is recorded with its source.
"""

from __future__ import annotations

from datetime import datetime

from events.assessment import (
    AssessmentFacts,
    BreachType,
    Intent,
    Likelihood,
    LikelihoodFactor,
)
from services.assessment.rules import LikelihoodRule, SeverityPolicy


def exposure_days(
    facts: AssessmentFacts, occurred_at: datetime | None, discovered_at: datetime | None
) -> float | None:
    """Days the data were exposed before detection: the fact, else occurrence to discovery."""
    if facts.exposure_days is not None:
        return float(facts.exposure_days)
    if occurred_at is None or discovered_at is None:
        return None
    return max(0.0, (discovered_at - occurred_at).total_seconds() / 86400)


def _applies(
    name: str,
    rule: LikelihoodRule,
    facts: AssessmentFacts,
    *,
    hidden: bool,
    days: float | None,
) -> str | None:
    """Why a factor applies to these facts, or None when it does not."""
    if name == "unintelligible":
        return "" if hidden else None
    if name == "recovered_before_access":
        return "" if facts.recovered_before_access else None
    if name == "deletion_confirmed":
        if not facts.deletion_confirmed:
            return None
        return "" if facts.recipients.value in rule.recipients else None
    if name == "malicious":
        return "" if facts.intent is Intent.MALICIOUS else None
    if name == "long_exposure":
        if days is None or rule.days_at_least is None or days < rule.days_at_least:
            return None
        return f"{days:.0f} days"
    if name == "long_restore":
        hours = facts.time_to_restore_hours
        if hours is None or rule.hours_over is None or hours <= rule.hours_over:
            return None
        return f"{hours:g} h"
    if name == "misuse_evidence":
        return "" if facts.misuse_evidence else None
    return None


def assess_likelihood(
    facts: AssessmentFacts,
    policy: SeverityPolicy,
    *,
    hidden: bool,
    occurred_at: datetime | None = None,
    discovered_at: datetime | None = None,
) -> Likelihood:
    """The likelihood of the consequences, with each property's level and the working."""
    scale = policy.likelihood
    top = len(scale.levels) - 1
    lost = [t.value for t in BreachType if t in set(facts.breach_types)]
    fact_of = {
        BreachType.CONFIDENTIALITY.value: facts.recipients.value,
        BreachType.INTEGRITY.value: facts.integrity.value,
        BreachType.AVAILABILITY.value: facts.recovery.value,
    }
    working: list[LikelihoodFactor] = []
    levels: dict[str, int] = {}
    for prop in lost:
        start = scale.baseline[prop][fact_of[prop]]
        levels[prop] = scale.index(start.level)
        working.append(
            LikelihoodFactor(
                name="baseline",
                property=prop,
                effect=f"starts at {start.level}",
                level=start.level,
                source=f"{fact_of[prop]}: {start.why}",
            )
        )
    days = exposure_days(facts, occurred_at, discovered_at)
    ordered = sorted(scale.factors.items(), key=lambda item: item[1].set is not None)
    for name, rule in ordered:
        targets = lost if rule.property == "all" else [p for p in lost if p == rule.property]
        detail = _applies(name, rule, facts, hidden=hidden, days=days)
        if detail is None:
            if name == "deletion_confirmed" and facts.deletion_confirmed and targets:
                working.append(
                    LikelihoodFactor(
                        name=name,
                        property=targets[0],
                        effect="no effect",
                        level=scale.levels[levels[targets[0]]],
                        source=f"recipients {facts.recipients.value}: deletion cannot be "
                        "confirmed by everyone who may hold the data",
                    )
                )
            continue
        why = f"{rule.why} ({detail})" if detail else rule.why
        for prop in targets:
            before = levels[prop]
            if rule.set is not None:
                after = scale.index(rule.set)
                effect = f"set to {rule.set}"
            else:
                after = max(0, min(top, before + (rule.step or 0)))
                effect = f"{rule.step:+d} step" if rule.step in (1, -1) else f"{rule.step:+d} steps"
            if after == before:
                effect = f"keeps {scale.levels[before]} ({effect})"
            levels[prop] = after
            working.append(
                LikelihoodFactor(
                    name=name,
                    property=prop,
                    effect=effect,
                    level=scale.levels[after],
                    source=why,
                )
            )
    overall = max(levels.values(), default=0)
    return Likelihood(
        level=scale.levels[overall],
        properties={prop: scale.levels[i] for prop, i in levels.items()},
        factors=tuple(working),
    )
