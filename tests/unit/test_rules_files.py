"""Rule files are checked on load: a malformed rule is refused with the path of the entry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from events.assessment import Sector
from services.assessment.deadlines import add_period
from services.assessment.rules import Deadline, RulesError, parse_rule_set, rule_set

REGIME: dict[str, Any] = {
    "id": "x",
    "name": "X",
    "jurisdictions": ["DE"],
    "scope": "residents",
    "sources": ["s"],
    "obligations": [
        {
            "party": "authority",
            "audience": "authority",
            "deadline": {"hours": 72},
            "clock": "aware",
            "when": {"always": True},
        },
    ],
}


def rules_with(**changes: Any) -> dict[str, Any]:
    regime = {**REGIME, **changes}
    return {"rule_set": "t", "regimes": [regime]}


def test_the_shipped_rule_set_loads() -> None:
    """Every regime of the shipped file passes the checks."""
    assert len(rule_set().regimes) == 21


@pytest.mark.parametrize(
    ("obligation", "message"),
    [
        ({"when": {"sunny": True}}, "unknown condition 'sunny'"),
        ({"when": {"risk_at_least": "extreme"}}, "invalid value 'extreme'"),
        ({"clock": "notified:nobody"}, "no party 'nobody'"),
        ({"clock": "lunchtime"}, "unknown clock"),
        ({"deadline": {"days": 3, "day_type": "business"}}, "holiday calendar"),
        ({"deadline": {"days": 3, "hours": 2}}, "exactly one of hours or days"),
        ({"audience": "everyone"}, "audience"),
    ],
)
def test_malformed_rules_are_refused_with_their_location(
    obligation: dict[str, Any], message: str
) -> None:
    """Each kind of mistake names the regime/obligation and the problem."""
    bad = {**REGIME["obligations"][0], **obligation}
    with pytest.raises(RulesError, match=message):
        parse_rule_set(rules_with(obligations=[bad]))


def test_business_days_skip_weekends_and_holidays_and_end_at_local_midnight() -> None:
    """Friday 2026-12-24 + 3 business days in Brazil: 25th is Christmas, so 28, 29, 30."""
    brt = timezone(timedelta(hours=-3))
    period = Deadline(days=3, day_type="business", holidays="BR", zone="America/Sao_Paulo")
    deadline = add_period(datetime(2026, 12, 24, 16, 0, tzinfo=brt), period)
    assert deadline.date() == date(2026, 12, 30)
    assert deadline.astimezone(brt).hour == 23


def test_calendar_periods_run_from_the_exact_moment() -> None:
    """Hours and calendar days are added to the moment itself."""
    start = datetime(2026, 2, 27, 17, 45, tzinfo=UTC)
    assert add_period(start, Deadline(days=3)) == datetime(2026, 3, 2, 17, 45, tzinfo=UTC)
    assert add_period(start, Deadline(hours=72)) == datetime(2026, 3, 2, 17, 45, tzinfo=UTC)


def _sectors_read(condition: Any) -> set[str]:
    """The sectors a condition (with its combinators) reads."""
    [(key, value)] = condition.items()
    if key in ("all", "any"):
        return set().union(*(_sectors_read(part) for part in value))
    if key == "not":
        return _sectors_read(value)
    return set(value) if key == "sector_any" else set()


def _every_condition() -> list[Any]:
    out: list[Any] = []
    for regime in rule_set().regimes:
        out += [regime.applies, *(ex.condition for ex in regime.unless)]
        for rule in regime.obligations:
            out += [rule.when, *(ex.condition for ex in rule.unless)]
            if rule.longer is not None:
                out.append(rule.longer.when)
    return out


UNREAD_BY_REGIMES = {
    # For the severity method (the controller's nature makes the data telling); no law here
    # names medical organisations.
    Sector.MEDICAL_ORGANISATION: "severity: sensitive controller",
}


@pytest.mark.parametrize("sector", list(UNREAD_BY_REGIMES))
def test_a_sector_no_regime_reads_is_read_by_the_risk_policy(sector: Sector) -> None:
    """A sector left out of the regimes raises the data context as a sensitive controller."""
    from services.assessment.rules import severity_policy

    assert sector.value in severity_policy().adjustments.sensitive_sectors


@pytest.mark.parametrize("sector", [s for s in Sector if s not in UNREAD_BY_REGIMES])
def test_every_sector_is_read_by_some_regime(sector: Sector) -> None:
    """A sector a responder can record brings some regime's rule into play."""
    read = set().union(*(_sectors_read(c) for c in _every_condition()))
    assert sector.value in read
