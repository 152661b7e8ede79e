"""Who is asking and under which correlation id: carried by every command."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

ActorName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[\w.:-]+$"),
]
CorrelationId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,100}$")]


class RequestContext(BaseModel):
    """The actor behind a request and its correlation id (new unless given)."""

    model_config = ConfigDict(frozen=True)

    actor: ActorName
    correlation_id: CorrelationId = Field(default_factory=lambda: str(uuid4()))
    if_match: tuple[UUID, int] | None = None
    """An aggregate and the version the requester last saw: a change to that aggregate is
    refused with :class:`~services.application.errors.PreconditionFailed` if it moved on."""
