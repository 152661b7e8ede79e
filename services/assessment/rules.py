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

from events.assessment import Audience, DataCategory
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


LEVELS = ("simple", "behavioural", "financial", "sensitive")
VERDICTS = ("unlikely", "risk", "high_risk")
PROPERTIES = ("confidentiality", "integrity", "availability")


class CategoryScore(Strict):
    """A data category's basic DPC score, the ENISA class it belongs to, and why."""

    level: Literal["simple", "behavioural", "financial", "sensitive"]
    score: int = Field(ge=1, le=4)
    why: str


class Step(Strict):
    """A general adjustment of the DPC with its reason."""

    step: int = Field(ge=-3, le=3)
    why: str


class CategoryAdjustment(Strict):
    """A named adjustment an assessor may choose for one category, within these steps."""

    levels: tuple[Literal["simple", "behavioural", "financial", "sensitive"], ...] = Field(
        min_length=1
    )
    steps: tuple[int, ...] = Field(min_length=1)
    why: str


class Adjustments(Strict):
    """General adjustments (from facts) and the named category adjustments."""

    general: dict[str, Step]
    sensitive_sectors: tuple[str, ...] = ()
    category: dict[str, CategoryAdjustment]

    @model_validator(mode="after")
    def _general_known(self) -> Adjustments:
        wanted = {"volume", "sensitive_controller", "vulnerable_people", "inaccurate", "public"}
        missing = wanted - set(self.general)
        if missing:
            msg = f"general: missing {', '.join(sorted(missing))}"
            raise ValueError(msg)
        return self


class Term(Strict):
    """A circumstance value with its reason."""

    value: float = Field(ge=0, le=1)
    why: str


class Circumstances(Strict):
    """The CB terms: one table per property lost, and malicious intent."""

    confidentiality: dict[str, Term]
    integrity: dict[str, Term]
    availability: dict[str, Term]
    malicious: Term


class Unintelligible(Strict):
    """What makes data unintelligible to whoever holds them."""

    categories: tuple[str, ...] = ()
    why: str


class Band(Strict):
    """The lower bound of a severity band."""

    at_least: float
    band: str


class Escalation(Strict):
    """Raise the band one step from this many people."""

    people_at_least: int
    why: str


class Baseline(Strict):
    """A property's starting likelihood for one value of its fact."""

    level: str
    why: str


class LikelihoodRule(Strict):
    """A named factor that sets or steps one property's likelihood (or all of them)."""

    property: Literal["confidentiality", "integrity", "availability", "all"]
    set: str | None = None
    step: int | None = Field(default=None, ge=-3, le=3)
    recipients: tuple[str, ...] = ()
    days_at_least: int | None = Field(default=None, ge=1)
    hours_over: float | None = Field(default=None, ge=0)
    why: str

    @model_validator(mode="after")
    def _one_effect(self) -> LikelihoodRule:
        if (self.set is None) == (self.step is None):
            msg = "give exactly one of set or step"
            raise ValueError(msg)
        return self


class LikelihoodPolicy(Strict):
    """The likelihood scale, each property's baseline, and the named factors."""

    levels: tuple[str, ...] = Field(min_length=2)
    baseline: dict[str, dict[str, Baseline]]
    factors: dict[str, LikelihoodRule]

    @model_validator(mode="after")
    def _levels_known(self) -> LikelihoodPolicy:
        for prop, table in self.baseline.items():
            if prop not in PROPERTIES:
                msg = f"baseline.{prop}: not a security property"
                raise ValueError(msg)
            for key, entry in table.items():
                if entry.level not in self.levels:
                    msg = f"baseline.{prop}.{key}: unknown level {entry.level!r}"
                    raise ValueError(msg)
        wanted = {
            "unintelligible",
            "recovered_before_access",
            "deletion_confirmed",
            "malicious",
            "long_exposure",
            "long_restore",
            "misuse_evidence",
        }
        missing = wanted - set(self.factors)
        if missing:
            msg = f"factors: missing {', '.join(sorted(missing))}"
            raise ValueError(msg)
        for name, rule in self.factors.items():
            if rule.set is not None and rule.set not in self.levels:
                msg = f"factors.{name}.set: unknown level {rule.set!r}"
                raise ValueError(msg)
        return self

    def index(self, level: str) -> int:
        """The position of a level on the scale (0 lowest)."""
        return self.levels.index(level)


class Verdict(Strict):
    """What a verdict recommends."""

    authority: bool
    people: bool
    text: str


class SeverityPolicy(Strict):
    """How severity and likelihood are judged here, and what each verdict recommends."""

    version: str
    method: str
    sources: dict[str, str]
    dpc: dict[str, CategoryScore]
    credentials: dict[str, CategoryScore]
    adjustments: Adjustments
    ease_of_identification: dict[str, float]
    circumstances: Circumstances
    unintelligible: Unintelligible
    bands: tuple[Band, ...] = Field(min_length=1)
    volume_escalation: Escalation
    likelihood: LikelihoodPolicy
    matrix: dict[str, tuple[str, ...]]
    verdicts: dict[str, Verdict]

    @model_validator(mode="after")
    def _complete(self) -> SeverityPolicy:
        for key in ("dpc", "ei", "cb", "likelihood", "matrix"):
            if key not in self.sources:
                msg = f"sources: missing {key}"
                raise ValueError(msg)
        bands = {b.band for b in self.bands}
        if set(self.matrix) != bands:
            msg = "matrix: give one row per band"
            raise ValueError(msg)
        for band, row in self.matrix.items():
            if len(row) != len(self.likelihood.levels):
                msg = f"matrix.{band}: give one verdict per likelihood level"
                raise ValueError(msg)
            for verdict in row:
                if verdict not in VERDICTS:
                    msg = f"matrix.{band}: unknown verdict {verdict!r}"
                    raise ValueError(msg)
        scored = set(self.dpc) | set(self.credentials)
        missing = sorted(c.value for c in DataCategory if c.value not in scored)
        if missing:
            msg = f"dpc: no score for {', '.join(missing)}"
            raise ValueError(msg)
        if set(self.verdicts) != set(VERDICTS):
            msg = f"verdicts: give exactly {', '.join(VERDICTS)}"
            raise ValueError(msg)
        return self

    def category(self, name: str) -> CategoryScore:
        """A category's basic score (credentials included)."""
        return self.credentials[name] if name in self.credentials else self.dpc[name]

    def verdict(self, band: str, likelihood: str) -> str:
        """The matrix cell for a severity band and a likelihood level."""
        return self.matrix[band][self.likelihood.index(likelihood)]


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


def parse_severity_policy(data: Any, name: str = "severity.yaml") -> SeverityPolicy:
    """Check and type a risk policy read from YAML."""
    return _parse(SeverityPolicy, name, data)


@cache
def severity_policy() -> SeverityPolicy:
    """The risk policy shipped with this version."""
    return parse_severity_policy(_load("severity.yaml"))


@cache
def jurisdiction_groups() -> JurisdictionGroups:
    """The jurisdiction groups shipped with this version."""
    return _parse(JurisdictionGroups, "jurisdictions.yaml", _load("jurisdictions.yaml"))
