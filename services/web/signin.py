"""Signing in and out, and changing one's password.

The sign-in form is protected against login CSRF by a pre-session token: a random value in
an HttpOnly, SameSite=Strict cookie that the form must repeat. A user signing in with a
one-time password gets no session at all, only a short-lived pending change (its own cookie
and CSRF token) that can do nothing but set a new password; the session starts after that.
Attempts are throttled per account and per client address (:mod:`services.users.throttle`):
a held-back attempt gets 429 with Retry-After. Password checks are bounded per process by
the credential store: an attempt that finds no free slot in time gets 503 with Retry-After.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

import structlog
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from services.application.context import RequestContext
from services.application.errors import ServiceError, TryLater
from services.clock import Clock
from services.http.auth import SESSION_COOKIE, authenticate
from services.http.problems import Problem
from services.http.runtime import runtime_of
from services.users.credentials import CredentialStore
from services.web.access import (
    PENDING_COOKIE,
    OpenForm,
    WebRedirect,
    WebRefusal,
    clear_cookie,
    local_path,
    set_cookie,
    text,
)
from services.web.render import page

log = structlog.get_logger()
router = APIRouter(include_in_schema=False)

LOGIN_COOKIE = "breach_login"
PENDING_MINUTES = 15
USERNAME_MAX = 64
PASSWORD_MAX = 1024
WRONG = "wrong username or password"


@dataclass(frozen=True)
class PendingChange:
    """A sign-in with a one-time password, waiting for the user's new password."""

    username: str
    csrf: str
    expires: datetime


class PendingChanges:
    """Pending password changes of this process, by the hash of their cookie value, dated
    by ``clock``."""

    def __init__(
        self, clock: Clock, lifetime: timedelta = timedelta(minutes=PENDING_MINUTES)
    ) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self._lock = threading.Lock()
        self._items: dict[str, PendingChange] = {}

    @staticmethod
    def _key(value: str) -> str:
        return hashlib.sha256(value.encode()).hexdigest()

    def open(self, username: str) -> tuple[str, PendingChange]:
        """Start a pending change: (cookie value, pending change)."""
        value = secrets.token_urlsafe(32)
        now = self.clock.now()
        pending = PendingChange(username, secrets.token_urlsafe(24), now + self.lifetime)
        with self._lock:
            self._items = {k: v for k, v in self._items.items() if v.expires > now}
            self._items[self._key(value)] = pending
        return value, pending

    def get(self, value: str | None) -> PendingChange | None:
        """The live pending change of a cookie value."""
        if not value:
            return None
        with self._lock:
            found = self._items.get(self._key(value))
        if found is None or found.expires <= self.clock.now():
            return None
        return found

    def close(self, value: str | None) -> None:
        """End a pending change."""
        if value:
            with self._lock:
                self._items.pop(self._key(value), None)


def pending_changes(request: Request) -> PendingChanges:
    """The application's pending password changes."""
    found = request.app.state.web_pending
    assert isinstance(found, PendingChanges)
    return found


def client_of(request: Request) -> str:
    """The address a sign-in comes from (named by a trusted proxy, when one is configured)."""
    return request.client.host if request.client is not None else "unknown"


def credentials_of(request: Request) -> CredentialStore:
    """The credential store (the dashboard needs one)."""
    store = runtime_of(request).app.credentials
    if store is None:
        raise WebRefusal(503, "Unavailable", "No credential store is configured.")
    return store


def _same(expected: str | None, submitted: str) -> bool:
    return bool(expected and submitted) and hmac.compare_digest(str(expected), submitted)


def _login_page(
    request: Request,
    token: str,
    next_page: str,
    *,
    username: str = "",
    status: int = 200,
    refused: TryLater | None = None,
) -> Response:
    error = WRONG if status == 401 else None
    if refused is not None:
        status = refused.http_status
        error = refused.reason
    response = page(
        request,
        "login.html",
        status=status,
        login_csrf=token,
        next_page=next_page,
        username=username,
        error=error,
    )
    if refused is not None:
        response.headers["Retry-After"] = str(refused.retry_after_seconds)
    set_cookie(request, response, LOGIN_COOKIE, token, max_age=3600)
    return response


@router.get("/login")
def login_form(
    request: Request, next_page: Annotated[str, Query(alias="next", max_length=300)] = "/"
) -> Response:
    """The sign-in form (straight on to ``next`` when already signed in)."""
    target = local_path(next_page)
    try:
        authenticate(request)
    except Problem:
        return _login_page(request, secrets.token_urlsafe(24), target)
    return RedirectResponse(target, status_code=303)


@router.post("/login")
def login(request: Request, form: OpenForm) -> Response:
    """Check the username and password; start a session, or a pending password change when
    the password is one-time. A failure says only that the pair is wrong."""
    token = request.cookies.get(LOGIN_COOKIE)
    if not _same(token, text(form, "csrf")):
        raise WebRefusal(
            403,
            "Form refused",
            "The sign-in form expired or was not sent from this site. Reload the page and "
            "sign in again.",
        )
    assert token is not None
    rt = runtime_of(request)
    store = credentials_of(request)
    username = text(form, "username").strip()
    password = text(form, "password")
    target = local_path(text(form, "next") or "/")
    identity = None
    if 0 < len(username) <= USERNAME_MAX and 0 < len(password) <= PASSWORD_MAX:
        try:
            identity = rt.app.users.login(username, password, client_of(request))
        except TryLater as e:
            log.warning("signin.refused", status=e.http_status, wait=round(e.retry_after, 1))
            return _login_page(request, token, target, username=username, refused=e)
        if identity is None:
            log.info("signin.failed")
    if identity is None:
        return _login_page(request, token, target, username=username[:USERNAME_MAX], status=401)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        store.close_session(old)
    if store.must_change(identity.username):
        value, _ = pending_changes(request).open(identity.username)
        response: Response = RedirectResponse("/account/password", status_code=303)
        set_cookie(request, response, PENDING_COOKIE, value, max_age=PENDING_MINUTES * 60)
    else:
        response = RedirectResponse(target, status_code=303)
        _start_session(request, response, store, identity.username)
    clear_cookie(request, response, LOGIN_COOKIE)
    return response


def _start_session(
    request: Request, response: Response, store: CredentialStore, username: str
) -> None:
    value, _ = store.open_session(username)
    hours = runtime_of(request).settings.session_hours
    set_cookie(request, response, SESSION_COOKIE, value, max_age=int(hours * 3600))


@router.post("/logout")
def logout(request: Request, form: OpenForm) -> Response:
    """End the session (or a pending password change)."""
    store = credentials_of(request)
    session_value = request.cookies.get(SESSION_COOKIE)
    session = store.session(session_value) if session_value else None
    pending_value = request.cookies.get(PENDING_COOKIE)
    pending = pending_changes(request).get(pending_value)
    expected = session.csrf if session is not None else (pending.csrf if pending else None)
    if expected is None:
        raise WebRedirect("/login")
    if not _same(expected, text(form, "csrf")):
        raise WebRefusal(
            403, "Form refused", "The form expired; reload the page and sign out again."
        )
    if session_value:
        store.close_session(session_value)
    pending_changes(request).close(pending_value)
    response = RedirectResponse("/login", status_code=303)
    clear_cookie(request, response, SESSION_COOKIE)
    clear_cookie(request, response, PENDING_COOKIE)
    return response


@dataclass(frozen=True)
class _Changer:
    username: str
    csrf: str
    one_time: bool
    pending: bool


def _who_changes(request: Request) -> _Changer:
    pending = pending_changes(request).get(request.cookies.get(PENDING_COOKIE))
    if pending is not None:
        return _Changer(pending.username, pending.csrf, True, True)
    try:
        caller = authenticate(request)
    except Problem:
        raise WebRedirect("/login") from None
    if not caller.via_session or caller.csrf is None:
        raise WebRefusal(403, "Not allowed", "Passwords are changed from a signed-in browser.")
    one_time = credentials_of(request).must_change(caller.username)
    return _Changer(caller.username, caller.csrf, one_time, False)


def _password_page(
    request: Request,
    who: _Changer,
    *,
    error: str | None = None,
    status: int = 200,
    refused: TryLater | None = None,
) -> Response:
    if refused is not None:
        status = refused.http_status
        error = f"{refused.field}: {refused.reason}"
    response = page(
        request,
        "password.html",
        status=status,
        csrf=who.csrf,
        username=who.username,
        one_time=who.one_time,
        pending=who.pending,
        error=error,
    )
    if refused is not None:
        response.headers["Retry-After"] = str(refused.retry_after_seconds)
    return response


@router.get("/account/password")
def password_form(request: Request) -> Response:
    """The form to set a new password (the only page open while the password is one-time)."""
    return _password_page(request, _who_changes(request))


@router.post("/account/password")
def change_password(request: Request, form: OpenForm) -> Response:
    """Set a new password; other sessions of the user end and this browser gets a new one.
    The current password is tried as a sign-in is (throttled, its check bounded)."""
    who = _who_changes(request)
    if not _same(who.csrf, text(form, "csrf")):
        raise WebRefusal(
            403, "Form refused", "The form expired; reload the page. Nothing was changed."
        )
    store = credentials_of(request)
    new = text(form, "new_password")
    problem = None
    try:
        if not who.pending:
            current = text(form, "current_password")
            now = runtime_of(request).app.core.clock.now().timestamp()
            if not (0 < len(current) <= PASSWORD_MAX) or not store.attempt(
                who.username, current, client=client_of(request), now=now
            ):
                return _password_page(request, who, error="current_password: is wrong", status=422)
        if len(new) > PASSWORD_MAX:
            problem = f"new_password: must be at most {PASSWORD_MAX} characters"
        elif new != text(form, "confirm_password"):
            problem = "confirm_password: the two new passwords differ"
        elif store.check_password(who.username, new):
            problem = "new_password: choose a password other than the current one"
    except TryLater as e:
        return _password_page(request, who, refused=e)
    if problem is not None:
        return _password_page(request, who, error=problem, status=422)
    try:
        runtime_of(request).app.users.set_password(
            who.username, new, RequestContext(actor=who.username)
        )
    except ServiceError as e:
        return _password_page(request, who, error=f"{e.field}: {e.reason}", status=422)
    store.end_sessions_of(who.username)
    pending_changes(request).close(request.cookies.get(PENDING_COOKIE))
    response = RedirectResponse("/?ok=password", status_code=303)
    clear_cookie(request, response, PENDING_COOKIE)
    _start_session(request, response, store, who.username)
    return response
