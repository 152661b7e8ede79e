"""Ids given by their first characters: the one rule every reader resolves them by.

An id may be typed whole or by a unique prefix, with or without its dashes. Each reader
resolves prefixes against its own table; an unknown prefix is not found, an ambiguous one
names a few of the ids it matches (never more of them than their first eight characters).
"""

from __future__ import annotations

import re
from uuid import UUID

from services.application.errors import InvalidInput, NotFound
from services.projections.store import ViewStore

_HEX = re.compile(r"^[0-9a-f]{1,32}$")
SHOWN = 5


def dashed_prefix(text: str, *, field: str = "id") -> str:
    """Turn an id prefix given with or without dashes into the dashed form's prefix."""
    hex_ = text.strip().lower().replace("-", "")
    if not _HEX.match(hex_):
        raise InvalidInput(field, "is not an id or an id prefix (hex digits)")
    cuts = (8, 12, 16, 20)
    parts = [hex_[a:b] for a, b in zip((0, *cuts), (*cuts, 32), strict=True) if hex_[a:b]]
    return "-".join(parts)


def resolve_prefix(
    store: ViewStore, table: str, column: str, text: str, *, field: str, noun: str
) -> UUID:
    """The one id in ``table.column`` that is ``text`` or starts with it (the table and
    column are the calling reader's own, never input)."""
    rows = store.query(
        f"SELECT {column} FROM {table} WHERE {column} LIKE ? ORDER BY {column} LIMIT ?",
        [dashed_prefix(text, field=field) + "%", SHOWN + 1],
    )
    if not rows:
        raise NotFound(field, f"no {noun} has an id that starts so")
    if len(rows) > 1:
        shown = ", ".join(str(r[column])[:8] for r in rows[:SHOWN])
        raise InvalidInput(field, f"matches several {noun}s ({shown}...); give more of the id")
    return UUID(str(rows[0][column]))
