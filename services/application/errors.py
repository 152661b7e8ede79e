"""Errors the application reports to its edges, each naming the field and the reason.

Edges map them uniformly: the CLI prints ``error: <field>: <reason>`` and exits with
:attr:`ServiceError.exit_code`; the HTTP API answers with :attr:`ServiceError.http_status`
and a problem body.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

_NAMED = re.compile(r"^([A-Za-z_][\w.\[\]-]*): (.+)$", re.DOTALL)
"""A validator's message that names its own, more precise field: ``field: reason``."""


class ServiceError(Exception):
    """Base class: a request that was refused, with nothing recorded."""

    exit_code = 2
    http_status = 400
    title = "Bad request"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class InvalidInput(ServiceError):
    """The input is malformed or out of range."""

    http_status = 422
    title = "Invalid input"

    @classmethod
    def from_validation(cls, error: ValidationError, prefix: str = "") -> InvalidInput:
        """Name the first failing field of a pydantic validation error."""
        found = cls.from_validation_dict(error.errors()[0])
        return cls(f"{prefix}{found.field}", found.reason)

    @classmethod
    def from_validation_dict(cls, first: Mapping[str, Any]) -> InvalidInput:
        """Name the field of one pydantic error (as in ``ValidationError.errors()``)."""
        loc = ".".join(str(p) for p in first.get("loc", ())) or "input"
        reason = str(first.get("msg", "is invalid")).removeprefix("Value error, ")
        kind = first.get("type")
        ctx = first.get("ctx") or {}
        if kind == "extra_forbidden":
            reason = "is not a known field"
        elif kind == "enum":
            reason = f"{first.get('input')!r} is not one of {ctx.get('expected', '')}"
        elif kind == "missing":
            reason = "is required"
        elif kind == "string_too_short" and ctx.get("min_length") == 1:
            reason = "must not be empty"
        named = _NAMED.match(reason)
        if named:
            loc, reason = named.group(1), named.group(2)
        return cls(loc, reason)


class NotFound(ServiceError):
    """The thing named does not exist."""

    http_status = 404
    title = "Not found"


class NotPermitted(ServiceError):
    """The caller has not proven who they are, or may not do this."""

    exit_code = 4
    http_status = 403
    title = "Forbidden"


class RuleBroken(ServiceError):
    """The request is well-formed but a domain rule refuses it."""

    http_status = 409
    title = "Refused by a rule"


class Conflict(ServiceError):
    """Concurrent changes kept winning the race; the request was not applied."""

    exit_code = 3
    http_status = 409
    title = "Conflict"


class PreconditionFailed(ServiceError):
    """The request was made against a version that is no longer current."""

    exit_code = 3
    http_status = 412
    title = "Precondition failed"


class TryLater(ServiceError):
    """Refused for now, before any of its work was done; the same request may succeed after
    :attr:`retry_after` seconds (HTTP 429 with Retry-After; the CLI exits 4, as nothing
    was proven or done)."""

    exit_code = 4
    http_status = 429
    title = "Too many requests"

    def __init__(self, field: str, reason: str, retry_after: float) -> None:
        super().__init__(field, reason)
        self.retry_after = retry_after

    @property
    def retry_after_seconds(self) -> int:
        """:attr:`retry_after` in whole seconds, at least one (a Retry-After value)."""
        return max(1, math.ceil(self.retry_after))


class Unavailable(TryLater):
    """Refused for now because the capacity kept for this work is in use (HTTP 503 with
    Retry-After)."""

    http_status = 503
    title = "Busy"
