"""The first account of a new deployment, so someone can sign in at all."""

from __future__ import annotations

from events.users import Role
from services.application.context import RequestContext
from services.users.handlers import UserHandlers

FIRST_ADMIN = "admin"
FIRST_ADMIN_ROLES = (Role.ADMIN, Role.RESPONDER, Role.DPO, Role.AUDITOR)
"""The first account may do everything but report-only work: it is there to set up the
team's own accounts (each with only the roles its holder needs) and to try the product."""


def ensure_first_admin(app: UserHandlers, ctx: RequestContext) -> str | None:
    """Create the first account when there are no users; return its one-time password
    (None when users exist already). ``ctx`` is the operator's (``os:<login>``)."""
    if app.list_users():
        return None
    _, password = app.add_user(FIRST_ADMIN, FIRST_ADMIN_ROLES, ctx)
    return password
