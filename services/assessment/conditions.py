"""The small condition language of the rules, and its evaluation with an explanation.

A condition is a mapping with one key: a predicate (``people_at_least: 500``) or a
combinator (``all: [...]``, ``any: [...]``, ``not: {...}``). Evaluating one returns whether
it holds and a sentence saying why, which becomes the obligation's stated condition.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from events.assessment import (
    AssessmentFacts,
    BreachType,
    DataCategory,
    Encryption,
    Intent,
    Recipients,
    Role,
    Sector,
)

RISK_LEVELS = ("unlikely", "risk", "high_risk")


@dataclass(frozen=True)
class Situation:
    """What conditions are evaluated against: the facts, the risk, and the people in scope."""

    facts: AssessmentFacts
    risk: str
    people_here: int = 0
    people_by_jurisdiction: Mapping[str, int] = field(default_factory=dict)


Outcome = tuple[bool, str]


def _n(value: int) -> str:
    return f"{value:,}"


def _people(s: Situation) -> int:
    return s.facts.people.count


def _compare(
    label: str, get: Callable[[Situation], int], op: str
) -> Callable[[Any, Situation], Outcome]:
    def check(limit: Any, s: Situation) -> Outcome:
        value = get(s)
        ok = {"at_least": value >= limit, "more_than": value > limit, "less_than": value < limit}[
            op
        ]
        words = {"at_least": (">=", "<"), "more_than": (">", "<="), "less_than": ("<", ">=")}[op]
        return ok, f"{label} {_n(value)} {words[0] if ok else words[1]} {_n(limit)}"

    return check


def _one_jurisdiction(limit: Any, s: Situation) -> Outcome:
    if not s.people_by_jurisdiction:
        return False, "no people in these jurisdictions"
    code, value = max(s.people_by_jurisdiction.items(), key=lambda kv: kv[1])
    ok = value > limit
    return ok, f"{_n(value)} people in {code} {'>' if ok else '<='} {_n(limit)}"


def _risk(level: Any, s: Situation) -> Outcome:
    ok = RISK_LEVELS.index(s.risk) >= RISK_LEVELS.index(level)
    return ok, f"risk {s.risk} {'>=' if ok else '<'} {level}"


def _any_of(
    label: str, get: Callable[[Situation], set[str]]
) -> Callable[[Any, Situation], Outcome]:
    def check(values: Any, s: Situation) -> Outcome:
        hit = sorted(get(s) & set(values))
        return bool(hit), (
            f"{label}: {', '.join(hit)}" if hit else f"no {label} of {', '.join(values)}"
        )

    return check


def _equals(label: str, get: Callable[[Situation], Any]) -> Callable[[Any, Situation], Outcome]:
    def check(value: Any, s: Situation) -> Outcome:
        actual = get(s)
        actual_text = actual.value if hasattr(actual, "value") else actual
        ok = actual_text == value
        return ok, f"{label} is {actual_text}" if ok else f"{label} is {actual_text}, not {value}"

    return check


def _flag(label: str, get: Callable[[Situation], bool]) -> Callable[[Any, Situation], Outcome]:
    def check(value: Any, s: Situation) -> Outcome:
        actual = get(s)
        return actual == value, label if actual else f"not {label}"

    return check


PREDICATES: dict[str, tuple[Callable[[Any, Situation], Outcome], Callable[[Any], bool]]] = {
    "always": (lambda v, s: (bool(v), "always"), lambda v: v is True),
    "risk_at_least": (_risk, lambda v: v in RISK_LEVELS),
    "role": (_equals("role", lambda s: s.facts.role), lambda v: v in set(Role)),
    "encryption": (
        _equals("encryption", lambda s: s.facts.encryption),
        lambda v: v in set(Encryption),
    ),
    "intent": (_equals("intent", lambda s: s.facts.intent), lambda v: v in set(Intent)),
    "sector_any": (
        _any_of("sector", lambda s: {x.value for x in s.facts.sectors}),
        lambda v: isinstance(v, list) and set(v) <= set(Sector),
    ),
    "category_any": (
        _any_of("data", lambda s: {x.value for x in s.facts.data_categories}),
        lambda v: isinstance(v, list) and set(v) <= set(DataCategory),
    ),
    "recipients_any": (
        _any_of("recipients", lambda s: {s.facts.recipients.value}),
        lambda v: isinstance(v, list) and set(v) <= set(Recipients),
    ),
    "breach_type_any": (
        _any_of("breach", lambda s: {x.value for x in s.facts.breach_types}),
        lambda v: isinstance(v, list) and set(v) <= set(BreachType),
    ),
    "people_at_least": (_compare("people", _people, "at_least"), lambda v: isinstance(v, int)),
    "people_more_than": (_compare("people", _people, "more_than"), lambda v: isinstance(v, int)),
    "people_less_than": (_compare("people", _people, "less_than"), lambda v: isinstance(v, int)),
    "people_here_at_least": (
        _compare("people here", lambda s: s.people_here, "at_least"),
        lambda v: isinstance(v, int),
    ),
    "people_here_more_than": (
        _compare("people here", lambda s: s.people_here, "more_than"),
        lambda v: isinstance(v, int),
    ),
    "people_here_less_than": (
        _compare("people here", lambda s: s.people_here, "less_than"),
        lambda v: isinstance(v, int),
    ),
    "people_in_one_jurisdiction_more_than": (_one_jurisdiction, lambda v: isinstance(v, int)),
    "direct_loss_cny_at_least": (
        _compare("direct loss CNY", lambda s: s.facts.direct_loss_cny, "at_least"),
        lambda v: isinstance(v, int),
    ),
    "children": (
        _flag("children affected", lambda s: s.facts.children),
        lambda v: isinstance(v, bool),
    ),
    "vulnerable_people": (
        _flag("vulnerable people affected", lambda s: s.facts.vulnerable_people),
        lambda v: isinstance(v, bool),
    ),
    "major_incident": (
        _flag("classified a significant/major incident", lambda s: s.facts.major_incident),
        lambda v: isinstance(v, bool),
    ),
    "remedial_measures_effective": (
        _flag("remedial measures effective", lambda s: s.facts.remedial_measures_effective),
        lambda v: isinstance(v, bool),
    ),
    "hipaa_low_probability": (
        _flag("documented low probability of compromise", lambda s: s.facts.hipaa_low_probability),
        lambda v: isinstance(v, bool),
    ),
}


def check_condition(condition: Any, where: str) -> None:
    """Raise ValueError naming ``where`` if ``condition`` is not well-formed."""
    if not isinstance(condition, Mapping) or len(condition) != 1:
        msg = f"{where}: a condition is a mapping with exactly one key, got {condition!r}"
        raise ValueError(msg)
    [(key, value)] = condition.items()
    if key in ("all", "any"):
        if not isinstance(value, list) or not value:
            msg = f"{where}.{key}: must be a non-empty list of conditions"
            raise ValueError(msg)
        for i, part in enumerate(value):
            check_condition(part, f"{where}.{key}[{i}]")
    elif key == "not":
        check_condition(value, f"{where}.not")
    elif key in PREDICATES:
        if not PREDICATES[key][1](value):
            msg = f"{where}.{key}: invalid value {value!r}"
            raise ValueError(msg)
    else:
        msg = f"{where}: unknown condition {key!r}"
        raise ValueError(msg)


def evaluate(condition: Mapping[str, Any], s: Situation) -> Outcome:
    """Whether ``condition`` holds in situation ``s``, and why in words."""
    [(key, value)] = condition.items()
    if key == "all":
        outcomes = [evaluate(part, s) for part in value]
        failed = [why for ok, why in outcomes if not ok]
        if failed:
            return False, failed[0]
        return True, "; ".join(why for _, why in outcomes if why != "always")
    if key == "any":
        outcomes = [evaluate(part, s) for part in value]
        held = [why for ok, why in outcomes if ok]
        if held:
            return True, held[0]
        return False, " and ".join(why for _, why in outcomes)
    if key == "not":
        ok, why = evaluate(value, s)
        return not ok, f"not ({why})" if ok else why
    return PREDICATES[key][0](value, s)
