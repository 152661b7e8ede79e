"""Requests of the assessment capability, validated before they reach the incident."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from events.assessment import (
    CREDENTIAL_CATEGORIES,
    AdjustmentChoice,
    AssessmentFacts,
    Count,
    DecisionKind,
    Role,
)
from services.application.fields import (
    Amount,
    Hours,
    Line,
    Moment,
    OptionalLine,
    OptionalTitle,
    Title,
)
from services.application.fields import Count as Number
from services.assessment.jurisdictions import is_known
from services.assessment.rules import severity_policy

#: The longest exposure a breach can plausibly have had, in days (a century).
MAX_DAYS = 36_500

FACT_TIMES: tuple[str, ...] = ("assessed_notifiable_at",)
"""The time fields of the assessment facts: every edge reads them with
:func:`services.timefmt.read_times`, like the incident's moments."""


def _jurisdiction(field: str, code: Any, position: int) -> str:
    if isinstance(code, bool):
        msg = (
            f"{field}: item {position} is a yes/no value, not a jurisdiction code "
            "(quote codes such as 'NO' in YAML)"
        )
        raise ValueError(msg)
    text = str(code).strip().upper()
    if not is_known(text):
        msg = (
            f"{field}: item {position} is not a known jurisdiction (use ISO 3166, e.g. DE or US-CA)"
        )
        raise ValueError(msg)
    return text


class BoundedCount(Count):
    """A count of people or records, at most :data:`~services.application.fields.MAX_COUNT`."""

    count: Number


class ChosenAdjustment(AdjustmentChoice):
    """A named category adjustment as given: its reason is one line of bounded text."""

    reason: Line


def _check_adjustments(choices: tuple[AdjustmentChoice, ...]) -> None:
    """Each chosen adjustment exists, fits its category's class and uses an allowed step."""
    policy = severity_policy()
    seen: set[tuple[str, str]] = set()
    for position, choice in enumerate(choices, start=1):
        where = f"dpc_adjustments: item {position}"
        rule = policy.adjustments.category.get(choice.name)
        if rule is None:
            names = ", ".join(sorted(policy.adjustments.category))
            msg = f"{where}: unknown adjustment (use one of {names})"
            raise ValueError(msg)
        level = policy.category(choice.category.value).level
        if level not in rule.levels:
            msg = f"{where}: {choice.name} adjusts {'/'.join(rule.levels)} data, not {level} data"
            raise ValueError(msg)
        if choice.step not in rule.steps:
            allowed = ", ".join(f"{s:+d}" for s in rule.steps)
            msg = f"{where}: step must be one of {allowed} for {choice.name}"
            raise ValueError(msg)
        key = (choice.name, choice.category.value)
        if key in seen:
            msg = f"{where}: {choice.name} is given twice for the same category"
            raise ValueError(msg)
        seen.add(key)


class AssessImpact(AssessmentFacts):
    """The facts of an impact assessment, with the cross-field checks a person would make and
    the bounds of plausible numbers, times and text."""

    people: BoundedCount
    records: BoundedCount | None = None
    people_by_jurisdiction: dict[str, Number] = Field(min_length=1)
    time_to_restore_hours: Hours | None = None
    customer: OptionalTitle | None = None
    direct_loss_cny: Amount = 0
    assessed_notifiable_at: Moment | None = None
    summary: OptionalLine = ""
    dpc_adjustments: tuple[ChosenAdjustment, ...] = ()
    exposure_days: int | None = Field(default=None, ge=0, le=MAX_DAYS)

    @field_validator("people_by_jurisdiction", mode="before")
    @classmethod
    def _codes(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out: dict[str, Any] = {}
        for position, (code, count) in enumerate(value.items(), start=1):
            key = _jurisdiction("people_by_jurisdiction", code, position)
            if key in out:
                msg = f"people_by_jurisdiction: {key} is given twice"
                raise ValueError(msg)
            out[key] = count
        return out

    @field_validator("establishments", mode="before")
    @classmethod
    def _establishments(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple):
            return value
        return tuple(
            _jurisdiction("establishments", code, i) for i, code in enumerate(value, start=1)
        )

    @model_validator(mode="after")
    def _consistent(self) -> AssessImpact:
        total = sum(self.people_by_jurisdiction.values())
        if total > self.people.count:
            msg = (
                f"people_by_jurisdiction: adds up to {total:,}, "
                f"more than people.count ({self.people.count:,})"
            )
            raise ValueError(msg)
        if self.role is Role.PROCESSOR and not (self.customer or "").strip():
            msg = "customer: name the customer (controller) when role is processor"
            raise ValueError(msg)
        if self.credentials_open and not set(self.data_categories) & CREDENTIAL_CATEGORIES:
            msg = "credentials_open: only meaningful when credentials are among data_categories"
            raise ValueError(msg)
        _check_adjustments(self.dpc_adjustments)
        for position, choice in enumerate(self.dpc_adjustments, start=1):
            if choice.category not in self.data_categories:
                msg = f"dpc_adjustments: item {position}: its category is not among data_categories"
                raise ValueError(msg)
        return self

    def facts(self) -> AssessmentFacts:
        """The plain facts as stored in the event."""
        return AssessmentFacts.model_validate(self.model_dump())


class DecideObligation(BaseModel):
    """A DPO's decision on one obligation."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    obligation: Title
    decision: DecisionKind
    reason: Line
    notified_at: Moment | None = None
    reference: OptionalTitle | None = None


class WhatIfMoments(BaseModel):
    """Moments for a what-if evaluation that is not tied to a recorded incident."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    occurred_at: Moment | None = None
    discovered_at: Moment | None = None
    aware_at: Moment | None = None
    determined_at: Moment | None = None

    def filled(self, now: datetime) -> dict[str, Any]:
        """The moments, with discovery defaulting to ``now``."""
        data = self.model_dump()
        data["discovered_at"] = data["discovered_at"] or now
        return data
