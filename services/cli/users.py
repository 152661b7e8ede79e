"""User commands for admins: add, list, role, token, revoke, password, disable, enable; and
set (a user's email address and alert language), for the user themselves or an admin.

They need the users.admin permission of a signed-in user (``breach login``), recorded as the
actor. Tokens are issued only to their owner (``breach login --print-token``) or, by an
admin, to a service account.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from events.users import Role, User
from services.access.permissions import Permission
from services.application.errors import InvalidInput
from services.cli.app import app, state_of
from services.cli.guard import needs
from services.cli.output import emit_json, emit_table, note, say

users_app = typer.Typer(
    help=(
        "Users of the web UI and the API, their roles and API tokens. Roles: reporter "
        "(report, read own), responder (incidents, tasks, campaigns), dpo (assessment, "
        "decisions, campaign approval, data-subject rights), auditor (read everything, replay, "
        "export; change nothing), admin (users and tokens)."
    ),
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")

NameArg = Annotated[str, typer.Argument(help="Username (letters, digits, . _ -).")]
RolesOpt = Annotated[list[Role], typer.Option("--role", "-r", help="A role (repeat for several).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _doc(user: User) -> dict[str, Any]:
    return {
        "username": user.state.username,
        "roles": [r.value for r in user.state.roles],
        "disabled": user.state.disabled,
        "service": user.state.service,
        "tokens": [{"token_id": k, "name": v} for k, v in sorted(user.state.tokens.items())],
        "email_set": user.state.has_email,
        "language": user.state.language,
    }


@users_app.command("list")
@needs(Permission.USERS_ADMIN)
def list_users(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List users with their roles and token names."""
    users = [_doc(u) for u in state_of(ctx).runtime.app.users.list_users()]
    if as_json:
        emit_json(users)
        return
    rows = [
        {
            **u,
            "roles": ", ".join(u["roles"]),
            "state": ("disabled" if u["disabled"] else "active")
            + (", service account" if u["service"] else ""),
            "tokens": ", ".join(f"{t['name']} ({t['token_id']})" for t in u["tokens"]) or "-",
        }
        for u in users
    ]
    emit_table(
        rows, [("username", "User"), ("roles", "Roles"), ("state", "State"), ("tokens", "Tokens")]
    )


@users_app.command("add")
@needs(Permission.USERS_ADMIN)
def add(
    ctx: typer.Context,
    username: NameArg,
    roles: RolesOpt,
    service: Annotated[
        bool,
        typer.Option(
            "--service",
            help="A service account (a tool's): no password, only tokens an admin issues "
            "(`breach users token`); it may not hold the dpo role.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add a user; prints a one-time password (shown only now; changed at first sign-in)."""
    state = state_of(ctx)
    user, password = state.runtime.gateway.run(
        state.runtime.app.users.add_user, username, roles, state.request(), service=service
    )
    if as_json:
        emit_json({**_doc(user), "one_time_password": password})
        return
    say(f"added {user.state.username} ({', '.join(r.value for r in user.state.roles)})")
    if password is None:
        note(f"a service account: issue it a token with `breach users token {username}`")
        return
    say(f"one-time password: {password}")
    note("it is shown only now; the user chooses a new one at first sign-in")


@users_app.command("role")
@needs(Permission.USERS_ADMIN)
def role(ctx: typer.Context, username: NameArg, roles: RolesOpt, as_json: JsonOpt = False) -> None:
    """Replace a user's roles."""
    state = state_of(ctx)
    user = state.runtime.gateway.run(
        state.runtime.app.users.set_roles, username, roles, state.request()
    )
    if as_json:
        emit_json(_doc(user))
    else:
        say(f"{user.state.username}: {', '.join(r.value for r in user.state.roles)}")


@users_app.command("set")
@needs(Permission.ACCOUNT_SELF)
def set_contact(
    ctx: typer.Context,
    username: NameArg,
    email: Annotated[
        str | None, typer.Option("--email", help="The address alert emails go to.")
    ] = None,
    no_email: Annotated[
        bool, typer.Option("--no-email", help="Remove the address (no alert emails).")
    ] = False,
    language: Annotated[
        str | None,
        typer.Option("--language", help="The language of alert emails: en or zh-CN."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Set or remove a user's email address and set their alert language (yourself, or
    anyone as an admin); an option left out leaves its value as it is. The address is kept
    sealed beside the log, which records only that it was set or removed."""
    if email is not None and no_email:
        raise InvalidInput("email", "give --email or --no-email, not both")
    change: dict[str, Any] = {}
    if email is not None or no_email:
        change["email"] = email
    if language is not None:
        change["language"] = language
    state = state_of(ctx)
    users = state.runtime.app.users
    user = state.runtime.gateway.run(users.set_contact, username, change, state.request())
    if as_json:
        emit_json({**_doc(user), "email": users.email_of(user)})
        return
    told = "an email address" if user.state.has_email else "no email address"
    say(f"{user.state.username}: {told}, alerts in {user.state.language}")


@users_app.command("token")
@needs(Permission.USERS_ADMIN)
def token(
    ctx: typer.Context,
    username: NameArg,
    name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "api",
    as_json: JsonOpt = False,
) -> None:
    """Issue an API token to a service account (send it as 'Authorization: Bearer
    <token>'); shown only now. Your own tokens come from `breach login --print-token`."""
    state = state_of(ctx)
    user, issued = state.runtime.gateway.run(
        state.runtime.app.users.issue_token, username, name, state.request()
    )
    if as_json:
        emit_json({**_doc(user), "token": issued})
        return
    say(issued)
    note("the token is shown only now; the ledger keeps only its hash")


@users_app.command("revoke")
@needs(Permission.USERS_ADMIN)
def revoke(ctx: typer.Context, username: NameArg, token_id: str) -> None:
    """Revoke an API token at once (its id is in `breach users list`)."""
    state = state_of(ctx)
    state.runtime.gateway.run(
        state.runtime.app.users.revoke_token, username, token_id, state.request()
    )
    say(f"revoked token {token_id} of {username}")


@users_app.command("password")
@needs(Permission.USERS_ADMIN)
def password(ctx: typer.Context, username: NameArg) -> None:
    """Reset a user's password: prints a new one-time password (changed at next sign-in)."""
    import secrets

    state = state_of(ctx)
    new = secrets.token_urlsafe(12)
    state.runtime.gateway.run(
        state.runtime.app.users.set_password, username, new, state.request(), one_time=True
    )
    say(f"one-time password for {username}: {new}")


@users_app.command("disable")
@needs(Permission.USERS_ADMIN)
def disable(
    ctx: typer.Context,
    username: NameArg,
    reason: Annotated[str, typer.Option(help="Why (required).")],
) -> None:
    """Disable a user: their sessions end and their tokens stop working at once."""
    state = state_of(ctx)
    state.runtime.gateway.run(
        state.runtime.app.users.disable_user, username, reason, state.request()
    )
    say(f"disabled {username}")


@users_app.command("enable")
@needs(Permission.USERS_ADMIN)
def enable(ctx: typer.Context, username: NameArg) -> None:
    """Enable a disabled user."""
    state = state_of(ctx)
    state.runtime.gateway.run(state.runtime.app.users.enable_user, username, state.request())
    say(f"enabled {username}")
