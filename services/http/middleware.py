"""Pure ASGI middleware of the HTTP edge: security headers on every answer, and one access
log line per request naming the route template (never the values in the path or query).

It also answers for an unexpected failure inside the application: a 500 problem saying
only "internal error" and the correlation id (the request's ``X-Correlation-Id`` when it is
a valid one, else a new one), with the same headers as every other answer, logged once with
its traceback as a field. Starlette's own last-resort handler sits outside this middleware
(no headers, and it hands the exception on to the server to log again), so it never sees
one.
"""

from __future__ import annotations

import time
from uuid import uuid4

import structlog
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.contextvars import bound_contextvars

from services.application.context import CorrelationId
from services.http.problems import problem_response

log = structlog.get_logger()
_CORRELATION: TypeAdapter[str] = TypeAdapter(CorrelationId)

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


def correlation_of(scope: Scope) -> str:
    """The request's ``X-Correlation-Id`` when it is a valid one, else a new id."""
    given = Headers(scope=scope).get("x-correlation-id")
    if given is not None:
        try:
            return _CORRELATION.validate_python(given)
        except ValidationError:
            pass
    return str(uuid4())


class EdgeMiddleware:
    """Adds security headers (and ``Cache-Control: no-store`` unless a route set one), logs
    each request's method, route template, status and duration, and turns an unexpected
    failure into a bare 500 problem (see the module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; decorate the response start; log when done."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        answered = False

        async def decorated(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                answered = True
                status = message["status"]
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", CSP.encode()))
                if b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, decorated)
        except Exception:
            correlation = correlation_of(scope)
            with bound_contextvars(correlation_id=correlation):
                log.exception(
                    "http.failed",
                    method=scope["method"],
                    route=getattr(scope.get("route"), "path", "unmatched"),
                    answered=answered,
                )
            if not answered:
                answer = problem_response(
                    500, "Internal error", "internal error", correlation_id=correlation
                )
                await answer(scope, receive, decorated)
        finally:
            route = scope.get("route")
            log.info(
                "http.request",
                method=scope["method"],
                route=getattr(route, "path", "unmatched"),
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )
