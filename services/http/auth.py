"""Who is calling: API tokens (``Authorization: Bearer``) or a web session cookie, and
the permission checks every route declares.

A session cookie authenticates only safe requests on its own; a change made with one must
also carry the session's CSRF token (form field ``csrf`` or header ``X-CSRF-Token``).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request

from services.access.permissions import Permission, permissions_of
from services.http.problems import Problem
from services.http.runtime import runtime_of
from services.http.threads import in_thread
from services.users.handlers import Identity

SESSION_COOKIE = "breach_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: identity, what they may do, how they authenticated."""

    identity: Identity
    permissions: frozenset[Permission]
    via_session: bool = False
    csrf: str | None = None

    @property
    def username(self) -> str:
        """The caller's username (recorded as the actor of their changes)."""
        return self.identity.username

    def may(self, permission: Permission) -> bool:
        """Whether the caller holds ``permission``."""
        return permission in self.permissions


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, field="Authorization")


def _known_caller(request: Request) -> Caller | None:
    """The caller this request was already authenticated as (by the body limit), if any."""
    cached = getattr(request.state, "caller", None)
    return cached if isinstance(cached, Caller) else None


def authenticate(request: Request) -> Caller:
    """The caller of this request, or 401."""
    known = _known_caller(request)
    if known is not None:
        return known
    rt = runtime_of(request)
    header = request.headers.get("authorization")
    caller: Caller | None = None
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("use 'Authorization: Bearer <token>'")
        identity = rt.app.users.identity_for_token(token.strip())
        if identity is None:
            raise _unauthorized("the token is unknown, revoked, or its user is disabled")
        caller = Caller(identity, permissions_of(identity.roles))
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        session = rt.app.credentials.session(cookie) if cookie and rt.app.credentials else None
        identity = rt.app.users.identity(session.username) if session is not None else None
        if session is None or identity is None:
            raise _unauthorized("sign in, or send an API token")
        caller = Caller(identity, permissions_of(identity.roles), True, session.csrf)
    request.state.caller = caller
    return caller


def check_csrf(caller: Caller, submitted: str | None) -> None:
    """Refuse a change made with a session cookie but without its CSRF token."""
    if not caller.via_session:
        return
    if not submitted or caller.csrf is None or not hmac.compare_digest(submitted, caller.csrf):
        raise Problem(403, "Forbidden", "csrf: missing or wrong CSRF token", field="csrf")


def require(*needed: Permission) -> Callable[[Request], Awaitable[Caller]]:
    """A dependency admitting callers holding any of ``needed`` (403 otherwise). It runs on
    the event loop: a caller the body limit already authenticated (every request with a
    body) is checked there at once, and only one yet to be looked up goes to a worker
    thread (a write's request crosses to threads twice: its token, then its command)."""

    async def dependency(request: Request) -> Caller:
        caller = _known_caller(request)
        if caller is None:
            caller = await in_thread(request.scope, authenticate, request)
        if request.method not in SAFE_METHODS:
            check_csrf(caller, request.headers.get("x-csrf-token"))
        if not any(caller.may(p) for p in needed):
            wanted = " or ".join(p.value for p in needed)
            raise Problem(
                403, "Forbidden", f"role: {caller.username} may not do {wanted}", field="role"
            )
        return caller

    return dependency
