"""The obligations engine: regimes evaluated per jurisdiction and role into dated duties.

Pure: given the facts, the severity, the incident's moments and decisions, and a rule set,
it returns the same :class:`~events.assessment.Evaluation` every time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from events.assessment import AssessmentFacts, Evaluation, Obligation, SeverityAssessment
from events.values import LegalMoments
from services.assessment.authorities import ONE_STOP_SHOP, one_stop_shop
from services.assessment.conditions import Situation, evaluate
from services.assessment.deadlines import add_period
from services.assessment.jurisdictions import covers
from services.assessment.rules import Exemption, ObligationRule, Regime, RuleSet


@dataclass(frozen=True)
class IncidentClocks:
    """The moments deadlines can count from.

    ``assumed`` names the clocks (``discovered``, ``assessed``) whose moment was not given
    but taken as the moment of the evaluation (a what-if), with the reason; a deadline
    counted from one of them is provisional.
    """

    moments: LegalMoments
    assessed_at: datetime
    closed_at: datetime | None = None
    notified: Mapping[str, datetime] = field(default_factory=dict)
    assumed: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ClockReading:
    """Where a clock stands: its start, or why it has not started."""

    start: datetime | None
    provisional: str | None = None
    pending: str | None = None


def _reading(
    clocks: IncidentClocks, source: str, start: datetime, fallback: str | None = None
) -> ClockReading:
    """A reading from the moment ``source``, provisional when it fell back to an earlier
    moment or when that moment was assumed."""
    reasons = [r for r in (fallback, clocks.assumed.get(source)) if r is not None]
    return ClockReading(start, "; ".join(reasons) or None)


def read_clock(
    clock: str, clocks: IncidentClocks, regime: Regime, facts: AssessmentFacts
) -> ClockReading:
    """The start of ``clock`` for this incident, falling back to an earlier moment if unknown."""
    m = clocks.moments
    if clock == "discovered":
        return _reading(clocks, "discovered", m.discovered_at)
    if clock == "aware":
        if m.aware_at is not None:
            return ClockReading(m.aware_at)
        return _reading(
            clocks,
            "discovered",
            m.discovered_at,
            "aware_at not recorded; counted from discovered_at",
        )
    if clock == "determined":
        if m.determined_at is not None:
            return ClockReading(m.determined_at)
        if m.aware_at is not None:
            return ClockReading(m.aware_at, "determined_at not recorded; counted from aware_at")
        return _reading(
            clocks,
            "discovered",
            m.discovered_at,
            "determined_at not recorded; counted from discovered_at",
        )
    if clock == "assessed":
        if facts.assessed_notifiable_at is not None:
            return ClockReading(facts.assessed_notifiable_at)
        return _reading(clocks, "assessed", clocks.assessed_at)
    if clock == "occurred_or_discovered":
        if m.occurred_at is not None:
            return ClockReading(m.occurred_at)
        return _reading(clocks, "discovered", m.discovered_at)
    if clock == "closed":
        if clocks.closed_at is None:
            return ClockReading(None, pending="counts from the end of incident handling")
        return ClockReading(clocks.closed_at)
    if clock == "discovery_year_end":
        year = m.discovered_at.astimezone(UTC).year
        end = datetime(year, 12, 31, 23, 59, 59, tzinfo=UTC)
        return _reading(clocks, "discovered", end)
    party = clock.split(":", 1)[1]
    notified = clocks.notified.get(f"{regime.id}/{party}")
    if notified is None:
        return ClockReading(None, pending=f"counts from notifying {party}")
    return ClockReading(notified)


def _exemption(exemptions: tuple[Exemption, ...], s: Situation) -> str | None:
    for ex in exemptions:
        if evaluate(ex.condition, s)[0]:
            return ex.why
    return None


def _obligation(
    regime: Regime,
    rule: ObligationRule,
    s: Situation,
    applies_why: str,
    clocks: IncidentClocks,
    in_scope: Mapping[str, int],
) -> Obligation:
    triggered, why = evaluate(rule.when, s)
    condition = why if applies_why == "always" else f"{applies_why}; {why}"
    exemption = _exemption(regime.unless, s) or _exemption(rule.unless, s)
    reading = ClockReading(None)
    deadline: datetime | None = None
    text = rule.deadline_text
    if rule.clock is not None:
        reading = read_clock(rule.clock, clocks, regime, s.facts)
    if triggered and rule.deadline is not None and reading.start is not None:
        days = None
        if rule.longer is not None and evaluate(rule.longer.when, s)[0]:
            days = rule.longer.days
            text = f"{text} ({rule.longer.why})"
        deadline = add_period(reading.start, rule.deadline, days=days)
        if rule.backstop is not None:
            backstop = read_clock(rule.backstop.clock, clocks, regime, s.facts)
            if backstop.start is not None:
                limit = add_period(
                    backstop.start, rule.deadline.model_copy(update={"hours": rule.backstop.hours})
                )
                deadline = min(deadline, limit)
                if backstop.provisional is not None:
                    # The earlier of two deadlines depends on both clocks.
                    reasons = dict.fromkeys(
                        r for r in (reading.provisional, backstop.provisional) if r is not None
                    )
                    reading = ClockReading(reading.start, "; ".join(reasons), reading.pending)
    return Obligation(
        id=regime.obligation_id(rule),
        regime=regime.id,
        regime_name=regime.name,
        party=rule.party,
        audience=rule.audience,
        jurisdictions=tuple(sorted(in_scope)),
        people=s.people_here,
        triggered=triggered,
        condition=condition,
        exemption=exemption,
        clock=rule.clock,
        clock_start=reading.start,
        deadline=deadline,
        deadline_text=text,
        provisional=reading.provisional if deadline is not None else None,
        pending=reading.pending if triggered and rule.deadline is not None else None,
        content=rule.content,
        verified=rule.verified,
    )


def evaluate_obligations(
    facts: AssessmentFacts,
    severity: SeverityAssessment,
    clocks: IncidentClocks,
    rules: RuleSet,
) -> Evaluation:
    """Every obligation of every regime that reaches this breach, triggered or not."""
    obligations: list[Obligation] = []
    notes: list[str] = []
    for regime in rules.regimes:
        in_scope = {
            code: n
            for code, n in facts.people_by_jurisdiction.items()
            if n > 0 and covers(regime.jurisdictions, code)
        }
        people_here = sum(in_scope.values())
        established = any(covers(regime.jurisdictions, e) for e in facts.establishments)
        if regime.scope == "residents" and not people_here:
            continue
        if regime.scope == "residents_or_establishment" and not (people_here or established):
            continue
        s = Situation(facts, severity.risk, people_here, in_scope)
        applies, applies_why = evaluate(regime.applies, s)
        if not applies:
            if regime.scope != "sector":
                notes.append(f"{regime.name}: does not apply ({applies_why})")
            continue
        for rule in regime.obligations:
            obligation = _obligation(regime, rule, s, applies_why, clocks, in_scope)
            if obligation.id in ONE_STOP_SHOP:
                authorities = one_stop_shop(
                    regime.jurisdictions, facts.establishments, facts.people_by_jurisdiction
                )
                obligation = obligation.model_copy(update={"authorities": authorities})
            obligations.append(obligation)
    return Evaluation(rule_set=rules.rule_set, obligations=tuple(obligations), notes=tuple(notes))
