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


class CannotStart(ServiceError):
    """A process cannot start: an address, directory or database it needs is not usable
    (nothing was started, nothing recorded)."""

    http_status = 503
    title = "Cannot start"


class InvalidInput(ServiceError):
    """The input is malformed or out of range."""

    http_status = 422
    title = "Invalid input"

    @classmethod
    def from_validation(
        cls, error: ValidationError, prefix: str = "", whole: str = "input"
    ) -> InvalidInput:
        """Name the first failing field of a pydantic validation error under ``prefix``;
        a problem of the input as a whole (an unknown field) is named ``prefix`` itself, or
        ``whole`` without one."""
        found = cls.from_validation_dict(error.errors()[0])
        if found.field == "input":
            return cls(prefix.rstrip(".") or whole, found.reason)
        return cls(f"{prefix}{found.field}", found.reason)

    @classmethod
    def from_validation_dict(cls, first: Mapping[str, Any]) -> InvalidInput:
        """Name the field of one pydantic error (as in ``ValidationError.errors()``), with a
        reason of ours that never repeats the value given."""
        loc = tuple(first.get("loc", ()))
        kind = str(first.get("type", ""))
        if kind == "extra_forbidden":
            loc = loc[:-1]
        field = ".".join(str(p) for p in loc) or "input"
        reason = _reason(kind, first)
        named = _NAMED.match(reason) if kind in _OWN else None
        if named:
            field, reason = named.group(1), named.group(2)
        return cls(field, reason)


_OWN = ("value_error", "assertion_error")
"""Errors raised by our own validators, whose messages are worded without the value."""

_TIME = "is not a time; use ISO 8601, e.g. 2026-11-27T14:05+01:00"
_FIXED = {
    "extra_forbidden": "holds a field that is not known",
    "missing": "is required",
    "string_type": "must be text",
    "string_unicode": "must be text",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_parsing_size": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "uuid_type": "is not a valid UUID",
    "uuid_parsing": "is not a valid UUID",
    "uuid_version": "is not a valid UUID",
    "datetime_type": _TIME,
    "datetime_parsing": _TIME,
    "datetime_from_date_parsing": _TIME,
    "datetime_object_invalid": _TIME,
    "timezone_aware": "needs a UTC offset, e.g. 2026-11-27T14:05+01:00",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "set_type": "must be a list",
    "dict_type": "must be a mapping of names to values",
    "mapping_type": "must be a mapping of names to values",
    "model_type": "must be a mapping of names to values",
    "model_attributes_type": "must be a mapping of names to values",
    "json_invalid": "is not valid JSON",
    "json_type": "is not valid JSON",
    "url_parsing": "is not a valid URL",
    "url_type": "is not a valid URL",
    "string_pattern_mismatch": "holds characters that are not allowed here",
    "union_tag_invalid": "is not one of the kinds allowed here",
    "union_tag_not_found": "does not say which kind it is",
}
"""Reasons for pydantic's errors, worded by us (some of pydantic's quote the input)."""


def _reason(kind: str, first: Mapping[str, Any]) -> str:
    """The reason for one pydantic error, never holding the input."""
    ctx = first.get("ctx") or {}
    if kind in _FIXED:
        return _FIXED[kind]
    if kind in ("enum", "literal_error"):
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"is not one of {expected}"
    if kind in ("less_than_equal", "less_than", "greater_than_equal", "greater_than"):
        word = {"less_than_equal": "at most", "less_than": "less than"}.get(kind)
        word = word or {"greater_than_equal": "at least", "greater_than": "more than"}[kind]
        limit = next(iter(ctx.values()), "")
        return f"must be {word} {_number(limit)}"
    if kind in ("string_too_short", "too_short"):
        least = ctx.get("min_length", 1)
        if least == 1:
            return "must not be empty"
        unit = "characters" if kind == "string_too_short" else "items"
        return f"must have at least {least} {unit}"
    if kind in ("string_too_long", "too_long"):
        unit = "characters" if kind == "string_too_long" else "items"
        return f"must be at most {ctx.get('max_length')} {unit}"
    if kind in _OWN:
        return (
            str(first.get("msg", "is invalid"))
            .removeprefix("Value error, ")
            .removeprefix("Assertion failed, ")
        )
    return "is invalid"


def _number(value: Any) -> str:
    """A bound as people read it: ``10,000,000,000``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:g}"
    return str(value)


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
