"""Requests on containment tasks, validated before they reach the aggregates."""

from __future__ import annotations

import re
from typing import Annotated, Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints, field_validator

from events.containment import Evidence, EvidenceKind, Priority
from services.application.context import ActorName

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def parse_evidence(value: Any) -> Evidence:
    """Read ``kind:value`` (sha256, url, ticket or note) into an evidence reference."""
    if isinstance(value, Evidence):
        return value
    if isinstance(value, dict):
        return Evidence.model_validate(value)
    text = str(value).strip()
    kind, sep, rest = text.partition(":")
    if not sep or kind not in set(EvidenceKind):
        msg = f"{text!r} is not kind:value with kind one of sha256, url, ticket, note"
        raise ValueError(msg)
    rest = rest.strip()
    if kind == EvidenceKind.SHA256 and not _SHA256.match(rest.lower()):
        msg = f"{text!r}: a sha256 is 64 hexadecimal digits"
        raise ValueError(msg)
    if kind == EvidenceKind.URL and not rest.startswith(("https://", "http://")):
        msg = f"{text!r}: a url starts with https:// or http://"
        raise ValueError(msg)
    if not rest:
        msg = f"{text!r}: the value is empty"
        raise ValueError(msg)
    return Evidence(kind=EvidenceKind(kind), value=rest.lower() if kind == "sha256" else rest)


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OpenTask(_Command):
    """Open a task on an incident by hand."""

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    owner: ActorName | None = None
    priority: Priority = Priority.MEDIUM
    due_at: AwareDatetime
    mandatory: bool = True
    blocked_by: tuple[UUID, ...] = ()


class AssignTask(_Command):
    """Give a task to an owner."""

    owner: ActorName


class ReasonOnly(_Command):
    """A change that needs only a reason (block, reopen, cancel)."""

    reason: Text


class UnblockTask(_Command):
    """Lift a block, optionally saying why."""

    reason: str = ""


class CompleteTask(_Command):
    """Record a task done."""

    outcome: Text
    evidence: tuple[Evidence, ...] = ()

    @field_validator("evidence", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple(parse_evidence(v) for v in value)
        return value


class ChangeDue(_Command):
    """Move a task's due time."""

    due_at: AwareDatetime
    reason: Text
