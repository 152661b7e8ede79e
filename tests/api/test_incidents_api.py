"""The incident routes: report, board, read, timeline and every change, with their refusals."""

from __future__ import annotations

from tests.api.conftest import Api


def test_report_answers_the_incident_with_location_and_etag(api: Api) -> None:
    """A report is created (201) with its Location and version 1 as ETag, actor = caller."""
    r = api.call(
        "responder",
        "POST",
        "/api/v1/incidents",
        json={"title": "Phish", "discovered_at": "2026-11-27T08:00:00Z"},
    )
    assert r.status_code == 201
    doc = r.json()
    assert r.headers["ETag"] == '"1"'
    assert r.headers["Location"].endswith(doc["id"])
    assert doc["reporter"] == "responder"
    timeline = api.call("responder", "GET", f"/api/v1/incidents/{doc['id']}/timeline").json()
    assert timeline["entries"][0]["actor"] == "responder"


def test_bad_report_names_the_field_and_appends_nothing(api: Api) -> None:
    """Missing, unknown and malformed fields each get a 4xx problem naming the field."""
    before = api.events()
    at = "2026-11-27T08:00:00Z"
    cases = [
        ({"discovered_at": at}, 422, "title"),
        ({"title": "x", "discovered_at": "yesterday"}, 422, "discovered_at"),
        ({"title": "x", "discovered_at": at, "colour": 1}, 422, "body"),
        ({"title": "x", "discovered_at": at, "source": "pigeon"}, 422, "source"),
    ]
    for body, status, field in cases:
        r = api.call("responder", "POST", "/api/v1/incidents", json=body)
        assert r.status_code == status, (body, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["field"] == field, r.json()
    malformed = api.call(
        "responder",
        "POST",
        "/api/v1/incidents",
        content=b'{"title": ',
        headers={"Content-Type": "application/json"},
    )
    assert malformed.status_code == 400
    assert malformed.json()["field"] == "body"
    assert api.events() == before


def test_board_pages_with_a_cursor_without_gaps_or_repeats(api: Api) -> None:
    """Walking the board page by page yields every incident once, newest first."""
    made = [api.report(title=f"Incident {i}")["id"] for i in range(7)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.call("auditor", "GET", "/api/v1/incidents", params=params).json()
        seen += [row["incident_id"] for row in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))
    bad = api.call("auditor", "GET", "/api/v1/incidents", params={"cursor": "!!"})
    assert bad.status_code == 422
    assert bad.json()["field"] == "cursor"


def test_stale_if_match_is_refused_with_412_and_nothing_changes(api: Api) -> None:
    """A change made against an old ETag is refused; against the current one it applies."""
    incident = api.report()
    path = f"/api/v1/incidents/{incident['id']}/notes"
    ok = api.call("responder", "POST", path, json={"text": "first"}, headers={"If-Match": '"1"'})
    assert ok.status_code == 200
    assert ok.headers["ETag"] == '"2"'
    before = api.events()
    stale = api.call("responder", "POST", path, json={"text": "late"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json()["field"] == "If-Match"
    assert api.events() == before
    garbled = api.call("responder", "POST", path, json={"text": "x"}, headers={"If-Match": "v1"})
    assert garbled.status_code == 400


def test_every_incident_change_applies_and_records_the_caller(api: Api) -> None:
    """Amend, triage, note, close and reopen each change the incident as the API says."""
    base = f"/api/v1/incidents/{api.report()['id']}"
    steps = [
        ("PATCH", "", {"reason": "typo", "title": "Laptop stolen from car"}, "title"),
        ("POST", "/triage", {"severity": "high", "personal_data_breach": "yes"}, "severity"),
        ("POST", "/notes", {"text": "Police informed"}, "notes"),
        ("POST", "/close", {"resolution": "Device wiped remotely"}, "status"),
        ("POST", "/reopen", {"reason": "Backup disk also missing"}, "status"),
    ]
    expected = ["Laptop stolen from car", "high", 1, "closed", "open"]
    for (method, suffix, body, key), want in zip(steps, expected, strict=True):
        r = api.call("responder", method, base + suffix, json=body)
        assert r.status_code == 200, r.text
        assert r.json()[key] == want
    current = api.call("responder", "GET", base)
    assert current.headers["ETag"] == f'"{current.json()["version"]}"'
    assert current.json()["version"] >= 6


def test_rule_refusal_is_a_409_naming_the_rule(api: Api) -> None:
    """Reopening an open incident is refused by the aggregate (409) and appends nothing."""
    base = f"/api/v1/incidents/{api.report()['id']}"
    before = api.events()
    r = api.call("responder", "POST", base + "/reopen", json={"reason": "why not"})
    assert r.status_code == 409
    assert r.json()["field"]
    assert api.events() == before


def test_unknown_incident_is_404_and_bad_id_is_422(api: Api) -> None:
    """Reading an id that does not exist is 404; a malformed id names the path field."""
    missing = api.call("auditor", "GET", "/api/v1/incidents/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    bad = api.call("auditor", "GET", "/api/v1/incidents/not-a-uuid")
    assert bad.status_code == 422
    assert bad.json()["field"] == "incident_id"


def test_reporter_sees_only_what_they_reported(api: Api) -> None:
    """A reporter's board holds only their incidents; another's is 403 to them."""
    mine = api.report("reporter", title="My laptop")
    theirs = api.report("responder", title="Server room")
    board = api.call("reporter", "GET", "/api/v1/incidents").json()["items"]
    assert [row["incident_id"] for row in board] == [mine["id"]]
    assert api.call("reporter", "GET", f"/api/v1/incidents/{mine['id']}").status_code == 200
    assert api.call("reporter", "GET", f"/api/v1/incidents/{theirs['id']}").status_code == 403


def test_script_in_text_is_stored_verbatim_and_served_as_json(api: Api) -> None:
    """Script in a title is data: stored as typed, answered as JSON, never as HTML."""
    title = '<script>alert("x")</script>'
    doc = api.report(title=title)
    r = api.call("auditor", "GET", f"/api/v1/incidents/{doc['id']}")
    assert r.json()["title"] == title
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
