"""Printing results: rich tables for people, JSON for scripts, one-line errors."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

_out: Console | None = None


def console() -> Console:
    """The console that prints results to standard output."""
    global _out
    if _out is None:
        _out = Console(highlight=False, soft_wrap=False)
        if not _out.is_terminal and "COLUMNS" not in os.environ:
            _out = Console(highlight=False, soft_wrap=False, width=160)
    return _out


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def emit_json(value: Any) -> None:
    """Print ``value`` as JSON on standard output."""
    sys.stdout.write(json.dumps(_plain(value), indent=2, ensure_ascii=False, default=str) + "\n")


def emit_table(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]], *, title: str = ""
) -> None:
    """Print rows as a table; ``columns`` pairs a row key with its heading."""
    table = Table(title=title or None, title_justify="left", expand=False)
    for _, heading in columns:
        table.add_column(heading, overflow="fold")
    for row in rows:
        table.add_row(*("" if row.get(k) is None else str(row.get(k)) for k, _ in columns))
    console().print(table)


def emit_fields(pairs: Sequence[tuple[str, str]], *, title: str = "") -> None:
    """Print label/value pairs as a two-column table."""
    table = Table(title=title or None, title_justify="left", show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in pairs:
        table.add_row(label, value)
    console().print(table)


def error(message: str) -> None:
    """Print a one-line error on standard error."""
    sys.stderr.write(f"breach: error: {message}\n")


def note(message: str) -> None:
    """Print a remark for people on standard error (never mixed with results)."""
    sys.stderr.write(f"{message}\n")


def say(message: str) -> None:
    """Print a line of prose for people on standard output."""
    console().print(message, markup=False)
