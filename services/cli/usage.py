"""Usage errors of the command line (a bad option value, a missing option, an extra
argument) in one line that names the option and says what is wrong without repeating what
was typed: the parser's own words quote the value."""

from __future__ import annotations

import typing
from enum import Enum
from typing import Any

import typer
from pydantic import ValidationError

from services.application.errors import InvalidInput


def _enum_in(annotation: Any) -> type[Enum] | None:
    """The enumeration an option's annotation holds (``Severity | None``, ``list[Role]``)."""
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return annotation
    for arg in typing.get_args(annotation):
        found = _enum_in(arg)
        if found is not None:
            return found
    return None


def _name(param: Any) -> str:
    """How the user wrote the parameter: its longest option, or its argument's name."""
    opts = list(getattr(param, "opts", None) or [])
    if getattr(param, "param_type_name", "") == "argument" or not opts:
        return str(getattr(param, "name", "") or "argument").upper()
    return str(max(opts, key=len))


def _bad_value(error: typer.BadParameter) -> str:
    """The reason a value was refused, worded by us."""
    descriptor = getattr(error.param, "type_descriptor", None)
    choices = _enum_in(getattr(descriptor, "annotation", None))
    if choices is not None:
        return f"is not one of {', '.join(str(c.value) for c in choices)}"
    cause = error.__cause__
    if isinstance(cause, ValidationError) and cause.errors():
        return InvalidInput.from_validation_dict({**cause.errors()[0], "loc": ()}).reason
    return "is not valid here"


def usage_message(error: Exception) -> str:
    """One line for a usage error of the parser, never holding the value typed."""
    if isinstance(error, typer.BadParameter) and type(error).__name__ != "MissingParameter":
        if error.param is None:
            return f"{error.param_hint or 'value'}: is not valid here"
        return f"{_name(error.param)}: {_bad_value(error)}"
    format_message = getattr(error, "format_message", None)
    message = str(format_message() if callable(format_message) else error)
    message = message.strip().replace("\n", " ").replace("Value error, ", "")
    if message.startswith("Got unexpected extra argument"):
        return "arguments: more than the command takes (see --help)"
    if message.startswith("No such command"):
        return "command: no such command (see breach --help)"
    return message
