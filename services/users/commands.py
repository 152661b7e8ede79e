"""Requests of the users capability, validated before they reach an aggregate."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from services.application.fields import Email

Language = Literal["en", "zh-CN"]
"""A language a user may read alerts in (see :data:`events.users.LANGUAGES`)."""


class SetContact(BaseModel):
    """Change how a user is told of alerts: ``email`` set (an address) or removed (null),
    ``language`` set. A field left out stays as it is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    email: Email | None = None
    language: Language = "en"

    @model_validator(mode="after")
    def _something(self) -> SetContact:
        if not self.model_fields_set & {"email", "language"}:
            msg = "input: give email (an address, or null to remove it) or language"
            raise ValueError(msg)
        return self

    @property
    def changes_email(self) -> bool:
        """Whether the request sets or removes the address."""
        return "email" in self.model_fields_set

    @property
    def changes_language(self) -> bool:
        """Whether the request sets the language."""
        return "language" in self.model_fields_set
