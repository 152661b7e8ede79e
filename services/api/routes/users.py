"""Users, roles and API tokens (admin), and the caller's own identity and tokens.

A token speaks for its owner: everyone issues and revokes their own (``/me/tokens``); an
admin issues tokens only to service accounts and may revoke anyone's (the command decides).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from events.users import User
from services.access.permissions import Permission
from services.application.fields import Line
from services.http.auth import Caller, require
from services.http.requests import context, tag
from services.http.runtime import runtime_of
from services.users.commands import SetContact
from services.users.handlers import TokenName

router = APIRouter(tags=["users"])

Admin = Annotated[Caller, Depends(require(Permission.USERS_ADMIN))]
Anyone = Annotated[Caller, Depends(require(Permission.ACCOUNT_SELF))]


class NewUser(BaseModel):
    """A user to create."""

    model_config = ConfigDict(extra="forbid")

    username: str
    roles: list[str] = Field(min_length=1)
    service: bool = False
    """A service account: a tool's, with no password, signing in only with tokens an admin
    issues to it; it may hold no role that opens people's data."""


class Roles(BaseModel):
    """A user's new roles (they replace the old)."""

    model_config = ConfigDict(extra="forbid")

    roles: list[str] = Field(min_length=1)


class NewToken(BaseModel):
    """A token to issue."""

    model_config = ConfigDict(extra="forbid")

    name: TokenName


class Reason(BaseModel):
    """Why."""

    model_config = ConfigDict(extra="forbid")

    reason: Line


class NewPassword(BaseModel):
    """A new password (at least 12 characters)."""

    model_config = ConfigDict(extra="forbid")

    password: str = Field(max_length=1024)


def user_document(user: User) -> dict[str, Any]:
    """A user as JSON: name, roles, state and token names (never secrets)."""
    return {
        "username": user.state.username,
        "roles": [r.value for r in user.state.roles],
        "disabled": user.state.disabled,
        "service": user.state.service,
        "tokens": [{"token_id": k, "name": v} for k, v in sorted(user.state.tokens.items())],
        "email_set": user.state.has_email,
        "language": user.state.language,
        "version": user.version,
        "created_at": user.created_on.isoformat(),
    }


def _answer(response: Response, user: User) -> dict[str, Any]:
    tag(response, user.version)
    return user_document(user)


@router.get("/me", summary="Who am I")
def me(caller: Anyone) -> Any:
    """The caller's username, roles and permissions."""
    return {
        "username": caller.username,
        "roles": sorted(r.value for r in caller.identity.roles),
        "permissions": sorted(p.value for p in caller.permissions),
    }


@router.post("/me/tokens", status_code=201, summary="Issue myself an API token")
def issue_own_token(body: NewToken, request: Request, response: Response, caller: Anyone) -> Any:
    """Issue the caller a token of their own; it is in this answer only."""
    user, token = runtime_of(request).app.users.issue_token(
        caller.username, body.name, context(request, caller)
    )
    return {**_answer(response, user), "token": token}


@router.delete("/me/tokens/{token_id}", summary="Revoke one of my API tokens")
def revoke_own_token(token_id: str, request: Request, response: Response, caller: Anyone) -> Any:
    """Revoke one of the caller's own tokens at once."""
    app = runtime_of(request).app
    return _answer(
        response, app.users.revoke_token(caller.username, token_id, context(request, caller))
    )


@router.get("/users", summary="Users")
def list_users(request: Request, caller: Admin) -> Any:
    """Every user, in name order."""
    return {"items": [user_document(u) for u in runtime_of(request).app.users.list_users()]}


@router.post("/users", status_code=201, summary="Add a user")
def add_user(body: NewUser, request: Request, response: Response, caller: Admin) -> Any:
    """Create a user; the answer holds a one-time password, shown only here (null for a
    service account, which has none: issue it a token)."""
    user, password = runtime_of(request).app.users.add_user(
        body.username, body.roles, context(request, caller), service=body.service
    )
    response.headers["Location"] = f"/api/v1/users/{user.state.username}"
    return {**_answer(response, user), "one_time_password": password}


@router.get("/users/{username}", summary="A user")
def show_user(username: str, request: Request, response: Response, caller: Admin) -> Any:
    """A user's roles, state and token names."""
    return _answer(response, runtime_of(request).app.users.get_user(username))


@router.patch("/users/{username}", summary="Set a user's email address and language")
def set_contact(
    username: str, body: SetContact, request: Request, response: Response, caller: Anyone
) -> Any:
    """Set (``email``: an address) or remove (``email``: null) the address alert emails go
    to, and set the ``language`` they are written in (en or zh-CN); a field left out is
    unchanged. The user themselves or an admin; the answer holds the address."""
    users = runtime_of(request).app.users
    target = users.get_user(username).id
    user = users.set_contact(username, body, context(request, caller, target))
    return {**_answer(response, user), "email": users.email_of(user)}


@router.put("/users/{username}/roles", summary="Set a user's roles")
def set_roles(
    username: str, body: Roles, request: Request, response: Response, caller: Admin
) -> Any:
    """Replace the user's roles."""
    app = runtime_of(request).app
    target = app.users.get_user(username).id
    return _answer(
        response, app.users.set_roles(username, body.roles, context(request, caller, target))
    )


@router.post("/users/{username}/password", summary="Set a user's password")
def set_password(
    username: str, body: NewPassword, request: Request, response: Response, caller: Admin
) -> Any:
    """Set a new password (at least 12 characters); the user must change it at their next
    sign-in."""
    app = runtime_of(request).app
    ctx = context(request, caller)
    return _answer(response, app.users.set_password(username, body.password, ctx, one_time=True))


@router.post("/users/{username}/tokens", status_code=201, summary="Issue an API token")
def issue_token(
    username: str, body: NewToken, request: Request, response: Response, caller: Admin
) -> Any:
    """Issue a token to a service account (to oneself: ``POST /me/tokens``); it is in this
    answer only (the ledger keeps its hash)."""
    user, token = runtime_of(request).app.users.issue_token(
        username, body.name, context(request, caller)
    )
    return {**_answer(response, user), "token": token}


@router.delete("/users/{username}/tokens/{token_id}", summary="Revoke an API token")
def revoke_token(
    username: str, token_id: str, request: Request, response: Response, caller: Admin
) -> Any:
    """Revoke a token at once."""
    app = runtime_of(request).app
    return _answer(response, app.users.revoke_token(username, token_id, context(request, caller)))


@router.post("/users/{username}/disable", summary="Disable a user")
def disable(
    username: str, body: Reason, request: Request, response: Response, caller: Admin
) -> Any:
    """Disable a user: their sessions end and their tokens stop working."""
    app = runtime_of(request).app
    target = app.users.get_user(username).id
    return _answer(
        response, app.users.disable_user(username, body.reason, context(request, caller, target))
    )


@router.post("/users/{username}/enable", summary="Enable a user")
def enable(username: str, request: Request, response: Response, caller: Admin) -> Any:
    """Enable a disabled user."""
    app = runtime_of(request).app
    target = app.users.get_user(username).id
    return _answer(response, app.users.enable_user(username, context(request, caller, target)))
