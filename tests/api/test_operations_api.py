"""The operations routes: view status, rebuilding every view, and checking the views."""

from __future__ import annotations

import sqlite3

from services.application.context import RequestContext
from tests.api.conftest import Api


def test_status_lists_every_view_at_the_head_of_the_log(api: Api) -> None:
    """After a settled change each view stands at the head, nothing behind."""
    api.report()
    r = api.call("admin", "GET", "/api/v1/views")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["head"] == api.events()
    names = [row["view"] for row in doc["items"]]
    assert names == sorted(api.rt.views.lag())
    assert "board" in names
    for row in doc["items"]:
        assert (row["position"], row["head"], row["behind"]) == (doc["head"], doc["head"], 0)


def test_status_shows_a_view_behind_after_an_unsettled_change(api: Api) -> None:
    """A change not yet projected shows every view one or more events behind."""
    api.rt.app.incidents.report_incident(
        {"title": "Unprojected", "discovered_at": "2026-11-27T08:00:00Z", "reporter": "x"},
        RequestContext(actor="setup"),
    )
    doc = api.call("admin", "GET", "/api/v1/views").json()
    assert all(row["behind"] >= 1 for row in doc["items"])


def test_rebuild_answers_counts_and_the_views_are_as_before(api: Api) -> None:
    """A rebuild reads the whole log into every view; the board is the same afterwards."""
    made = api.report(title="Rebuilt")["id"]
    board = api.call("auditor", "GET", "/api/v1/incidents").json()
    before = api.events()
    r = api.call("admin", "POST", "/api/v1/views/rebuild")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["views"] == len(api.rt.views.workers)
    assert doc["events"] == before
    assert doc["applied"] >= before
    assert api.events() == before
    assert api.call("auditor", "GET", "/api/v1/incidents").json() == board
    assert board["items"][0]["incident_id"] == made
    status = api.call("admin", "GET", "/api/v1/views").json()
    assert all(row["behind"] == 0 for row in status["items"])


def test_check_finds_the_views_equal_then_names_a_damaged_one(api: Api) -> None:
    """The live views equal a rebuild; after a row is deleted the board table differs."""
    api.report()
    r = api.call("admin", "GET", "/api/v1/views/check")
    assert r.status_code == 200, r.text
    assert r.json() == {"equal": True, "differences": {}}
    with sqlite3.connect(api.rt.settings.views_db) as db:
        db.execute("DELETE FROM board")
    doc = api.call("admin", "GET", "/api/v1/views/check").json()
    assert doc["equal"] is False
    assert doc["differences"]["board"] == {"missing_from_live": 1, "extra_in_live": 0}


def test_only_operators_may_see_or_rebuild_views(api: Api) -> None:
    """Every other role gets 403 naming the role, and nothing is appended."""
    before = api.events()
    for role in ("reporter", "responder", "dpo", "auditor"):
        for method, path in (
            ("GET", "/api/v1/views"),
            ("POST", "/api/v1/views/rebuild"),
            ("GET", "/api/v1/views/check"),
        ):
            r = api.call(role, method, path)
            assert r.status_code == 403, (role, path)
            assert r.json()["field"] == "role"
    assert api.client.get("/api/v1/views").status_code == 401
    assert api.events() == before
