"""The role x page matrix of the dashboard: every page and form, used by a user of each role,
is let in or refused (403) exactly as the hand-written matrix of
:mod:`tests.support.access_matrix` promises: the one the API and the CLI are walked against,
so the three faces cannot drift apart; a route nobody listed fails too."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from fastapi.routing import APIRoute

from services.application.context import RequestContext
from services.web.setup import routers
from tests.support.access_matrix import WEB_PUBLIC, allowed, listed
from tests.web.conftest import ROLES, SETUP, Web


def dashboard_routes() -> set[tuple[str, str]]:
    """Every (method, path) of the dashboard."""
    return {
        (method, route.path)
        for router in routers()
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }


def _matches(route: tuple[str, str], entry: object) -> bool:
    """Whether a listed (method, path) is served by ``route`` (whose last segment may be a
    ``{action}`` the path names)."""
    assert isinstance(entry, tuple)
    method, template = route
    pattern = re.sub(r"\\\{action\\\}$", "[a-z]+", re.escape(template))
    return entry[0] == method and re.fullmatch(pattern, entry[1]) is not None


def test_every_dashboard_route_has_an_expectation() -> None:
    """The matrix covers exactly the dashboard's routes: every route serves a listed entry
    and every entry is served by a route."""
    routes = dashboard_routes()
    entries = listed("web") | WEB_PUBLIC
    assert {r for r in routes if not any(_matches(r, e) for e in entries)} == set()
    assert {e for e in entries if not any(_matches(r, e) for r in routes)} == set()


def _ids(web: Web) -> dict[str, Any]:
    """The reporter's own incident (triaged, so it has tasks) with a drafted campaign, and
    an alert id no alert has and a webhook id no subscription has (acting on them is let
    past the permission check, then not found)."""
    incident = web.report("reporter")
    responder = RequestContext(actor="responder")
    web.rt.app.incidents.triage_incident(
        incident,
        {
            "severity": "high",
            "personal_data_breach": "yes",
            "incident_type": "lost_or_stolen_device",
        },
        responder,
    )
    web.rt.settle()
    task = web.rt.tasks.rows(web.clock.now(), incident_id=incident)[0]["task_id"]
    campaign = web.rt.app.notifications.draft_campaign(
        incident,
        {
            "audience": "authority",
            "recipients": [{"name": "DPA", "email": "dpa@example.org"}],
            "nature": "A laptop was stolen.",
            "consequences": "None known.",
            "measures": "Disk encrypted; access revoked.",
        },
        responder,
    )
    web.rt.settle()
    web.rt.app.users.add_user("target", ["auditor"], SETUP, service=True)
    return {
        "incident_id": incident,
        "task_id": task,
        "campaign_id": campaign.id,
        "username": "target",
        "message_id:path": "none@example.org",
        "alert_id": UUID(int=1),
        "webhook_id": UUID(int=2),
    }


def _refused(method: str, status: int, location: str | None) -> bool:
    """A page is refused with 403, or (the board, for someone who reads no incident) sent
    on to another page; a form is refused with 403."""
    if method == "GET" and status == 303 and location is not None:
        return not location.startswith("/login")
    return status == 403


def test_each_role_is_let_in_or_refused_exactly_as_promised(web: Web) -> None:
    """For every dashboard route and role: allowed roles get past the permission check,
    others are refused."""
    ids = _ids(web)
    browsers = {role: web.sign_in(role) for role in ROLES}
    wrong: list[str] = []
    for method, template in sorted(listed("web")):  # type: ignore[type-var]
        roles = allowed("web", (method, template))
        path = template
        for key, value in ids.items():
            path = path.replace("{" + key + "}", str(value))
        for role in ROLES:
            browser = browsers[role]
            if method == "GET":
                r = browser.client.get(path, follow_redirects=False)
            else:
                browser.get("/account/password")
                r = browser.post(path, {})
            location = r.headers.get("location")
            if location is not None and location.startswith("/login"):
                wrong.append(f"{method} {template} as {role}: signed out ({r.status_code})")
            elif _refused(method, r.status_code, location) == (role in roles):
                wrong.append(f"{method} {template} as {role}: {r.status_code} {r.text[:120]}")
    assert not wrong, "\n".join(wrong)
