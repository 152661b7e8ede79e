"""Proving who is acting at the command line: ``init`` (the first account), ``login`` (a
password for a token of one's own), ``logout`` and ``whoami``.

``login`` checks the password as the sign-in form does (Argon2id, the same throttle and
bound on checks in flight, counted before the check), then
issues the user a token of their own and keeps it in the token file, readable by the
operating-system user alone; every later command presents it. Nobody can obtain a token
that acts in another person's name.
"""

from __future__ import annotations

import getpass
import os
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

from services.access.permissions import Permission
from services.application.context import RequestContext
from services.application.errors import InvalidInput, NotPermitted
from services.cli.app import app, state_of
from services.cli.guard import needs, operator
from services.cli.output import emit_json, note, say
from services.cli.state import CliState
from services.users.first_admin import FIRST_ADMIN, ensure_first_admin

PASSWORD_MAX = 1024
WRONG = "wrong username or password"
LOCAL_CLIENT = "local"
"""The address the throttle counts command-line sign-ins under (this machine)."""


@app.command()
@operator
def init(ctx: typer.Context) -> None:
    """Create the store and, when it has no users, the first account 'admin' (all roles but
    reporter); prints its one-time password, which `breach login admin` asks you to change."""
    state = state_of(ctx)
    rt = state.runtime
    password = rt.gateway.run(ensure_first_admin, rt.app.users, state.request())
    if password is None:
        note("the store already has users; nothing to do")
        return
    say(f"first account: {FIRST_ADMIN}   one-time password: {password}")
    note(f"shown only now; `breach login {FIRST_ADMIN}` asks you to choose your own")


def _read_secret(prompt: str, from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise InvalidInput("password", "standard input ended before a password was read")
        return line.rstrip("\r\n")
    return getpass.getpass(prompt)


def _save(path: Path, token: str) -> None:
    """Write the token where only this operating-system user can read it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(path.name + ".new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
    temporary.replace(path)


def _retire_saved(state: CliState) -> None:
    """Revoke the token the file holds now, if it is a live one of this store (a new sign-in
    replaces it; tokens should not pile up)."""
    path = state.token_path
    if not path.exists():
        return
    rt = state.runtime
    assert rt.app.credentials is not None
    found = rt.app.credentials.check_token(path.read_text(encoding="utf-8").strip())
    if found is not None:
        owner, token_id = found
        rt.app.users.revoke_token(owner, token_id, RequestContext(actor=owner))


@app.command()
@operator
def login(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Your username.")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from the first line of standard input (and, when it is "
            "one-time, the new password from the second and its confirmation from the third).",
        ),
    ] = False,
    print_token: Annotated[
        bool,
        typer.Option(
            "--print-token",
            help="Print the new token (for BREACH_TOKEN or a tool) instead of keeping it in "
            "the token file.",
        ),
    ] = False,
    name: Annotated[
        str | None,
        typer.Option("--name", help="What the token is for (default: 'cli on <host>')."),
    ] = None,
) -> None:
    """Sign in with your password: issues you an API token and keeps it in the token file
    (mode 600), so later commands act as you. A one-time password must be replaced first."""
    state = state_of(ctx)
    rt = state.runtime
    store = rt.app.credentials
    assert store is not None
    password = _read_secret("password: ", password_stdin)
    if not (0 < len(username) <= 64 and 0 < len(password) <= PASSWORD_MAX):
        raise NotPermitted("password", WRONG)
    identity = rt.app.users.login(username, password, client=LOCAL_CLIENT)
    if identity is None:
        raise NotPermitted("password", WRONG)
    self_ctx = RequestContext(actor=identity.username)
    if store.must_change(identity.username):
        if not password_stdin:
            note("your password is one-time: choose your own (at least 12 characters)")
        new = _read_secret("new password: ", password_stdin)
        if new != _read_secret("new password again: ", password_stdin):
            raise InvalidInput("new_password", "the two new passwords differ")
        if new == password:
            raise InvalidInput("new_password", "choose a password other than the current one")
        rt.app.users.set_password(identity.username, new, self_ctx)
    label = name or f"cli on {socket.gethostname()}"[:80]
    if not print_token:
        _retire_saved(state)
    _, token = rt.gateway.run(rt.app.users.issue_token, identity.username, label, self_ctx)
    if print_token:
        typer.echo(token)
        return
    _save(state.token_path, token)
    roles = ", ".join(sorted(r.value for r in identity.roles))
    say(f"signed in as {identity.username} ({roles})")
    note(f"your token is kept in {state.token_path}; `breach logout` revokes it")


@app.command()
@needs(Permission.ACCOUNT_SELF)
def logout(ctx: typer.Context) -> None:
    """Revoke the token this command presents and, when it came from the token file,
    delete the file."""
    state = state_of(ctx)
    rt = state.runtime
    assert rt.app.credentials is not None
    assert state.caller is not None
    token = state.presented_token()
    found = rt.app.credentials.check_token(token or "")
    if found is not None:
        rt.gateway.run(rt.app.users.revoke_token, state.caller.username, found[1], state.request())
    if state.settings.token is None:
        state.token_path.unlink(missing_ok=True)
    say(f"signed out {state.caller.username}")


@app.command()
@needs(Permission.ACCOUNT_SELF)
def whoami(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Who the presented token proves you are, with your roles and permissions."""
    state = state_of(ctx)
    assert state.caller is not None
    roles = sorted(r.value for r in state.caller.roles)
    permissions = sorted(p.value for p in state.permissions)
    if as_json:
        emit_json({"username": state.caller.username, "roles": roles, "permissions": permissions})
        return
    say(f"{state.caller.username} ({', '.join(roles)})")
