"""What every route needs from a request: the caller's context (actor, correlation id,
If-Match) and the versions it answers with (ETag)."""

from __future__ import annotations

import re
from uuid import UUID

from fastapi import Request, Response
from pydantic import ValidationError

from services.application.context import RequestContext
from services.http.auth import Caller
from services.http.problems import Problem

_ETAG = re.compile(r'^\s*(?:W/)?"(\d{1,12})"\s*$')


def if_match(request: Request) -> int | None:
    """The version named by ``If-Match`` (``"7"`` or ``W/"7"``), or None when absent."""
    header = request.headers.get("if-match")
    if header is None or header.strip() == "*":
        return None
    found = _ETAG.match(header)
    if found is None:
        raise Problem(
            400, "Bad request", 'If-Match: give the ETag received, e.g. "7"', field="If-Match"
        )
    return int(found.group(1))


def context(
    request: Request, caller: Caller, target: UUID | None = None, version: int | None = None
) -> RequestContext:
    """The context of a change by ``caller`` to ``target``: the caller is the actor, the
    correlation id comes from ``X-Correlation-Id`` (or is new), and the expected version
    from ``version`` or ``If-Match``."""
    expected = version if version is not None else if_match(request)
    correlation = request.headers.get("x-correlation-id")
    try:
        return RequestContext(
            actor=caller.username,
            **({"correlation_id": correlation} if correlation else {}),
            if_match=(target, expected) if target is not None and expected is not None else None,
        )
    except ValidationError:
        raise Problem(
            400,
            "Bad request",
            "X-Correlation-Id: letters, digits and . _ : - only, at most 100",
            field="X-Correlation-Id",
        ) from None


def tag(response: Response, version: int) -> None:
    """Answer with the aggregate's version as a strong ETag."""
    response.headers["ETag"] = f'"{version}"'
