"""The role x endpoint matrix: every API route, called by a user of each role, is either
allowed (anything but 401/403) or refused with 403 — exactly as the roles promise.

The expectations are written out here, independently of the permission table, so a change
to either that grants or withdraws a power shows up as a failure; a route without an entry
fails too.
"""

from __future__ import annotations

from typing import Any

from tests.api.conftest import ROLES, Api

R, S, D, A, M = "reporter", "responder", "dpo", "auditor", "admin"
EVERYONE = {R, S, D, A, M}
READERS = {S, D, A}

EXPECTED: dict[tuple[str, str], set[str]] = {
    ("POST", "/incidents"): {R, S, D},
    ("GET", "/incidents"): {R, S, D, A},
    ("GET", "/incidents/{incident_id}"): {R, S, D, A},
    ("PATCH", "/incidents/{incident_id}"): {S},
    ("GET", "/incidents/{incident_id}/timeline"): {R, S, D, A},
    ("POST", "/incidents/{incident_id}/triage"): {S},
    ("POST", "/incidents/{incident_id}/notes"): {S},
    ("POST", "/incidents/{incident_id}/close"): {S},
    ("POST", "/incidents/{incident_id}/reopen"): {S},
    ("POST", "/incidents/{incident_id}/assessment"): {D},
    ("GET", "/incidents/{incident_id}/assessment"): {R, S, D, A},
    ("POST", "/what-if"): {D},
    ("POST", "/incidents/{incident_id}/obligations/{obligation_id}/decision"): {D},
    ("GET", "/obligations"): READERS,
    ("GET", "/incidents/{incident_id}/obligations"): READERS,
    ("GET", "/tasks"): READERS,
    ("GET", "/tasks/{task_id}"): READERS,
    ("POST", "/incidents/{incident_id}/tasks"): {S},
    **{
        ("POST", f"/tasks/{{task_id}}/{action}"): {S}
        for action in ("assign", "start", "block", "unblock", "done", "reopen", "cancel", "due")
    },
    ("GET", "/incidents/{incident_id}/containment"): READERS,
    ("GET", "/playbooks"): READERS,
    ("GET", "/playbooks/{playbook_id}"): READERS,
    ("POST", "/incidents/{incident_id}/people"): {S, D},
    ("GET", "/incidents/{incident_id}/people"): READERS,
    ("POST", "/people/export"): {D},
    ("POST", "/people/correct"): {D},
    ("POST", "/people/erase"): {D},
    ("POST", "/retention/run"): {D},
    ("POST", "/incidents/{incident_id}/campaigns"): {S},
    ("GET", "/campaigns"): READERS,
    ("GET", "/campaigns/{campaign_id}"): READERS,
    ("POST", "/campaigns/{campaign_id}/redraft"): {S},
    ("POST", "/campaigns/{campaign_id}/preview"): {S, D},
    ("POST", "/campaigns/{campaign_id}/approve"): {D},
    ("POST", "/campaigns/{campaign_id}/send"): {S},
    ("POST", "/campaigns/{campaign_id}/pause"): {S, D},
    ("POST", "/campaigns/{campaign_id}/resume"): {S, D},
    ("POST", "/campaigns/{campaign_id}/cancel"): {S, D},
    ("GET", "/notices/uncertain"): READERS,
    ("POST", "/notices/{notice_id}/resolve"): {S, D},
    ("GET", "/mailbox"): READERS,
    ("GET", "/mailbox/{ref}"): READERS,
    ("GET", "/templates/check"): READERS,
    ("GET", "/replay"): READERS,
    ("GET", "/incidents/{incident_id}/replay"): READERS,
    ("GET", "/incidents/{incident_id}/diff"): READERS,
    ("GET", "/audit/verify"): {D, A},
    ("GET", "/incidents/{incident_id}/bundle"): {D, A},
    ("POST", "/audit/bundle/verify"): {D, A},
    ("GET", "/me"): EVERYONE,
    ("GET", "/users"): {M},
    ("POST", "/users"): {M},
    ("GET", "/users/{username}"): {M},
    ("PUT", "/users/{username}/roles"): {M},
    ("POST", "/users/{username}/password"): {M},
    ("POST", "/users/{username}/tokens"): {M},
    ("DELETE", "/users/{username}/tokens/{token_id}"): {M},
    ("POST", "/users/{username}/disable"): {M},
    ("POST", "/users/{username}/enable"): {M},
    ("GET", "/views"): {M},
    ("POST", "/views/rebuild"): {M},
    ("GET", "/views/check"): {M},
}
SIGNED_NOT_ROLED = {("POST", "/intake/alerts")}
"""Authenticated by the intake signature, not by a user (tested on its own)."""


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
    assert routes(api) == set(EXPECTED) | SIGNED_NOT_ROLED


def test_each_role_is_allowed_or_refused_exactly_as_promised(api: Api) -> None:
    """For every route and role: allowed roles get past authorisation, others get 403."""
    api.call("admin", "POST", "/api/v1/users", json={"username": "target", "roles": ["reporter"]})
    ids = fixtures(api)
    wrong: list[str] = []
    for (method, template), allowed in sorted(EXPECTED.items()):
        path = "/api/v1" + template.format(**ids)
        for role in ROLES:
            r = api.call(role, method, path, **request_for(method, template, ids))
            refused = r.status_code == 403
            if r.status_code == 401 or refused == (role in allowed):
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
