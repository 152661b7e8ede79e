"""Errors raised by aggregates when a command would break a rule of the domain."""

from __future__ import annotations


class DomainError(Exception):
    """Base class for errors raised by the domain."""


class RuleViolation(DomainError):
    """A command was refused because it would break a rule.

    ``field`` names the input that breaks the rule (or ``None`` when the rule concerns
    the state as a whole, for example a closed incident), ``reason`` says why in words.
    """

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason
