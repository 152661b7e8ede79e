"""Playbooks as data: loaded from ``templates/playbooks/*.yaml`` and checked on load.

A malformed playbook is refused with the file, the entry and the reason, so a bad edit is
caught before an incident needs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal
from uuid import NAMESPACE_URL, UUID, uuid5

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from events.containment import DueAnchor, DueClock, Priority
from events.values import IncidentType, LegalMoments

TASK_NAMESPACE = uuid5(NAMESPACE_URL, "https://breachledger.invalid/containment-task")


class PlaybookError(ValueError):
    """A playbook file is malformed; the message names the file and the entry."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Due(_Strict):
    """When a step is due: a period after one of the incident's moments."""

    start: Literal["aware", "discovered", "reported", "triaged"] = Field(alias="from")
    hours: int | None = Field(default=None, ge=0)
    days: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_unit(self) -> Due:
        if (self.hours is None) == (self.days is None):
            msg = "give exactly one of hours or days"
            raise ValueError(msg)
        return self

    def period(self) -> timedelta:
        """The period as a timedelta."""
        return timedelta(hours=self.hours or 0, days=self.days or 0)

    def anchor(self) -> DueAnchor:
        """The clock and the hours after it, as recorded on the step's task."""
        hours = (self.hours or 0) + 24 * (self.days or 0)
        return DueAnchor(clock=DueClock(self.start), hours=hours)


class Step(_Strict):
    """One step of a playbook, opened as a task."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str = Field(min_length=1, max_length=200)
    mandatory: bool = True
    priority: Priority = Priority.MEDIUM
    due: Due
    depends_on: tuple[str, ...] = ()


class Playbook(_Strict):
    """A named, versioned list of containment steps for some incident types."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    version: int = Field(ge=1)
    title: str
    description: str = ""
    incident_types: tuple[IncidentType, ...] = ()
    steps: tuple[Step, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _steps_form_a_graph(self) -> Playbook:
        ids = [s.id for s in self.steps]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            msg = f"steps: duplicate step id {duplicates[0]!r}"
            raise ValueError(msg)
        known = set(ids)
        for index, step in enumerate(self.steps):
            for dep in step.depends_on:
                if dep not in known:
                    msg = f"steps[{index}].depends_on: unknown step {dep!r}"
                    raise ValueError(msg)
        cycle = _find_cycle({s.id: s.depends_on for s in self.steps})
        if cycle:
            msg = f"steps: depends_on forms a cycle: {' -> '.join(cycle)}"
            raise ValueError(msg)
        return self

    def task_id(self, incident_id: UUID, step: Step) -> UUID:
        """The task id a step gets on an incident: the same every time, so a repeated
        application of the playbook cannot open a second copy."""
        return uuid5(TASK_NAMESPACE, f"{incident_id}/{self.id}/{step.id}")


def _find_cycle(graph: Mapping[str, tuple[str, ...]]) -> list[str] | None:
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        if node in done:
            return None
        visiting.append(node)
        for dep in graph.get(node, ()):
            found = visit(dep)
            if found:
                return found
        visiting.pop()
        done.add(node)
        return None

    for node in graph:
        found = visit(node)
        if found:
            return found
    return None


def due_at(
    step: Step,
    moments: LegalMoments,
    *,
    reported_at: datetime,
    triaged_at: datetime,
) -> datetime:
    """When the step's task is due for an incident (never before it was reported)."""
    anchor = step.due.anchor()
    start = anchor.clock.start(moments)
    if start is None:
        start = triaged_at if anchor.clock is DueClock.TRIAGED else reported_at
    return anchor.due_at(start, reported_at)


class PlaybookCatalog:
    """Every playbook in a directory, by id and by the incident types it serves."""

    GENERIC = "generic"

    def __init__(self, playbooks: Mapping[str, Playbook]) -> None:
        self.playbooks = dict(playbooks)
        self.by_type: dict[IncidentType, Playbook] = {}
        for playbook in self.playbooks.values():
            for kind in playbook.incident_types:
                if kind in self.by_type:
                    msg = (
                        f"incident type {kind.value} is served by both "
                        f"{self.by_type[kind].id} and {playbook.id}"
                    )
                    raise PlaybookError(msg)
                self.by_type[kind] = playbook
        if self.GENERIC not in self.playbooks:
            msg = "a 'generic' playbook is required for types no other playbook serves"
            raise PlaybookError(msg)

    @classmethod
    def load(cls, directory: Path) -> PlaybookCatalog:
        """Load and check every ``*.yaml`` file of ``directory``."""
        if not directory.is_dir():
            msg = f"{directory}: no playbook directory"
            raise PlaybookError(msg)
        playbooks = {}
        for path in sorted(directory.glob("*.yaml")):
            playbook = load_playbook(path)
            playbooks[playbook.id] = playbook
        return cls(playbooks)

    def for_type(self, kind: IncidentType) -> Playbook:
        """The playbook for an incident type (the generic one if none names it)."""
        return self.by_type.get(kind) or self.playbooks[self.GENERIC]


def load_playbook(path: Path) -> Playbook:
    """Read and check one playbook file."""
    where = f"{path.parent.name}/{path.name}"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        msg = f"{where}: cannot be read ({e})"
        raise PlaybookError(msg) from None
    except yaml.YAMLError as e:
        msg = f"{where}: not valid YAML ({e})"
        raise PlaybookError(msg) from None
    try:
        playbook = Playbook.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        reason = first["msg"].removeprefix("Value error, ")
        msg = f"{where}: {loc + ': ' if loc else ''}{reason}"
        raise PlaybookError(msg) from None
    if playbook.id != path.stem:
        msg = f"{where}: id {playbook.id!r} must match the file name {path.stem!r}"
        raise PlaybookError(msg)
    return playbook
