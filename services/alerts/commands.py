"""Requests of the alerts capability, validated before they reach an aggregate."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator

from services.application.context import ActorName
from services.application.fields import Moment


class Command(BaseModel):
    """Base of command models: frozen, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ScheduleDuty(Command):
    """Put a user on duty as DPO from ``starts_at`` until ``ends_at``."""

    user: ActorName
    starts_at: Moment
    ends_at: Moment

    @model_validator(mode="after")
    def _in_order(self) -> ScheduleDuty:
        if self.ends_at <= self.starts_at:
            msg = "ends_at: must be after starts_at"
            raise ValueError(msg)
        return self


class CancelDuty(Command):
    """Take a shift off the rota."""

    shift_id: ActorName
