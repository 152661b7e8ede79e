"""Input rules through the HTTP API: problem bodies name the field without quoting the value,
an omitted field leaves its value as it was, and nonsense is refused with nothing stored."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from services.http.pagination import encode_cursor
from tests.api.conftest import Api
from tests.support.assessment import BASE_FACTS
from tests.support.facts import PORTAL_LEAK
from tests.support.people import person

MARK = "Zqx7Mark"
CSV = {"Content-Type": "text/csv"}
NDJSON = {"Content-Type": "application/x-ndjson"}
CONTENT = {
    "nature": "CVs were downloaded from our careers portal.",
    "consequences": "Phishing that mentions your application.",
    "measures": "The flaw is closed; access keys were rotated.",
    "advice": "Do not answer messages asking for your password.",
    "reference": "CASE-1",
}
AUTHORITY = {"name": "Data Protection Authority", "email": "breach@dpa.example", "language": "de"}


def refused(api: Api, response: Any, status: int, field: str) -> dict[str, Any]:
    """A problem body with this status naming ``field``, holding no marker."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["field"] == field, body
    for value in (MARK, "2099", "0001-01"):
        assert value.lower() not in response.text.lower(), body
    return dict(body)


def csv_body(rows: list[dict[str, Any]], columns: list[str]) -> bytes:
    """Rows as CSV bytes with ``columns`` as the header."""
    lines = [",".join(columns)]
    lines += [",".join(json.dumps(str(r.get(c, ""))) for c in columns) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def imported(api: Api, incident: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """Import a body; return the report (which must hold no marker)."""
    r = api.call(
        "responder", "POST", f"/api/v1/incidents/{incident}/people", content=body, headers=headers
    )
    assert r.status_code == 200, r.text
    assert MARK.lower() not in r.text.lower(), r.text
    return dict(r.json())


# 1. Errors say what is wrong without quoting the input


def test_problem_bodies_name_the_field_without_the_value(api: Api) -> None:
    """Bad choices, times, ids, unknown fields, roles, users, tokens, playbooks, evidence,
    recipient addresses, jurisdictions and obligations: each problem body names the field
    and never repeats what was sent; nothing is stored."""
    incident = api.report()["id"]
    task = api.call(
        "responder",
        "POST",
        f"/api/v1/incidents/{incident}/tasks",
        json={"title": "Wipe", "due_at": "now"},
    ).json()["id"]
    assessed = api.report(aware_at="2026-11-27T08:30:00Z")["id"]
    r = api.call("dpo", "POST", f"/api/v1/incidents/{assessed}/assessment", json=PORTAL_LEAK)
    assert r.status_code == 200, r.text
    before = api.events()
    report = {"title": "x", "discovered_at": "2026-11-27T08:00:00Z"}
    cases: list[tuple[str, str, str, dict[str, Any], int, str]] = [
        ("responder", "POST", f"/incidents/{incident}/triage", {"severity": MARK}, 422, "severity"),
        ("responder", "GET", f"/incidents?status={MARK}", {}, 422, "status"),
        (
            "responder",
            "POST",
            "/incidents",
            {**report, "discovered_at": MARK},
            422,
            "discovered_at",
        ),
        ("responder", "POST", "/incidents", {**report, MARK: 1}, 422, "body"),
        (
            "responder",
            "PATCH",
            f"/incidents/{incident}",
            {"reason": "r", "aware_at": MARK},
            422,
            "aware_at",
        ),
        ("responder", "GET", f"/incidents/{MARK}", {}, 422, "incident_id"),
        (
            "responder",
            "GET",
            f"/incidents/{MARK}-0000-4000-8000-000000000000",
            {},
            422,
            "incident_id",
        ),
        ("admin", "POST", "/users", {"username": "dave", "roles": [MARK]}, 422, "roles"),
        ("admin", "PUT", f"/users/{MARK}/roles", {"roles": ["dpo"]}, 404, "username"),
        ("admin", "DELETE", f"/users/responder/tokens/{MARK}", {}, 404, "token_id"),
        ("responder", "GET", f"/playbooks/{MARK}", {}, 404, "playbook"),
        (
            "responder",
            "POST",
            f"/tasks/{task}/done",
            {"outcome": "o", "evidence": [MARK]},
            422,
            "evidence",
        ),
        ("responder", "POST", f"/tasks/{task}/due", {"due_at": MARK, "reason": "r"}, 422, "due_at"),
        (
            "responder",
            "POST",
            f"/incidents/{incident}/tasks",
            {"title": "t", "due_at": "now", "blocked_by": ["00000000-0000-4000-8000-000000000000"]},
            422,
            "blocked_by",
        ),
        (
            "responder",
            "POST",
            f"/incidents/{incident}/campaigns",
            {"audience": "authority", **CONTENT, "recipients": [{"name": "A", "email": MARK}]},
            422,
            "recipients.0.email",
        ),
        (
            "dpo",
            "POST",
            f"/incidents/{incident}/assessment",
            {**BASE_FACTS, "people_by_jurisdiction": {MARK: 100}},
            422,
            "people_by_jurisdiction",
        ),
        (
            "dpo",
            "POST",
            f"/incidents/{assessed}/obligations/{MARK}/decision",
            {"decision": "notify", "reason": "r"},
            409,
            "obligation",
        ),
        (
            "dpo",
            "POST",
            f"/incidents/{assessed}/obligations/eu_gdpr/supervisory_authority/decision",
            {
                "decision": "notified",
                "reason": "r",
                "notified_at": "2099-01-01T00:00Z",
                "reference": "A-1",
            },
            409,
            "notified_at",
        ),
        (
            "responder",
            "POST",
            "/incidents",
            {**report, "discovered_at": "2099-01-01T00:00Z"},
            409,
            "discovered_at",
        ),
    ]
    for role, method, path, body, status, field in cases:
        kwargs = {"json": body} if body else {}
        response = api.call(role, method, f"/api/v1{path}", **kwargs)
        refused(api, response, status, field)
    assert api.events() == before


def test_people_imports_answer_rejections_without_values_or_header_text(api: Api) -> None:
    """CSV and JSON Lines bodies with a bad address, a badly named attribute, a nested value
    and a row faking a reading error: the rejections name row and field, never the value."""
    incident = api.report()["id"]
    columns = [*person(0), f"{MARK} column"]
    rows = [
        {**person(0), "email": f"bob@bob\u0640{MARK}-domain"},
        {**person(1), "email": f"{MARK}.no-at-sign"},
        {**person(2), f"{MARK} column": "x"},
    ]
    report = imported(api, incident, csv_body(rows, columns), CSV)
    assert report["rejections"] == [
        {
            "row": 1,
            "field": "email",
            "reason": "is not a valid address: the domain part (after the @-sign) is invalid",
        },
        {"row": 2, "field": "email", "reason": "is not a valid address: it has no @-sign"},
        {
            "row": 3,
            "field": "attributes",
            "reason": "field 7 has a name that is not lower-case letters, digits and _",
        },
    ]
    lines = [
        {**person(4), "email": f"{MARK} bob@example.org"},
        {**person(5), "__error__": MARK},
        {**person(6), "position": [MARK]},
        {**person(7), "reference": f"{MARK}\r\nsecond"},
    ]
    body = "".join(json.dumps(line) + "\n" for line in lines).encode()
    report = imported(api, incident, body, NDJSON)
    assert [(r["row"], r["field"]) for r in report["rejections"]] == [
        (1, "email"),
        (2, "attributes"),
        (3, "attributes"),
        (4, "reference"),
    ]
    twice = f"email,name,language,jurisdiction,{MARK},{MARK}\nann@example.org,Ann,en,DE,1,2\n"
    r = api.call(
        "responder",
        "POST",
        f"/api/v1/incidents/{incident}/people",
        content=twice.encode(),
        headers=CSV,
    )
    refused(api, r, 422, "body")


def test_a_correction_with_a_bad_address_names_the_field_without_it(api: Api) -> None:
    """The email validator's words never reach the caller; nothing is stored."""
    incident = api.report()["id"]
    imported(api, incident, csv_body([person(0)], list(person(0))), CSV)
    before = api.events()
    r = api.call(
        "dpo",
        "POST",
        "/api/v1/people/correct",
        json={
            "incident_id": incident,
            "email": person(0)["email"],
            "new_email": f"bob@bob\u0640{MARK}-domain",
            "reason": "rectification",
        },
    )
    body = refused(api, r, 422, "email")
    assert body["detail"] == (
        "email: is not a valid address: the domain part (after the @-sign) is invalid"
    )
    assert api.events() == before


# 2. Omitted means unchanged


def test_triage_changes_only_the_fields_given(api: Api) -> None:
    """A body with the severity alone keeps a confirmed breach and the type; one with the
    determination alone keeps the severity; an empty or unchanged triage is refused."""
    incident = api.report()["id"]
    path = f"/api/v1/incidents/{incident}/triage"
    before = api.events()
    refused(
        api,
        api.call("responder", "POST", path, json={"personal_data_breach": "yes"}),
        409,
        "severity",
    )
    assert api.events() == before
    full = {"severity": "high", "personal_data_breach": "yes", "incident_type": "ransomware"}
    assert api.call("responder", "POST", path, json=full).status_code == 200
    doc = api.call("responder", "POST", path, json={"severity": "medium"}).json()
    assert (doc["severity"], doc["personal_data_breach"], doc["incident_type"]) == (
        "medium",
        "yes",
        "ransomware",
    )
    doc = api.call("responder", "POST", path, json={"personal_data_breach": "no"}).json()
    assert (doc["severity"], doc["personal_data_breach"], doc["incident_type"]) == (
        "medium",
        "no",
        "ransomware",
    )
    stored = api.call("auditor", "GET", f"/api/v1/incidents/{incident}").json()
    assert (stored["severity"], stored["personal_data_breach"]) == ("medium", "no")
    before = api.events()
    refused(api, api.call("responder", "POST", path, json={}), 422, "triage")
    refused(api, api.call("responder", "POST", path, json={"severity": "medium"}), 409, "triage")
    assert api.events() == before


def test_amend_changes_only_the_facts_given(api: Api) -> None:
    """A PATCH with a new title keeps the description and every moment."""
    incident = api.report(
        description="Left on a train",
        occurred_at="2026-11-26T20:00:00Z",
        aware_at="2026-11-27T08:30:00Z",
        determined_at="2026-11-27T08:45:00Z",
    )
    r = api.call(
        "responder",
        "PATCH",
        f"/api/v1/incidents/{incident['id']}",
        json={"reason": "typo", "title": "Stolen work laptop"},
    )
    assert r.status_code == 200, r.text
    after = api.call("auditor", "GET", f"/api/v1/incidents/{incident['id']}").json()
    assert after["title"] == "Stolen work laptop"
    for name in ("description", "occurred_at", "discovered_at", "aware_at", "determined_at"):
        assert after[name] == incident[name], name


def test_a_person_correction_changes_only_the_fields_given(api: Api) -> None:
    """Correcting the name keeps address, reference, language, jurisdiction, attributes."""
    incident = api.report()["id"]
    imported(api, incident, csv_body([person(1)], list(person(1))), CSV)
    who = {"incident_id": incident, "email": person(1)["email"]}
    for change in (
        {"language": "fr", "jurisdiction": "FR", "reference": "APP-NEW", "reason": "all"},
        {"name": "Renamed Person", "reason": "name"},
    ):
        r = api.call("dpo", "POST", "/api/v1/people/correct", json={**who, **change})
        assert r.status_code == 200, r.text
    [record] = api.call(
        "dpo", "POST", "/api/v1/people/export", json={"email": person(1)["email"]}
    ).json()["records"]
    assert record["data"] == {
        "email": person(1)["email"],
        "name": "Renamed Person",
        "reference": "APP-NEW",
        "attributes": {"position": "Backend engineer"},
    }
    assert (record["language"], record["jurisdiction"]) == ("fr", "FR")


def test_a_redraft_changes_only_the_content_given(api: Api) -> None:
    """A redraft body with the nature alone keeps the other content and the recipients;
    another audience is refused."""
    incident = api.report()["id"]
    r = api.call(
        "responder",
        "POST",
        f"/api/v1/incidents/{incident}/campaigns",
        json={"audience": "authority", **CONTENT, "recipients": [AUTHORITY]},
    )
    assert r.status_code == 201, r.text
    path = f"/api/v1/campaigns/{r.json()['campaign_id']}/redraft"
    r = api.call("responder", "POST", path, json={"nature": "Only the nature changes."})
    assert r.status_code == 200, r.text
    doc = api.call("auditor", "GET", path.removesuffix("/redraft")).json()
    assert doc["content"]["nature"] == "Only the nature changes."
    for name in ("consequences", "measures", "advice", "reference"):
        assert doc["content"][name] == CONTENT[name], name
    assert doc["recipients"] == [AUTHORITY]
    before = api.events()
    refused(
        api, api.call("responder", "POST", path, json={"audience": "customer"}), 422, "audience"
    )
    refused(api, api.call("responder", "POST", path, json={}), 422, "content")
    assert api.events() == before


def test_task_changes_keep_the_other_fields(api: Api) -> None:
    """Assigning keeps the due time and priority; moving the due time keeps the owner."""
    incident = api.report()["id"]
    task = api.call(
        "responder",
        "POST",
        f"/api/v1/incidents/{incident}/tasks",
        json={
            "title": "Wipe",
            "due_at": "2026-12-01T10:00:00Z",
            "owner": "bob",
            "priority": "high",
        },
    ).json()["id"]
    api.call("responder", "POST", f"/api/v1/tasks/{task}/assign", json={"owner": "carol"})
    api.call(
        "responder",
        "POST",
        f"/api/v1/tasks/{task}/due",
        json={"due_at": "2026-12-02T10:00:00Z", "reason": "waiting"},
    )
    doc = api.call("auditor", "GET", f"/api/v1/tasks/{task}").json()
    assert (doc["owner"], doc["priority"], doc["due_at"]) == (
        "carol",
        "high",
        "2026-12-02T10:00:00Z",
    )


# 3. Nonsense is refused, naming the field, with nothing recorded


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/incidents", {"title": "Two\nlines"}, "title"),
        ("POST", "/incidents", {"reporter": "soc\u2028team"}, "reporter"),
        ("POST", "/incidents", {"description": "nul\x00here"}, "description"),
        ("POST", "/incidents", {"description": "escape\x1b[2J"}, "description"),
        ("POST", "/incidents", {"discovered_at": "0001-01-01T00:00:00Z"}, "discovered_at"),
        ("POST", "/incidents", {"aware_at": "1900-01-01T00:00:00Z"}, "aware_at"),
        ("PATCH", "{incident}", {"reason": "why\nnot", "title": "New"}, "reason"),
        (
            "PATCH",
            "{incident}",
            {"reason": "r", "occurred_at": "0001-01-01T00:00:00Z"},
            "occurred_at",
        ),
        ("POST", "{incident}/notes", {"text": "a\x00b"}, "text"),
        ("POST", "{incident}/close", {"resolution": "done\rreally"}, "resolution"),
        ("POST", "{incident}/tasks", {"title": "t\x07", "due_at": "now"}, "title"),
        ("POST", "{incident}/tasks", {"title": "t", "due_at": "0001-01-01T00:00:00Z"}, "due_at"),
        (
            "POST",
            "{incident}/campaigns",
            {"audience": "people", **CONTENT, "nature": "a\x00"},
            "nature",
        ),
        (
            "POST",
            "{incident}/campaigns",
            {"audience": "people", **CONTENT, "reference": "two\nlines"},
            "reference",
        ),
        (
            "POST",
            "{incident}/campaigns",
            {"audience": "people", **CONTENT, "people_count": 10**29},
            "people_count",
        ),
        (
            "POST",
            "{incident}/assessment",
            {**BASE_FACTS, "people": {"count": 10**29}},
            "people.count",
        ),
        (
            "POST",
            "{incident}/assessment",
            {**BASE_FACTS, "records": {"count": 10**40}},
            "records.count",
        ),
        (
            "POST",
            "{incident}/assessment",
            {**BASE_FACTS, "people": {"count": 10}, "people_by_jurisdiction": {"DE": 10**40}},
            "people_by_jurisdiction.DE",
        ),
        ("POST", "{incident}/assessment", {**BASE_FACTS, "customer": "Acme\x00"}, "customer"),
        ("POST", "/users", {"username": "bob\nroot", "roles": ["dpo"]}, "username"),
        ("POST", "/users/responder/tokens", {"name": "ci\nbuild"}, "name"),
        ("POST", "/users/responder/disable", {"reason": "left\x1b"}, "reason"),
    ],
)
def test_nonsense_is_refused_naming_the_field_with_nothing_stored(
    api: Api, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    """Control characters, line breaks in single-line fields, implausible counts and times
    before 1970: 422 naming the field; the store holds the same events."""
    incident = api.report()["id"]
    role = "admin" if path.startswith("/users") else "dpo" if "assessment" in path else "responder"
    if path == "/incidents":
        body = {"title": "x", "discovered_at": "2026-11-27T08:00:00Z", **body}
    path = path.replace("{incident}", f"/incidents/{incident}")
    before = api.events()
    response = api.call(role, method, f"/api/v1{path}", json=body)
    problem = refused(api, response, 422, field)
    if field.endswith("count") or field.startswith("people_by"):
        assert "at most 10,000,000,000" in problem["detail"]
    assert api.events() == before


@pytest.mark.parametrize(
    ("path", "cursor"),
    [
        ("/incidents", encode_cursor([2**63, 2**63])),
        ("/incidents", encode_cursor([-1, "x"])),
        ("/incidents", "!!!not base64!!!"),
        ("/incidents", base64.urlsafe_b64encode(b"{not json").decode()),
        ("/incidents", encode_cursor(["x" * 5000, "y"])),
        ("/tasks", encode_cursor([2**63, "y"])),
        ("/campaigns", encode_cursor([[1], {"a": 1}])),
        ("/obligations", encode_cursor([2**63, "x", 0, "a", "b"])),
        ("/obligations", encode_cursor([-5, "x", 0, "a", "b"])),
        ("/mailbox", encode_cursor([2**63])),
        ("/mailbox", encode_cursor([-1])),
        ("/notices/uncertain", encode_cursor([2**63])),
    ],
)
def test_a_bad_cursor_is_422_naming_the_cursor(api: Api, path: str, cursor: str) -> None:
    """Cursors that this list did not give (huge, negative, too long, malformed) are
    refused with 422 naming ``cursor`` instead of failing inside the server."""
    role = "auditor" if path != "/mailbox" else "admin"
    response = api.call(role, "GET", f"/api/v1{path}", params={"cursor": cursor})
    if response.status_code == 403:
        response = api.call("dpo", "GET", f"/api/v1{path}", params={"cursor": cursor})
    refused(api, response, 422, "cursor")


def test_a_stale_version_is_refused_without_repeating_the_version_given(api: Api) -> None:
    """412 names If-Match and the current version, not the number the caller sent."""
    incident = api.report()["id"]
    before = api.events()
    r = api.call(
        "responder",
        "PATCH",
        f"/api/v1/incidents/{incident}",
        json={"reason": "r", "title": "New"},
        headers={"If-Match": '"987654321"'},
    )
    body = refused(api, r, 412, "If-Match")
    assert "987654321" not in r.text
    assert body["detail"] == "If-Match: the version given is stale; the current version is 1"
    assert api.events() == before


def test_a_problem_names_the_route_not_the_path_requested(api: Api) -> None:
    """The ``instance`` of a problem is the route's template, so an id typed into the path
    is not repeated."""
    r = api.call("auditor", "GET", f"/api/v1/incidents/{MARK}")
    refused(api, r, 422, "incident_id")
    assert r.json()["instance"] == "/api/v1/incidents/{incident_id}"
    unknown = api.call("auditor", "GET", f"/api/v1/{MARK}")
    assert unknown.status_code == 404
    assert MARK.lower() not in unknown.text.lower()
