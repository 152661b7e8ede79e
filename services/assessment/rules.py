"""The rule data: regimes, the severity policy and jurisdiction groups, loaded and checked.

The YAML files under ``rules/`` are the source; this module turns them into typed objects
and refuses a malformed file with the path of the bad entry, so a broken rule set never
reaches an assessment.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from events.assessment import Audience
from services.assessment.conditions import check_condition

Condition = dict[str, Any]
M = TypeVar("M", bound=BaseModel)
CLOCKS = (
    "aware",
    "discovered",
    "determined",
    "assessed",
    "occurred_or_discovered",
    "closed",
    "discovery_year_end",
)


class RulesError(ValueError):
    """A rule file is malformed; the message names the file and the entry."""


class Strict(BaseModel):
    """Base for rule models: frozen, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Deadline(Strict):
    """A period: hours, or calendar or business days (business days need a holiday set)."""

    hours: int | None = Field(default=None, ge=0)
    days: int | None = Field(default=None, ge=1)
    day_type: Literal["calendar", "business"] = "calendar"
    holidays: str | None = None
    zone: str = "UTC"

    @model_validator(mode="after")
    def _one_unit(self) -> Deadline:
        if (self.hours is None) == (self.days is None):
            msg = "give exactly one of hours or days"
            raise ValueError(msg)
        if self.day_type == "business" and self.holidays is None:
            msg = "business days need a holiday calendar (holidays: <country code>)"
            raise ValueError(msg)
        return self


class Backstop(Strict):
    """A second, absolute limit from another clock; the earlier deadline wins."""

    clock: str
    hours: int = Field(ge=0)


class Longer(Strict):
    """A longer period that applies when a condition holds."""

    when: Condition
    days: int = Field(ge=1)
    why: str


class Exemption(Strict):
    """A condition under which the duty does not apply, with the law's wording."""

    condition: Condition
    why: str


class ObligationRule(Strict):
    """One duty a regime can impose."""

    party: str
    audience: Audience
    deadline: Deadline | None = None
    backstop: Backstop | None = None
    longer: Longer | None = None
    clock: str | None = None
    deadline_text: str = ""
    when: Condition
    unless: tuple[Exemption, ...] = ()
    content: tuple[str, ...] = ()
    verified: Literal["yes", "partial", "no"] = "yes"

    @field_validator("clock")
    @classmethod
    def _known_clock(cls, value: str | None) -> str | None:
        if value is not None and value not in CLOCKS and not value.startswith("notified:"):
            msg = f"unknown clock {value!r}; use one of {', '.join(CLOCKS)} or notified:<party>"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _deadline_has_clock(self) -> ObligationRule:
        if self.deadline is not None and self.clock is None:
            msg = "a deadline needs a clock"
            raise ValueError(msg)
        return self


class Regime(Strict):
    """A notification law: where it applies and the obligations it creates."""

    id: str
    name: str
    jurisdictions: tuple[str, ...]
    scope: Literal["residents", "residents_or_establishment", "sector"]
    applies: Condition = Field(default_factory=lambda: {"always": True})
    unless: tuple[Exemption, ...] = ()
    sources: tuple[str, ...]
    obligations: tuple[ObligationRule, ...]

    def obligation_id(self, rule: ObligationRule) -> str:
        """The stable id of an obligation: ``<regime>/<party>``."""
        return f"{self.id}/{rule.party}"


class RuleSet(Strict):
    """Every regime, under one version string recorded with each evaluation."""

    rule_set: str
    content: dict[str, Any] = Field(default_factory=dict)
    shared: dict[str, Any] = Field(default_factory=dict)
    regimes: tuple[Regime, ...]

    @model_validator(mode="after")
    def _conditions_and_references(self) -> RuleSet:
        for regime in self.regimes:
            where = f"regimes[{regime.id}]"
            check_condition(regime.applies, f"{where}.applies")
            for ex in regime.unless:
                check_condition(ex.condition, f"{where}.unless")
            parties = {r.party for r in regime.obligations}
            for rule in regime.obligations:
                at = f"{where}.{rule.party}"
                check_condition(rule.when, f"{at}.when")
                for ex in rule.unless:
                    check_condition(ex.condition, f"{at}.unless")
                if rule.longer is not None:
                    check_condition(rule.longer.when, f"{at}.longer.when")
                if rule.clock and rule.clock.startswith("notified:"):
                    target = rule.clock.split(":", 1)[1]
                    if target not in parties:
                        msg = f"{at}.clock: no party {target!r} in this regime"
                        raise ValueError(msg)
        return self


class Score(Strict):
    """A score with its reason."""

    score: int = Field(ge=1, le=4)
    why: str


class Step(Strict):
    """An adjustment step with its reason."""

    step: int
    why: str


class Term(Strict):
    """A circumstance value with its reason."""

    value: float
    why: str


class Band(Strict):
    """The lower bound of a severity band."""

    at_least: float
    band: str


class Recommendation(Strict):
    """What a band recommends."""

    authority: bool
    people: bool
    text: str


class RiskOverride(Strict):
    """A risk level imposed after the formula, with its reason."""

    risk: str
    why: str


class Escalation(Strict):
    """Raise the band one step from this many people."""

    people_at_least: int
    why: str


class SeverityPolicy(Strict):
    """How the ENISA method is applied here, and what each band recommends."""

    version: str
    method: str
    dpc: dict[str, Score]
    credentials: dict[str, Score]
    adjustments: dict[str, Step]
    ease_of_identification: dict[str, float]
    circumstances: dict[str, Any]
    bands: tuple[Band, ...]
    risk: dict[str, str]
    unintelligible: RiskOverride
    volume_escalation: Escalation
    recommendations: dict[str, Recommendation]

    def term(self, kind: str, key: str) -> Term:
        """A circumstance term (confidentiality, integrity, availability) by key."""
        return Term.model_validate(self.circumstances[kind][key])


class JurisdictionGroups(Strict):
    """Named groups of jurisdictions (EU, EEA...)."""

    groups: dict[str, tuple[str, ...]]


def _load(name: str) -> Any:
    path = resources.files("services.assessment") / "rules" / name
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        msg = f"rules/{name} is not valid YAML: {e}"
        raise RulesError(msg) from None


def _parse(model: type[M], name: str, data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        msg = f"rules/{name}: {loc}: {first['msg']}"
        raise RulesError(msg) from None
    except ValueError as e:
        msg = f"rules/{name}: {e}"
        raise RulesError(msg) from None


def parse_rule_set(data: Any, name: str = "regimes.yaml") -> RuleSet:
    """Check and type a rule set read from YAML."""
    return _parse(RuleSet, name, data)


@cache
def rule_set() -> RuleSet:
    """The regimes shipped with this version (loaded once per process)."""
    return parse_rule_set(_load("regimes.yaml"))


@cache
def severity_policy() -> SeverityPolicy:
    """The severity policy shipped with this version."""
    return _parse(SeverityPolicy, "severity.yaml", _load("severity.yaml"))


@cache
def jurisdiction_groups() -> JurisdictionGroups:
    """The jurisdiction groups shipped with this version."""
    return _parse(JurisdictionGroups, "jurisdictions.yaml", _load("jurisdictions.yaml"))
