"""Who is using the dashboard and what they may do: the signed-in caller (or a redirect to
the sign-in page), the CSRF check every form passes first, and the permission table of
:mod:`services.access.permissions` enforced on the server for every page and change.

A form's body is read only once its session has been found: without one, the browser is
sent to the sign-in page and the body is left unread (and, being a request without
credentials, held to the small anonymous body limit of :mod:`services.http.limits`)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote
from uuid import UUID

from fastapi import Depends, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from services.access.permissions import Permission
from services.application.context import RequestContext
from services.http.auth import Caller, authenticate, check_csrf
from services.http.problems import Problem
from services.http.requests import context
from services.http.runtime import runtime_of

PENDING_COOKIE = "breach_password_change"
"""The cookie of a sign-in with a one-time password that still needs a new password."""


class WebRedirect(Exception):
    """Send the browser elsewhere (303 See Other)."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class WebRefusal(Exception):
    """Refuse a page or a form with an HTML error page; nothing is recorded."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail


async def posted_form(request: Request) -> FormData:
    """The form of a signed-in user: the session is checked first (a redirect to the
    sign-in page otherwise), then the form is read, before the route runs in its worker
    thread."""
    await run_in_threadpool(signed_in, request)
    return await request.form()


async def open_form(request: Request) -> FormData:
    """A form sent before there is a session (signing in, a pending password change, signing
    out): read as it is, its body bounded by the limit of the caller's credentials."""
    return await request.form()


Posted = Annotated[FormData, Depends(posted_form)]
OpenForm = Annotated[FormData, Depends(open_form)]


def local_path(path: str) -> str:
    """``path`` if it is a path on this site, else the board (no open redirects)."""
    if path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return "/"


def signed_in(request: Request) -> Caller:
    """The caller of a page or form; without a live session, a redirect to the sign-in page
    (and on to the password page while the user's password is one-time). Checked once per
    request."""
    checked = getattr(request.state, "signed_in", None)
    if isinstance(checked, Caller):
        return checked
    try:
        caller = authenticate(request)
    except Problem:
        pending = getattr(request.app.state, "web_pending", None)
        if pending is not None and pending.get(request.cookies.get(PENDING_COOKIE)) is not None:
            raise WebRedirect("/account/password") from None
        target = request.url.path if request.method == "GET" else "/"
        suffix = f"?next={quote(target, safe='/')}" if target not in ("/", "/login") else ""
        raise WebRedirect(f"/login{suffix}") from None
    credentials = runtime_of(request).app.credentials
    if caller.via_session and credentials is not None and credentials.must_change(caller.username):
        raise WebRedirect("/account/password")
    request.state.signed_in = caller
    return caller


def forbidden(caller: Caller, needed: tuple[Permission, ...]) -> WebRefusal:
    """The refusal of a caller who holds none of ``needed``."""
    wanted = " or ".join(p.value for p in needed)
    return WebRefusal(403, "Not allowed", f"{caller.username} may not do this ({wanted}).")


def need(caller: Caller, *needed: Permission) -> None:
    """Refuse (403) a caller holding none of ``needed``."""
    if not any(caller.may(p) for p in needed):
        raise forbidden(caller, needed)


def viewer(request: Request, *needed: Permission) -> Caller:
    """The signed-in caller of a page, who must hold one of ``needed`` (when given)."""
    caller = signed_in(request)
    if needed:
        need(caller, *needed)
    return caller


def changer(request: Request, form: FormData, *needed: Permission) -> Caller:
    """The caller of a form: signed in, the session's CSRF token in the form (checked
    before anything else), and holding one of ``needed``."""
    caller = signed_in(request)
    submitted = form.get("csrf")
    try:
        check_csrf(caller, submitted if isinstance(submitted, str) else None)
    except Problem:
        raise WebRefusal(
            403,
            "Form refused",
            "This form was not sent from a page of this site, or it expired. Reload the page "
            "and try again; nothing was recorded.",
        ) from None
    if needed:
        need(caller, *needed)
    return caller


def text(form: FormData, name: str) -> str:
    """A text field of the form ('' when absent; uploads are not text)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def texts(form: FormData, name: str) -> list[str]:
    """Every value of a repeated field (checkboxes, rows)."""
    return [v for v in form.getlist(name) if isinstance(v, str)]


def version_of(form: FormData) -> int | None:
    """The ``version`` a form was rendered with (None when the form has none)."""
    raw = text(form, "version").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 12:
        raise WebRefusal(400, "Bad form", "The form's version field is not a number.")
    return int(raw)


def request_context(
    request: Request, caller: Caller, target: UUID | None = None, version: int | None = None
) -> RequestContext:
    """The context of a change: the caller is the actor; ``version`` of ``target`` is the
    one the form was rendered with (a stale one is refused with 412)."""
    try:
        return context(request, caller, target, version)
    except Problem as e:
        raise WebRefusal(e.status, e.title, e.detail) from None


def parse_id(value: str, what: str = "incident") -> UUID:
    """A UUID from a path segment (404 when it is not one)."""
    try:
        return UUID(value)
    except ValueError:
        raise WebRefusal(404, "Not found", f"There is no such {what}.") from None


def set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int | None = None
) -> None:
    """Set an HttpOnly, SameSite=Strict cookie on ``/`` (Secure unless configured off)."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=runtime_of(request).settings.http_secure_cookies,
    )


def clear_cookie(request: Request, response: Response, name: str) -> None:
    """Remove a cookie set by :func:`set_cookie`."""
    response.delete_cookie(
        name,
        path="/",
        httponly=True,
        samesite="strict",
        secure=runtime_of(request).settings.http_secure_cookies,
    )
