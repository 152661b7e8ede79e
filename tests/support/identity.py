"""Users with proven identities for tests: an account with chosen roles and an API token of
its own, made through the application's own commands on the test's store."""

from __future__ import annotations

from collections.abc import Iterable

from events.users import Role
from services.access import actors
from services.application.context import RequestContext
from services.bootstrap import Runtime, bootstrap
from services.config import Settings

EVERY_ROLE = tuple(Role)


def provision(rt: Runtime, username: str, roles: Iterable[Role | str] = EVERY_ROLE) -> str:
    """Create ``username`` with ``roles`` (as the operator) unless they exist, and return a
    new token of their own (issued by themselves, as `breach login` does)."""
    if rt.app.users.identity(username) is None:
        operator = RequestContext(actor=actors.operating_system_user())
        rt.app.users.add_user(username, list(roles), operator)
    _, token = rt.app.users.issue_token(username, "tests", RequestContext(actor=username))
    return token


def provision_in(
    settings: Settings, username: str, roles: Iterable[Role | str] = EVERY_ROLE
) -> str:
    """:func:`provision` on the store ``settings`` name, through a runtime of its own."""
    rt = bootstrap(settings, configure_logs=False)
    try:
        return provision(rt, username, roles)
    finally:
        rt.close()


def dpo_of(rt: Runtime, ctx: RequestContext) -> RequestContext:
    """``ctx``, its actor made a user in the DPO role first if they are not one (approving a
    campaign takes a DPO, proven by the store, not by a name)."""
    if rt.app.users.identity(ctx.actor) is None:
        operator = RequestContext(actor=actors.operating_system_user())
        rt.app.users.add_user(ctx.actor, [Role.DPO], operator)
    return ctx
