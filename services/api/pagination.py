"""Cursor pagination: an opaque cursor names the last item of a page; the next page starts
after it. Cursors survive inserts (no skipped or repeated items, unlike offsets)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from fastapi import Response
from pydantic import BaseModel

from services.api.problems import Problem

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


def decode_cursor(cursor: str | None, size: int) -> list[Any] | None:
    """The sort key in a cursor of ``size`` parts, or 422 naming ``cursor``."""
    if cursor is None:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        value = None
    if not isinstance(value, list) or len(value) != size:
        raise Problem(422, "Invalid input", "cursor: not a cursor this list gave", field="cursor")
    return value


def paged(items: list[dict[str, Any]], limit: int, key: list[str]) -> Page:
    """A page from ``limit + 1`` fetched items: the extra one only says there is more."""
    more = len(items) > limit
    shown = items[:limit]
    cursor = encode_cursor([shown[-1][k] for k in key]) if more and shown else None
    return Page(items=shown, next_cursor=cursor)
