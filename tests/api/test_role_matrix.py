"""The role x endpoint matrix: every API route, called by a user of each role, is either
allowed (anything but 401/403) or refused with 403 — exactly as the roles promise.

The expectations are the hand-written matrix of :mod:`tests.support.access_matrix` (the CLI
and the dashboard are walked against the same one), independent of the permission table, so
a change to either that grants or withdraws a power shows up as a failure; a route without
an entry fails too.
"""

from __future__ import annotations

from typing import Any

from tests.api.conftest import ROLES, Api
from tests.support.access_matrix import API_SIGNED, allowed, listed


def routes(api: Api) -> set[tuple[str, str]]:
    """Every (method, path) the API documents, without the /api/v1 prefix."""
    paths = api.client.get("/api/v1/openapi.json").json()["paths"]
    return {
        (method.upper(), path.removeprefix("/api/v1"))
        for path, operations in paths.items()
        if path.startswith("/api/v1")
        for method in operations
    }


def fixtures(api: Api) -> dict[str, str]:
    """Real ids to put in paths: the reporter's own incident (triaged, so it has tasks), a
    drafted campaign, a playbook."""
    incident = api.report("reporter", title="Lost badge")["id"]
    triaged = api.call(
        "responder",
        "POST",
        f"/api/v1/incidents/{incident}/triage",
        json={
            "severity": "high",
            "personal_data_breach": "yes",
            "incident_type": "lost_or_stolen_device",
        },
    )
    assert triaged.status_code == 200, triaged.text
    tasks = api.call("auditor", "GET", "/api/v1/tasks", params={"incident": incident}).json()
    campaign = api.call(
        "responder",
        "POST",
        f"/api/v1/incidents/{incident}/campaigns",
        json={
            "audience": "authority",
            "nature": "A badge was lost.",
            "consequences": "None known.",
            "measures": "Badge revoked.",
            "recipients": [{"name": "BfDI", "email": "poststelle@bfdi.example.org"}],
        },
    )
    assert campaign.status_code == 201, campaign.text
    playbooks = api.call("auditor", "GET", "/api/v1/playbooks").json()
    first = playbooks["items"][0]
    return {
        "incident_id": incident,
        "task_id": tasks["items"][0]["task_id"],
        "campaign_id": campaign.json()["campaign_id"],
        "playbook_id": first["id"],
        "obligation_id": "gdpr/art33",
        "notice_id": "00000000-0000-4000-8000-000000000000",
        "ref": "1",
        "username": "target",
        "token_id": "0000000000000000",
        "webhook_id": "00000000-0000-4000-8000-000000000001",
        "alert_id": "00000000-0000-4000-8000-000000000000",
        "shift_id": "no-such-shift",
    }


def request_for(method: str, path: str, ids: dict[str, str]) -> dict[str, Any]:
    """Arguments of a plausible request to the route (bodies may be refused as invalid:
    the matrix only cares whether the role is let in)."""
    if path.endswith("/people") and method == "POST":
        return {"content": b"email,name\n", "headers": {"Content-Type": "text/csv"}}
    if path == "/audit/bundle/verify":
        return {"content": b"PK", "headers": {"Content-Type": "application/zip"}}
    if path.endswith(("/replay", "/diff")) or path == "/replay":
        return {"params": {"at": "now", "from": "now", "to": "now"}}
    if method in ("POST", "PUT", "PATCH"):
        return {"json": {}}
    return {}


def test_every_route_has_an_expectation(api: Api) -> None:
    """The matrix covers exactly the routes the API documents."""
    assert routes(api) == listed("api") | API_SIGNED


def test_each_role_is_allowed_or_refused_exactly_as_promised(api: Api) -> None:
    """For every route and role: allowed roles get past authorisation, others get 403."""
    api.call("admin", "POST", "/api/v1/users", json={"username": "target", "roles": ["reporter"]})
    ids = fixtures(api)
    wrong: list[str] = []
    for method, template in sorted(listed("api")):  # type: ignore[type-var]
        roles = allowed("api", (method, template))
        path = "/api/v1" + template.format(**ids)
        for role in ROLES:
            if (method, template) == ("DELETE", "/me/tokens/{token_id}"):
                path = "/api/v1/me/tokens/" + api.fresh_token_id(role)
            r = api.call(role, method, path, **request_for(method, template, ids))
            refused = r.status_code == 403
            if r.status_code == 401 or refused == (role in roles):
                wrong.append(f"{method} {template} as {role}: {r.status_code} {r.text[:120]}")
    assert not wrong, "\n".join(wrong)


def test_a_reporter_is_refused_what_others_reported(api: Api) -> None:
    """Read-own means own: another's incident, timeline and assessment are 403 to a
    reporter, while its reporter reads them."""
    theirs = api.report("responder", title="Server room door")["id"]
    for suffix in ("", "/timeline", "/assessment"):
        path = f"/api/v1/incidents/{theirs}{suffix}"
        assert api.call("reporter", "GET", path).status_code == 403, suffix
        assert api.call("responder", "GET", path).status_code != 403, suffix
