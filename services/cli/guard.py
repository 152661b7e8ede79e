"""What each command needs before it runs: a permission of the one permission table, or
nothing (an operator command). The declaration sits on the command, so a reader sees it and a
test can walk every command and check it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from services.access.permissions import Permission
from services.cli.state import CliState

F = TypeVar("F", bound=Callable[..., Any])

ACCESS = "__breach_access__"
"""The attribute naming what a command needs: a tuple of permissions, or None (operator)."""


def _state(args: tuple[Any, ...], kwargs: dict[str, Any]) -> CliState:
    """The shared state, from the command's context argument (every command takes one;
    typer hands over its click context, so it is known by its ``find_root``)."""
    for value in (*args, *kwargs.values()):
        if callable(getattr(value, "find_root", None)):
            obj = value.find_root().obj
            assert isinstance(obj, CliState)
            return obj
    msg = "a guarded command must take a typer.Context"
    raise TypeError(msg)


def _guard(needed: tuple[Permission, ...] | None) -> Callable[[F], F]:
    def decorate(command: F) -> F:
        @functools.wraps(command)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            _state(args, kwargs).authorise(needed)
            return command(*args, **kwargs)

        setattr(guarded, ACCESS, needed)
        return guarded  # type: ignore[return-value]

    return decorate


def needs(*permissions: Permission) -> Callable[[F], F]:
    """The command runs only for a proven user holding one of ``permissions``."""
    return _guard(tuple(permissions))


def operator(command: F) -> F:
    """The command is the machine operator's (serving, workers, views, verification,
    first-account set-up): it needs no proven identity and records the operating-system
    user."""
    return _guard(None)(command)
