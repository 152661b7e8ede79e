"""Body-size limits chosen by who is asking, enforced before any route reads the body.

Before the first byte of a body is read, the caller is resolved the cheap way (a token's
hash or a session looked up, in a worker thread, when the request presents either; the
route then reuses the answer), and the limit follows from it:

- without valid credentials: ``anonymous`` bytes (enough for the sign-in form and a signed
  intake alert);
- an authenticated caller: ``authenticated`` bytes;
- a POST to one of the people-import routes by a caller holding ``people.import``:
  ``imports`` bytes.

A declared length over the limit is refused at once; a streamed body is cut off as soon as
it passes the limit. An answer given before the body was read to its end closes the
connection, so that the server does not go on reading (and discarding) what the client
keeps sending.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.access.permissions import Permission
from services.http.auth import SESSION_COOKIE, Caller, authenticate
from services.http.problems import Problem
from services.http.threads import in_thread

BODYLESS = frozenset({b"0", b""})


def _problem(limit: int, anonymous: bool) -> bytes:
    whose = " for a request without valid credentials" if anonymous else ""
    return json.dumps(
        {
            "type": "https://breachledger.invalid/problems/content-too-large",
            "title": "Content too large",
            "status": 413,
            "detail": f"body: larger than the limit of {limit} bytes{whose}",
            "field": "body",
        }
    ).encode()


def _route_pattern(template: str) -> re.Pattern[str]:
    """A route template (``/incidents/{incident_id}/people``) as a full-match pattern."""
    parts = re.split(r"\{[^}]+\}", template)
    return re.compile("[^/]+".join(re.escape(p) for p in parts))


def _caller(scope: Scope) -> Caller | None:
    """The authenticated caller of a request, or None (its body is not read)."""
    try:
        return authenticate(Request(scope))
    except Problem:
        return None


def _presents_credentials(scope: Scope) -> bool:
    """Whether the request carries a token or a session cookie (else it is anonymous, and
    no lookup is needed to know it)."""
    session = SESSION_COOKIE.encode() + b"="
    for name, value in scope.get("headers", []):
        if name == b"authorization" or (name == b"cookie" and session in value):
            return True
    return False


def _declares_body(scope: Scope) -> bool:
    headers = dict(scope.get("headers", []))
    return b"transfer-encoding" in headers or headers.get(b"content-length", b"").strip() not in (
        BODYLESS
    )


class BodyLimit:
    """ASGI middleware answering 413 to bodies over the limit of their caller and route
    (see the module)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        anonymous: int,
        authenticated: int,
        imports: int,
        import_routes: Sequence[str],
    ) -> None:
        self.app = app
        self.anonymous = min(anonymous, authenticated)
        self.authenticated = authenticated
        self.imports = imports
        self.import_routes = [_route_pattern(t) for t in import_routes]

    def limit_for(self, method: str, path: str, caller: Caller | None) -> int:
        """The limit that applies to ``method`` on ``path`` for ``caller``."""
        if caller is None:
            return self.anonymous
        if (
            method == "POST"
            and caller.may(Permission.PEOPLE_IMPORT)
            and any(p.fullmatch(path) for p in self.import_routes)
        ):
            return self.imports
        return self.authenticated

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Resolve the caller, then pass the request on, refusing it once its body passes
        the caller's limit."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declares_body(scope)
        caller = None
        if declared and _presents_credentials(scope):
            caller = await in_thread(scope, _caller, scope)
        limit = self.limit_for(scope["method"], scope["path"], caller)
        anonymous = caller is None
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = limit + 1
                if length > limit:
                    await self._refuse(send, limit, anonymous)
                    return
        received = 0
        complete = not declared
        started = False
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused, complete
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = complete or not message.get("more_body", False)
                if received > limit:
                    # Answer 413 here, then tell the route the client is gone: whatever the
                    # route or the framework makes of that is neither sent nor recorded.
                    refused = True
                    if not started:
                        await self._refuse(send, limit, anonymous)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
                if not complete:
                    headers = list(message.get("headers", []))
                    headers.append((b"connection", b"close"))
                    message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except Exception:
            if not refused:
                raise

    @staticmethod
    async def _refuse(send: Send, limit: int, anonymous: bool) -> None:
        body = _problem(limit, anonymous)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
