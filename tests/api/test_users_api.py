"""The user routes: add, list, show, roles, tokens, disable, enable and passwords, the
caller's own identity, and the refusals of each."""

from __future__ import annotations

from typing import Any

from services.application.context import RequestContext
from services.http.auth import SESSION_COOKIE
from tests.api.conftest import Api

USERS = "/api/v1/users"


def add(api: Api, username: str, *roles: str) -> dict[str, Any]:
    """Add a user as the admin; return the answer."""
    r = api.call("admin", "POST", USERS, json={"username": username, "roles": list(roles)})
    assert r.status_code == 201, r.text
    return dict(r.json())


def token_for(api: Api, username: str, name: str = "laptop") -> dict[str, Any]:
    """Have ``username`` issue themselves a token (``POST /me/tokens`` with a first token
    of their own, as after signing in); return the answer."""
    _, first = api.rt.app.users.issue_token(username, "sign-in", RequestContext(actor=username))
    r = api.client.post("/api/v1/me/tokens", json={"name": name}, headers=bearer(first))
    assert r.status_code == 201, r.text
    return dict(r.json())


def bearer(token: str) -> dict[str, str]:
    """Headers authenticating with ``token``."""
    return {"Authorization": f"Bearer {token}"}


def cookie(value: str) -> dict[str, str]:
    """Headers carrying a session cookie."""
    return {"Cookie": f"{SESSION_COOKIE}={value}"}


def test_add_answers_a_one_time_password_that_signs_in(api: Api) -> None:
    """A new user is 201 with Location, ETag and a password shown once that works."""
    before = api.events()
    r = api.call("admin", "POST", USERS, json={"username": "carol", "roles": ["responder"]})
    assert r.status_code == 201, r.text
    doc = r.json()
    assert r.headers["Location"] == f"{USERS}/carol"
    assert r.headers["ETag"] == f'"{doc["version"]}"'
    assert (doc["username"], doc["roles"], doc["disabled"], doc["tokens"]) == (
        "carol",
        ["responder"],
        False,
        [],
    )
    password = doc["one_time_password"]
    assert len(password) >= 12
    assert api.events() > before
    identity = api.rt.app.users.login("carol", password)
    assert identity is not None
    assert identity.username == "carol"
    assert api.rt.app.users.login("carol", password + "x") is None
    shown = api.call("admin", "GET", f"{USERS}/carol")
    assert shown.status_code == 200
    assert "one_time_password" not in shown.json()
    assert password not in shown.text
    assert shown.headers["ETag"] == r.headers["ETag"]


def test_list_shows_every_user_in_name_order_without_secrets(api: Api) -> None:
    """The list holds every user by name with roles and token names, never a token."""
    add(api, "bob", "auditor")
    r = api.call("admin", "GET", USERS)
    assert r.status_code == 200
    items = r.json()["items"]
    names = [u["username"] for u in items]
    assert names == sorted(["admin", "auditor", "bob", "dpo", "reporter", "responder"])
    dpo = next(u for u in items if u["username"] == "dpo")
    assert dpo["roles"] == ["dpo"]
    assert [t["name"] for t in dpo["tokens"]] == ["tests"]
    for token in api.tokens.values():
        assert token not in r.text


def test_me_answers_the_callers_roles_and_permissions(api: Api) -> None:
    """Every role may ask who it is; the answer lists its roles and what they allow."""
    for role in ("reporter", "responder", "dpo", "auditor", "admin"):
        r = api.call(role, "GET", "/api/v1/me")
        assert r.status_code == 200
        assert (r.json()["username"], r.json()["roles"]) == (role, [role])
    assert "users.admin" in api.call("admin", "GET", "/api/v1/me").json()["permissions"]
    reporter = api.call("reporter", "GET", "/api/v1/me").json()["permissions"]
    assert reporter == ["account.self", "incident.read_own", "incident.report"]


def test_set_roles_changes_what_the_user_may_do_at_once(api: Api) -> None:
    """Replacing a responder's roles with auditor shows in /me and in what is refused."""
    add(api, "carol", "responder")
    token = token_for(api, "carol")["token"]
    me = api.client.get("/api/v1/me", headers=bearer(token)).json()
    assert "incident.change" in me["permissions"]
    r = api.call("admin", "PUT", f"{USERS}/carol/roles", json={"roles": ["auditor"]})
    assert r.status_code == 200, r.text
    assert r.json()["roles"] == ["auditor"]
    assert r.headers["ETag"] == f'"{r.json()["version"]}"'
    me = api.client.get("/api/v1/me", headers=bearer(token)).json()
    assert me["roles"] == ["auditor"]
    assert "incident.change" not in me["permissions"]
    assert "audit.export" in me["permissions"]
    report = api.client.post(
        "/api/v1/incidents",
        json={"title": "x", "discovered_at": "2026-11-27T08:00:00Z"},
        headers=bearer(token),
    )
    assert report.status_code == 403


def test_set_roles_honours_if_match(api: Api) -> None:
    """Roles set against a stale ETag are refused with 412 and nothing is appended."""
    version = add(api, "carol", "responder")["version"]
    api.call("admin", "PUT", f"{USERS}/carol/roles", json={"roles": ["dpo"]})
    before = api.events()
    stale = api.call(
        "admin",
        "PUT",
        f"{USERS}/carol/roles",
        json={"roles": ["auditor"]},
        headers={"If-Match": f'"{version}"'},
    )
    assert stale.status_code == 412
    assert stale.json()["field"] == "If-Match"
    assert api.events() == before


def test_an_issued_token_works_at_once_and_is_shown_only_then(api: Api) -> None:
    """The token authenticates straight away; the user lists its name, not its secret."""
    add(api, "carol", "dpo")
    doc = token_for(api, "carol", "ci pipeline")
    assert doc["token"].startswith("bl_")
    assert {t["name"] for t in doc["tokens"]} == {"ci pipeline", "sign-in"}
    me = api.client.get("/api/v1/me", headers=bearer(doc["token"]))
    assert me.status_code == 200
    assert me.json()["username"] == "carol"
    shown = api.call("admin", "GET", f"{USERS}/carol")
    assert doc["token"] not in shown.text
    assert doc["token"].split("_", 2)[2] not in shown.text


def test_a_revoked_token_is_refused_afterwards(api: Api) -> None:
    """After revocation the token is 401 and no longer listed; other tokens still work."""
    add(api, "carol", "responder")
    first = token_for(api, "carol", "first")
    second = token_for(api, "carol", "second")
    token_id = next(t["token_id"] for t in first["tokens"] if t["name"] == "first")
    r = api.call("admin", "DELETE", f"{USERS}/carol/tokens/{token_id}")
    assert r.status_code == 200, r.text
    assert "first" not in [t["name"] for t in r.json()["tokens"]]
    assert "second" in [t["name"] for t in r.json()["tokens"]]
    refused = api.client.get("/api/v1/me", headers=bearer(first["token"]))
    assert refused.status_code == 401
    assert "WWW-Authenticate" in refused.headers
    assert api.client.get("/api/v1/me", headers=bearer(second["token"])).status_code == 200


def test_revoking_a_token_that_is_not_the_users_leaves_it_working(api: Api) -> None:
    """A token id of another user (or none) is 404 naming it; that token keeps working."""
    theirs = next(t["token_id"] for t in api.call("admin", "GET", f"{USERS}/dpo").json()["tokens"])
    before = api.events()
    for token_id in (theirs, "0123456789abcdef"):
        r = api.call("admin", "DELETE", f"{USERS}/responder/tokens/{token_id}")
        assert r.status_code == 404, r.text
        assert r.json()["field"] == "token_id"
    assert api.call("dpo", "GET", "/api/v1/me").status_code == 200
    assert api.events() == before


def test_disable_revokes_tokens_and_ends_sessions_for_good(api: Api) -> None:
    """A disabled user's token and session are refused, and stay refused once the user is
    enabled again (a new token must be issued)."""
    add(api, "carol", "responder")
    token = token_for(api, "carol")["token"]
    assert api.rt.app.credentials is not None
    session, _ = api.rt.app.credentials.open_session("carol")
    assert api.client.get("/api/v1/me", headers=cookie(session)).status_code == 200
    r = api.call("admin", "POST", f"{USERS}/carol/disable", json={"reason": "left the company"})
    assert r.status_code == 200, r.text
    assert r.json()["disabled"] is True
    assert api.client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert api.client.get("/api/v1/me", headers=cookie(session)).status_code == 401
    assert api.rt.app.credentials.session(session) is None
    again = api.call("admin", "POST", f"{USERS}/carol/disable", json={"reason": "twice"})
    assert again.status_code == 409
    enabled = api.call("admin", "POST", f"{USERS}/carol/enable")
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["disabled"] is False
    assert enabled.json()["tokens"] == []
    assert api.client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    fresh = token_for(api, "carol")["token"]
    assert api.client.get("/api/v1/me", headers=bearer(fresh)).status_code == 200
    assert api.client.get("/api/v1/me", headers=cookie(session)).status_code == 401
    assert api.call("admin", "POST", f"{USERS}/carol/enable").status_code == 409


def test_a_disabled_user_gets_no_new_token(api: Api) -> None:
    """Issuing a token to a disabled service account is 422 naming the user; nothing is
    appended."""
    r = api.call(
        "admin", "POST", USERS, json={"username": "carol", "roles": ["auditor"], "service": True}
    )
    assert r.status_code == 201, r.text
    api.call("admin", "POST", f"{USERS}/carol/disable", json={"reason": "on leave"})
    before = api.events()
    r = api.call("admin", "POST", f"{USERS}/carol/tokens", json={"name": "sneaky"})
    assert (r.status_code, r.json()["field"]) == (422, "username")
    assert api.events() == before


def test_set_password_replaces_the_old_one(api: Api) -> None:
    """The new password signs in, the one-time one no longer does."""
    old = add(api, "carol", "responder")["one_time_password"]
    new = "correct horse battery staple"
    r = api.call("admin", "POST", f"{USERS}/carol/password", json={"password": new})
    assert r.status_code == 200, r.text
    assert new not in r.text
    assert api.rt.app.users.login("carol", new) is not None
    assert api.rt.app.users.login("carol", old) is None


def test_non_admins_may_not_manage_users(api: Api) -> None:
    """Every users route is 403 naming the role for every other role; nothing is appended."""
    before = api.events()
    routes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", USERS, None),
        ("POST", USERS, {"username": "eve", "roles": ["admin"]}),
        ("GET", f"{USERS}/admin", None),
        ("PUT", f"{USERS}/reporter/roles", {"roles": ["admin"]}),
        ("POST", f"{USERS}/admin/password", {"password": "x" * 20}),
        ("POST", f"{USERS}/admin/tokens", {"name": "mine now"}),
        ("DELETE", f"{USERS}/admin/tokens/0123456789abcdef", None),
        ("POST", f"{USERS}/admin/disable", {"reason": "coup"}),
        ("POST", f"{USERS}/admin/enable", None),
    ]
    for role in ("reporter", "responder", "dpo", "auditor"):
        for method, path, body in routes:
            r = api.call(role, method, path, json=body)
            assert r.status_code == 403, (role, method, path, r.text)
            assert r.json()["field"] == "role"
    assert api.client.get(USERS).status_code == 401
    assert api.events() == before


def test_bad_user_input_is_422_naming_the_field_and_appends_nothing(api: Api) -> None:
    """Unknown roles, bad or taken usernames, short passwords and blanks are refused."""
    add(api, "carol", "responder")
    service = {"username": "bot", "roles": ["auditor"], "service": True}
    assert api.call("admin", "POST", USERS, json=service).status_code == 201
    before = api.events()
    cases: list[tuple[str, str, dict[str, Any], str]] = [
        ("POST", USERS, {"username": "dave", "roles": ["king"]}, "roles"),
        ("POST", USERS, {"username": "dave", "roles": []}, "roles"),
        ("POST", USERS, {"username": "bad name", "roles": ["dpo"]}, "username"),
        ("POST", USERS, {"username": "x" * 65, "roles": ["dpo"]}, "username"),
        ("POST", USERS, {"username": "carol", "roles": ["dpo"]}, "username"),
        ("POST", USERS, {"username": "dave", "roles": ["dpo"], "admin": True}, "body"),
        ("POST", USERS, {"roles": ["dpo"]}, "username"),
        ("PUT", f"{USERS}/carol/roles", {"roles": ["king"]}, "roles"),
        ("POST", f"{USERS}/carol/password", {"password": "short"}, "password"),
        ("POST", f"{USERS}/bot/tokens", {"name": ""}, "name"),
        ("POST", f"{USERS}/bot/tokens", {"name": "   "}, "name"),
        ("POST", f"{USERS}/carol/disable", {"reason": "   "}, "reason"),
    ]
    for method, path, body, field in cases:
        r = api.call("admin", method, path, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["field"] == field, (body, r.json())
    assert api.events() == before
    assert [t["name"] for t in api.call("admin", "GET", f"{USERS}/bot").json()["tokens"]] == []


def test_unknown_users_are_404_and_unchanged_roles_409(api: Api) -> None:
    """Acting on a user who does not exist is 404; setting the same roles changes nothing."""
    add(api, "carol", "responder")
    before = api.events()
    for method, path, body in (
        ("GET", f"{USERS}/nobody", None),
        ("PUT", f"{USERS}/nobody/roles", {"roles": ["dpo"]}),
        ("POST", f"{USERS}/nobody/password", {"password": "x" * 20}),
        ("POST", f"{USERS}/nobody/tokens", {"name": "t"}),
        ("POST", f"{USERS}/nobody/disable", {"reason": "r"}),
        ("POST", f"{USERS}/nobody/enable", None),
    ):
        r = api.call("admin", method, path, json=body)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["field"] == "username"
    same = api.call("admin", "PUT", f"{USERS}/carol/roles", json={"roles": ["responder"]})
    assert (same.status_code, same.json()["field"]) == (409, "roles")
    assert api.events() == before


def test_the_last_enabled_admin_cannot_be_demoted_or_disabled(api: Api) -> None:
    """Removing the admin role from, or disabling, the only enabled admin is refused (409)
    and appends nothing; with a second admin it is allowed."""
    before = api.events()
    demote = api.call("admin", "PUT", f"{USERS}/admin/roles", json={"roles": ["auditor"]})
    assert (demote.status_code, demote.json()["field"]) == (409, "roles")
    disable = api.call("admin", "POST", f"{USERS}/admin/disable", json={"reason": "oops"})
    assert (disable.status_code, disable.json()["field"]) == (409, "username")
    assert api.events() == before
    add(api, "root2", "admin")
    demote = api.call("admin", "PUT", f"{USERS}/admin/roles", json={"roles": ["auditor"]})
    assert demote.status_code == 200, demote.text


def test_an_admin_password_reset_ends_the_user_s_sessions(api: Api) -> None:
    """After a reset the old session no longer authenticates: the user must sign in with
    the new one-time password and choose their own."""
    assert api.rt.app.credentials is not None
    session, _ = api.rt.app.credentials.open_session("responder")
    assert api.client.get("/api/v1/me", headers=cookie(session)).status_code == 200
    r = api.call(
        "admin", "POST", f"{USERS}/responder/password", json={"password": "a-new-long-secret"}
    )
    assert r.status_code == 200, r.text
    assert api.client.get("/api/v1/me", headers=cookie(session)).status_code == 401
    assert api.rt.app.credentials.must_change("responder")


def test_an_admin_cannot_obtain_a_token_in_a_persons_name(api: Api) -> None:
    """An admin asking for a token of a person (here the DPO) is refused with 403 naming the
    user and nothing is recorded, so the admin cannot read or erase people's data as them;
    the person issues their own token."""
    before = api.events()
    r = api.call("admin", "POST", f"{USERS}/dpo/tokens", json={"name": "borrowed"})
    assert (r.status_code, r.json()["field"]) == (403, "username")
    assert "bl_" not in r.text
    assert api.events() == before
    own = api.call("dpo", "POST", "/api/v1/me/tokens", json={"name": "laptop"})
    assert own.status_code == 201, own.text
    me = api.client.get("/api/v1/me", headers=bearer(own.json()["token"])).json()
    assert me["username"] == "dpo"


def test_a_token_someone_else_issued_to_a_person_does_not_speak_for_them(api: Api) -> None:
    """A token an older version let an admin issue in a person's name (its TokenIssued
    recorded by the admin) authenticates nobody."""
    assert api.rt.app.credentials is not None
    token_id, token = api.rt.app.credentials.issue_token("dpo")
    user = api.rt.app.users.get_user("dpo")
    user.issue_token(
        api.rt.app.core.cause(RequestContext(actor="admin")), token_id=token_id, name="x"
    )
    api.rt.app.core.save(user)
    assert api.client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_service_accounts_have_tokens_an_admin_issues_and_no_rights_over_people(
    api: Api,
) -> None:
    """A service account is created without a password, gets tokens from an admin, and may
    hold no role that opens people's data (409, nothing recorded); its actions are recorded
    under its own name."""
    created = api.call(
        "admin", "POST", USERS, json={"username": "wazuh", "roles": ["reporter"], "service": True}
    )
    assert created.status_code == 201, created.text
    assert (created.json()["service"], created.json()["one_time_password"]) == (True, None)
    issued = api.call("admin", "POST", f"{USERS}/wazuh/tokens", json={"name": "siem"})
    assert issued.status_code == 201, issued.text
    token = issued.json()["token"]
    report = api.client.post(
        "/api/v1/incidents",
        json={"title": "Alert", "discovered_at": "2026-11-27T08:00:00Z"},
        headers=bearer(token),
    )
    assert report.status_code == 201, report.text
    timeline = api.call("auditor", "GET", f"/api/v1/incidents/{report.json()['id']}/timeline")
    assert timeline.json()["entries"][0]["actor"] == "wazuh"
    before = api.events()
    for method, path, body in (
        ("PUT", f"{USERS}/wazuh/roles", {"roles": ["dpo"]}),
        ("POST", USERS, {"username": "bot", "roles": ["dpo"], "service": True}),
        ("POST", f"{USERS}/wazuh/password", {"password": "x" * 20}),
    ):
        r = api.call("admin", method, path, json=body)
        assert r.status_code == 409, (path, r.text)
    assert api.events() == before
    assert api.rt.app.users.login("wazuh", "") is None


def test_the_system_s_names_cannot_be_taken_by_a_user(api: Api) -> None:
    """Usernames in the system's namespaces are refused (422 naming the username) and
    nothing is recorded: nobody's actions can pass for an alert source's, a policy's, the
    dispatcher's or the operator's."""
    before = api.events()
    for name in ("intake:wazuh", "os:root", "demo:dpo", "policy.notices", "dispatcher", "a:b"):
        r = api.call("admin", "POST", USERS, json={"username": name, "roles": ["auditor"]})
        assert (r.status_code, r.json()["field"]) == (422, "username"), (name, r.text)
    assert api.events() == before


def test_patch_sets_email_and_language_each_alone_for_oneself_or_as_admin(api: Api) -> None:
    """PATCH sets the address (answered, with email_set in GET), then the language alone
    keeps it and null removes it; the user themselves may, another user may not (403);
    bad input is a 422 problem naming the field without echoing it, recording nothing;
    the operation is in the OpenAPI document."""
    address = "responder.api@alerts.example.net"
    r = api.call("admin", "PATCH", f"{USERS}/responder", json={"email": address})
    assert r.status_code == 200, r.text
    assert (r.json()["email"], r.json()["email_set"], r.json()["language"]) == (
        address,
        True,
        "en",
    )
    shown = api.call("admin", "GET", f"{USERS}/responder").json()
    assert shown["email_set"] is True
    assert address not in api.call("admin", "GET", USERS).text
    own = api.call("responder", "PATCH", f"{USERS}/responder", json={"language": "zh-CN"})
    assert own.status_code == 200, own.text
    assert (own.json()["email"], own.json()["language"]) == (address, "zh-CN")
    before = api.events()
    other = api.call("auditor", "PATCH", f"{USERS}/responder", json={"email": None})
    assert other.status_code == 403
    for body, field in [
        ({"email": "nobody-at-all"}, "email"),
        ({"language": "tlh-x"}, "language"),
        ({"email": address, "colour": "x-blue"}, "body"),
        ({}, "input"),
    ]:
        bad = api.call("admin", "PATCH", f"{USERS}/responder", json=body)
        assert bad.status_code == 422, (body, bad.text)
        assert bad.headers["Content-Type"].startswith("application/problem+json")
        assert field in bad.text
        for value in body.values():
            assert value not in bad.text
    assert api.events() == before
    gone = api.call("admin", "PATCH", f"{USERS}/responder", json={"email": None})
    assert (gone.json()["email"], gone.json()["email_set"]) == (None, False)
    spec = api.client.get("/api/v1/openapi.json")
    if spec.status_code == 404:
        spec = api.client.get("/openapi.json")
    assert "patch" in spec.json()["paths"][f"{USERS}/{{username}}"]
