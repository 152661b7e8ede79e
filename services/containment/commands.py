"""Requests on containment tasks, validated before they reach the aggregates."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, field_validator

from events.containment import Evidence, EvidenceKind, Priority
from services.application.context import ActorName
from services.application.fields import LINE_MAX, Line, Moment, OptionalLine, Title, line_problem

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _evidence_problem(kind: str, rest: str) -> str | None:
    """Why ``kind:rest`` is not an evidence reference, or None."""
    if kind not in set(EvidenceKind):
        return "is not kind:value with kind one of sha256, url, ticket, note"
    if not rest:
        return "has an empty value"
    if kind == EvidenceKind.SHA256 and not _SHA256.match(rest.lower()):
        return "is a sha256 that is not 64 hexadecimal digits"
    if kind == EvidenceKind.URL and not rest.startswith(("https://", "http://")):
        return "is a url that does not start with https:// or http://"
    if len(rest) > LINE_MAX:
        return f"is longer than {LINE_MAX:,} characters"
    return line_problem(rest)


def parse_evidence(value: Any, position: int = 1) -> Evidence:
    """Read ``kind:value`` (sha256, url, ticket or note) into an evidence reference; a
    refusal names the item's ``position`` (from 1), never its text."""
    if isinstance(value, Evidence):
        return value
    if isinstance(value, dict):
        value = f"{value.get('kind', '')}:{value.get('value', '')}"
    text = str(value).strip()
    kind, sep, rest = text.partition(":")
    rest = rest.strip()
    problem = _evidence_problem(kind, rest) if sep else _evidence_problem("", "")
    if problem is not None:
        msg = f"evidence: item {position} {problem}"
        raise ValueError(msg)
    return Evidence(kind=EvidenceKind(kind), value=rest.lower() if kind == "sha256" else rest)


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OpenTask(_Command):
    """Open a task on an incident by hand."""

    title: Title
    owner: ActorName | None = None
    priority: Priority = Priority.MEDIUM
    due_at: Moment
    mandatory: bool = True
    blocked_by: tuple[UUID, ...] = ()


class AssignTask(_Command):
    """Give a task to an owner."""

    owner: ActorName


class ReasonOnly(_Command):
    """A change that needs only a reason (block, reopen, cancel)."""

    reason: Line


class UnblockTask(_Command):
    """Lift a block, optionally saying why."""

    reason: OptionalLine = ""


class CompleteTask(_Command):
    """Record a task done."""

    outcome: Line
    evidence: tuple[Evidence, ...] = ()

    @field_validator("evidence", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple(parse_evidence(v, i) for i, v in enumerate(value, start=1))
        return value


class ChangeDue(_Command):
    """Move a task's due time."""

    due_at: Moment
    reason: Line
