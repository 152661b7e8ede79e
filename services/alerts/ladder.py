"""The escalation ladder: policy data (``rules/ladder.yaml``), loaded and checked, and the
pure rule saying which step of a subject's ladder is due at a moment.

A refused file names the file and the bad entry, so a broken ladder never reaches the
alarm clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, cached_property
from importlib import resources
from typing import Any, Literal
from uuid import UUID

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from events.alerts import SubjectKind, alert_id
from events.users import Role

FIXED_RECIPIENTS = ("owner", "dpo_on_duty", "admins")
"""Recipients a step may name besides ``role:<role>``."""
Channel = Literal["bell", "email"]


class LadderError(ValueError):
    """The ladder file is malformed; the message names the file and the entry."""


class Strict(BaseModel):
    """Base of the ladder's models: frozen, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Before(Strict):
    """How long before the deadline a step is due (all zero: at the deadline)."""

    hours: int = Field(default=0, ge=0, le=24 * 365)
    minutes: int = Field(default=0, ge=0, le=59)

    @property
    def delta(self) -> timedelta:
        """The period as a timedelta."""
        return timedelta(hours=self.hours, minutes=self.minutes)


class Step(Strict):
    """One rung: its name, when it is due, who is told and how."""

    step: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    before: Before
    recipients: tuple[str, ...] = Field(min_length=1)
    channels: tuple[Channel, ...] = Field(min_length=1)

    @field_validator("recipients")
    @classmethod
    def _known_recipients(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        roles = {r.value for r in Role}
        for position, name in enumerate(value, start=1):
            if name in FIXED_RECIPIENTS:
                continue
            if name.startswith("role:") and name.removeprefix("role:") in roles:
                continue
            msg = (
                f"item {position} is not a recipient (use {', '.join(FIXED_RECIPIENTS)} or "
                f"role:<{'|'.join(sorted(roles))}>)"
            )
            raise ValueError(msg)
        return value


def _ordered(steps: tuple[Step, ...], kind: str) -> tuple[Step, ...]:
    names = [s.step for s in steps]
    if len(set(names)) != len(names):
        msg = f"{kind}: step names must be unique"
        raise ValueError(msg)
    befores = [s.before.delta for s in steps]
    if befores != sorted(befores, reverse=True) or len(set(befores)) != len(befores):
        msg = f"{kind}: steps must come earliest first, each due at a different moment"
        raise ValueError(msg)
    return steps


class Ladder(Strict):
    """The ladders of obligations and of mandatory tasks."""

    version: int = Field(ge=1)
    obligation: tuple[Step, ...] = Field(min_length=1)
    task: tuple[Step, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> Ladder:
        _ordered(self.obligation, "obligation")
        _ordered(self.task, "task")
        return self

    def steps(self, kind: SubjectKind) -> tuple[Step, ...]:
        """The steps of one kind of subject, earliest first."""
        return self.obligation if kind is SubjectKind.OBLIGATION else self.task


def parse_ladder(data: Any, name: str = "ladder.yaml") -> Ladder:
    """Check and type a ladder read from YAML."""
    try:
        return Ladder.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        reason = str(first["msg"]).removeprefix("Value error, ")
        msg = f"rules/{name}: {loc or 'ladder'}: {reason}"
        raise LadderError(msg) from None


@cache
def ladder() -> Ladder:
    """The ladder shipped with this version (loaded once per process)."""
    path = resources.files("services.alerts") / "rules" / "ladder.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        msg = f"rules/ladder.yaml is not valid YAML: {e}"
        raise LadderError(msg) from None
    return parse_ladder(data)


@dataclass(frozen=True)
class Subject:
    """What a ladder runs for: an obligation or a task of an incident, its deadline, its
    owner, and whether it is still open (undecided, or unfinished)."""

    kind: SubjectKind
    incident_id: UUID
    subject_id: str
    deadline: datetime
    open: bool
    owner: str | None = None


@dataclass(frozen=True)
class Firing:
    """A step due for a subject at a deadline version; ``late`` when it comes more than the
    allowed delay after its moment."""

    subject: Subject
    step: Step
    due_at: datetime
    late: bool

    @cached_property
    def alert_id(self) -> UUID:
        """The id of the alert this firing raises (the same for every scanner)."""
        s = self.subject
        return alert_id(s.kind, s.incident_id, s.subject_id, s.deadline, self.step.step)


def due_step(
    steps: tuple[Step, ...], subject: Subject, now: datetime, late_after: timedelta
) -> Firing | None:
    """The step of ``subject``'s ladder due at ``now``: the latest whose moment (deadline
    minus its ``before``) has passed, or None (none passed yet, or the subject is no longer
    open). Earlier passed steps are not returned: a step missed while nothing ran is
    superseded by the later one. ``late`` when ``now`` is more than ``late_after`` past the
    step's moment."""
    if not subject.open:
        return None
    passed = [s for s in steps if subject.deadline - s.before.delta <= now]
    if not passed:
        return None
    step = passed[-1]
    moment = subject.deadline - step.before.delta
    return Firing(subject=subject, step=step, due_at=moment, late=now - moment > late_after)


def responsible(
    subject_owner: str | None, incident_owner: str | None, dpo_on_duty: str | None
) -> str | None:
    """Who answers for a subject: its own owner, else the incident's owner, else the DPO on
    duty (None: nobody)."""
    return subject_owner or incident_owner or dpo_on_duty
