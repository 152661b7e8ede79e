"""Cursor pagination: an opaque cursor names the last item of a page; the next page starts
after it. Cursors survive inserts (no skipped or repeated items, unlike offsets)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from fastapi import Response
from pydantic import BaseModel

from services.http.problems import Problem

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(BaseModel):
    """One page of a list, and the cursor of the next (None on the last page)."""

    items: list[dict[str, Any]]
    next_cursor: str | None = None

    def response(self) -> Response:
        """The page as a JSON response, serialised in one pass (lists can be long)."""
        return Response(self.model_dump_json(), media_type="application/json")


def encode_cursor(key: list[Any]) -> str:
    """An opaque cursor for a sort key."""
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


CURSOR_MAX = 1000
"""Longest cursor accepted (those this API gives are far shorter)."""
PART_MAX = 200
"""Longest text part of a cursor's sort key."""
INT_MAX = 2**53
"""Largest whole-number part of a cursor's sort key (ranks and log positions are far
smaller; larger ones would overflow the stores' integers)."""


def _fits(value: Any, kind: type) -> bool:
    """Whether one part of a sort key is of the kind this list's key has there."""
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= INT_MAX
    return isinstance(value, str) and len(value) <= PART_MAX and value.isprintable()


def decode_cursor(cursor: str | None, *kinds: type) -> list[Any] | None:
    """The sort key in a cursor whose parts are of ``kinds`` (``str`` or ``int``), or 422
    naming ``cursor`` for anything this list could not have given: malformed base64 or
    JSON, too long, another shape, negative or huge numbers."""
    if cursor is None:
        return None
    value: Any = None
    if len(cursor) <= CURSOR_MAX:
        try:
            value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            value = None
    if (
        not isinstance(value, list)
        or len(value) != len(kinds)
        or not all(_fits(v, k) for v, k in zip(value, kinds, strict=True))
    ):
        raise Problem(422, "Invalid input", "cursor: not a cursor this list gave", field="cursor")
    return value


def paged(items: list[dict[str, Any]], limit: int, key: list[str]) -> Page:
    """A page from ``limit + 1`` fetched items: the extra one only says there is more."""
    more = len(items) > limit
    shown = items[:limit]
    cursor = encode_cursor([shown[-1][k] for k in key]) if more and shown else None
    return Page(items=shown, next_cursor=cursor)
