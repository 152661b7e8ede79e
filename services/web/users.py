"""Users, for admins: add a user (the one-time password is shown once) or a service account,
change roles, reset a password to a new one-time one, issue a service account's API tokens
(shown once) and revoke anyone's, disable, enable."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from events.users import Role, User
from services.access.permissions import Permission
from services.application.context import RequestContext
from services.application.errors import ServiceError
from services.bootstrap import Runtime
from services.http.auth import Caller
from services.http.runtime import runtime_of
from services.web.access import (
    Posted,
    changer,
    request_context,
    text,
    texts,
    version_of,
    viewer,
)
from services.web.incident import STALE
from services.web.render import page

router = APIRouter(include_in_schema=False)

ADMIN = Permission.USERS_ADMIN


def users_page(
    request: Request,
    caller: Caller,
    *,
    error: str | None = None,
    status: int = 200,
    secret: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    """The users page (with a secret to show once, or a refusal)."""
    rt = runtime_of(request)
    return page(
        request,
        "users.html",
        caller=caller,
        status=status,
        error=error,
        users=rt.app.users.list_users(),
        roles=[r.value for r in Role],
        secret=secret,
        values=values or {"username": "", "roles": [], "service": False},
    )


@router.get("/users")
def users(request: Request) -> Response:
    """Every user, with their roles, state and token names."""
    return users_page(request, viewer(request, ADMIN))


@router.post("/users")
def add_user(request: Request, form: Posted) -> Response:
    """Create a user and show their one-time password once."""
    caller = changer(request, form, ADMIN)
    rt = runtime_of(request)
    username = text(form, "username").strip()
    roles = texts(form, "roles")
    service = text(form, "service") == "yes"
    try:
        user, password = rt.gateway.run(
            rt.app.users.add_user,
            username,
            roles,
            request_context(request, caller),
            service=service,
        )
    except ServiceError as e:
        return users_page(
            request,
            caller,
            error=f"{e.field}: {e.reason}",
            status=e.http_status,
            values={"username": username, "roles": roles, "service": service},
        )
    if password is None:
        return RedirectResponse("/users?ok=service", status_code=303)
    secret = {
        "what": "one-time password",
        "username": user.state.username,
        "value": password,
        "note": "Hand it over in person; it is shown only now and must be changed at the "
        "first sign-in.",
    }
    return users_page(request, caller, secret=secret)


def _reset(
    rt: Runtime, name: str, form: FormData, ctx: RequestContext
) -> tuple[User, dict[str, str] | None]:
    password = secrets.token_urlsafe(12)
    user = rt.app.users.set_password(name, password, ctx, one_time=True)
    return user, {
        "what": "one-time password",
        "username": name,
        "value": password,
        "note": "Shown only now; their sessions ended and they must change it at the next sign-in.",
    }


def _token(
    rt: Runtime, name: str, form: FormData, ctx: RequestContext
) -> tuple[User, dict[str, str] | None]:
    user, token = rt.app.users.issue_token(name, text(form, "name").strip(), ctx)
    return user, {
        "what": "API token",
        "username": name,
        "value": token,
        "note": "Shown only now; the ledger keeps only its hash.",
    }


UserStep = Callable[[Runtime, str, FormData, RequestContext], tuple[User, dict[str, str] | None]]

USER_STEPS: dict[str, UserStep] = {
    "roles": lambda rt, n, f, c: (rt.app.users.set_roles(n, texts(f, "roles"), c), None),
    "password": _reset,
    "token": _token,
    "revoke": lambda rt, n, f, c: (rt.app.users.revoke_token(n, text(f, "token_id"), c), None),
    "disable": lambda rt, n, f, c: (rt.app.users.disable_user(n, text(f, "reason"), c), None),
    "enable": lambda rt, n, f, c: (rt.app.users.enable_user(n, c), None),
}
"""Each user action's command; some answer a secret to show once."""

VERSIONED = frozenset({"roles", "disable", "enable"})
"""Actions guarded by the version the page showed (the others change the credential store
first, so they are not refused after the fact)."""


@router.post("/users/{username}/{action}")
def user_action(request: Request, username: str, action: str, form: Posted) -> Response:
    """Change a user: roles, password reset, tokens, disable, enable."""
    caller = changer(request, form, ADMIN)
    step = USER_STEPS.get(action)
    if step is None:
        return users_page(request, caller, error="action: no such user action", status=404)
    rt = runtime_of(request)
    try:
        target = rt.app.users.get_user(username).id
        version = version_of(form) if action in VERSIONED else None
        ctx = request_context(request, caller, target, version)
        _, secret = rt.gateway.run(step, rt, username, form, ctx)
    except ServiceError as e:
        status = e.http_status
        message = STALE if status == 412 else f"{e.field}: {e.reason}"
        return users_page(request, caller, error=message, status=status)
    if secret is not None:
        return users_page(request, caller, secret=secret)
    return RedirectResponse("/users?ok=user", status_code=303)
