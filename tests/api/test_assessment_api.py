"""The assessment routes: record and read an assessment, what-if evaluations, decisions on
obligations, and the obligations list by urgency, with their refusals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.http.pagination import encode_cursor
from tests.api.conftest import Api
from tests.support.clocks import ManualClock
from tests.support.facts import PORTAL_LEAK

AWARE = "2026-11-27T08:30:00Z"
GDPR_DEADLINE = "2026-11-30T08:30:00Z"
MISSING = "00000000-0000-4000-8000-000000000000"
SA = "eu_gdpr/supervisory_authority"


def assessed(api: Api, role: str = "responder", **report: Any) -> dict[str, Any]:
    """Report an incident (aware 08:30 UTC) as ``role`` and record the portal leak on it."""
    incident = api.report(role, aware_at=AWARE, **report)
    r = api.call("dpo", "POST", f"/api/v1/incidents/{incident['id']}/assessment", json=PORTAL_LEAK)
    assert r.status_code == 200, r.text
    return dict(r.json())


def refused(r: Any, status: int, field: str) -> None:
    """Assert a problem response with this status naming this field."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == field, r.json()


def walk(api: Api, path: str, limit: int, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paged list, following the cursors."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        r = api.call("auditor", "GET", path, params=query)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the cursors never reached the last page")


def test_assessment_is_recorded_and_read_back_with_its_working(api: Api) -> None:
    """The DPO's assessment answers severity with its terms and dated obligations; a reader
    gets the same with the incident's version as ETag."""
    incident = api.report(aware_at=AWARE)
    path = f"/api/v1/incidents/{incident['id']}/assessment"
    r = api.call("dpo", "POST", path, json=PORTAL_LEAK, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert r.headers["ETag"] == f'"{doc["version"]}"'
    assert doc["assessed_by"] == "dpo"
    assert doc["severity"]["band"] == "high"
    assert {f["name"] for f in doc["severity"]["factors"]} >= {"DPC", "CB"}
    sa = next(o for o in doc["evaluation"]["obligations"] if o["id"] == SA)
    assert datetime.fromisoformat(sa["deadline"]) == datetime.fromisoformat(GDPR_DEADLINE)
    assert sa["content"]
    read = api.call("auditor", "GET", path)
    assert read.status_code == 200
    assert read.headers["ETag"] == r.headers["ETag"]
    assert read.json() == doc


def test_assessment_answers_both_axes_the_matrix_cell_and_the_reasons(api: Api) -> None:
    """The answer carries the likelihood with its factors, the matrix cell and the reasons, and
    a named category adjustment outside the method's steps is refused naming the field."""
    doc = assessed(api)
    severity = doc["severity"]
    assert severity["likelihood"]["level"] == "maximum"
    assert {f["name"] for f in severity["likelihood"]["factors"]} >= {"baseline", "malicious"}
    assert severity["matrix"] == (
        "severity high x likelihood maximum -> likely to result in a high risk"
    )
    assert severity["reasons"][0].startswith("Severity high")
    incident = api.report(aware_at=AWARE)
    path = f"/api/v1/incidents/{incident['id']}/assessment"
    before = api.events()
    bad = {
        **PORTAL_LEAK,
        "dpc_adjustments": [
            {"name": "simple_profiling", "category": "contact", "step": 3, "reason": "r"}
        ],
    }
    refused(api.call("dpo", "POST", path, json=bad), 422, "dpc_adjustments")
    assert api.events() == before


def test_assessment_refusals_name_the_field_and_record_nothing(api: Api) -> None:
    """Wrong role, inconsistent or unknown facts, moments, a stale version, a repeat and an
    unknown incident are each refused, and the log does not grow."""
    doc = assessed(api)
    path = f"/api/v1/incidents/{doc['incident_id']}/assessment"
    before = api.events()
    refused(api.call("responder", "POST", path, json=PORTAL_LEAK), 403, "role")
    refused(
        api.call("dpo", "POST", path, json={**PORTAL_LEAK, "people": {"count": 10}}),
        422,
        "people_by_jurisdiction",
    )
    refused(api.call("dpo", "POST", path, json={**PORTAL_LEAK, "colour": "red"}), 422, "body")
    refused(api.call("dpo", "POST", path, json={**PORTAL_LEAK, "moments": {}}), 422, "moments")
    refused(
        api.call("dpo", "POST", path, json={**PORTAL_LEAK, "assessed_notifiable_at": "soon"}),
        422,
        "assessed_notifiable_at",
    )
    refused(api.call("dpo", "POST", path, json=[1, 2]), 422, "body")
    changed = {**PORTAL_LEAK, "intent": "accidental"}
    refused(
        api.call("dpo", "POST", path, json=changed, headers={"If-Match": '"1"'}), 412, "If-Match"
    )
    again = api.call("dpo", "POST", path, json=PORTAL_LEAK)
    assert again.status_code == 409
    assert "changes nothing" in again.json()["detail"]
    missing = f"/api/v1/incidents/{MISSING}/assessment"
    assert api.call("dpo", "POST", missing, json=PORTAL_LEAK).status_code == 404
    assert api.events() == before


def test_assessment_is_read_by_readers_of_every_incident_only(api: Api) -> None:
    """The assessment is for readers of every incident (as on the dashboard): a reporter may
    not read it, not even of their own incident, nor may an admin; an unassessed incident is
    404 naming the assessment."""
    mine = assessed(api, "reporter")
    own = f"/api/v1/incidents/{mine['incident_id']}/assessment"
    refused(api.call("reporter", "GET", own), 403, "role")
    refused(api.call("admin", "GET", own), 403, "role")
    read = api.call("auditor", "GET", own)
    assert read.status_code == 200
    assert read.json()["assessment_digest"] == mine["assessment_digest"]
    plain = api.report()
    refused(
        api.call("auditor", "GET", f"/api/v1/incidents/{plain['id']}/assessment"),
        404,
        "assessment",
    )
    refused(api.call("auditor", "GET", f"/api/v1/incidents/{MISSING}/assessment"), 404, "id")


def test_what_if_evaluates_given_moments_and_records_nothing(api: Api) -> None:
    """A what-if on given moments dates the obligations from them and appends no event."""
    before = api.events()
    body = {"facts": PORTAL_LEAK, "moments": {"discovered_at": AWARE, "aware_at": AWARE}}
    r = api.call("dpo", "POST", "/api/v1/what-if", json=body)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["recorded"] is False
    assert result["severity"]["band"] == "high"
    sa = next(o for o in result["evaluation"]["obligations"] if o["id"] == SA)
    assert datetime.fromisoformat(sa["deadline"]) == datetime.fromisoformat(GDPR_DEADLINE)
    bare = api.call("dpo", "POST", "/api/v1/what-if", json={"facts": PORTAL_LEAK})
    assert bare.status_code == 200
    assert bare.json()["moments"]["discovered_at"].startswith("2026-11-27T09:00")
    assert api.events() == before


def test_what_if_on_an_incident_uses_its_moments(api: Api) -> None:
    """Against an incident the what-if counts from its awareness time, changing nothing."""
    incident = api.report(aware_at=AWARE)
    before = api.events()
    body = {"facts": {**PORTAL_LEAK, "intent": "accidental"}, "incident_id": incident["id"]}
    r = api.call("dpo", "POST", "/api/v1/what-if", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["incident_id"] == incident["id"]
    assert datetime.fromisoformat(r.json()["moments"]["aware_at"]) == datetime.fromisoformat(AWARE)
    assert api.events() == before
    assert api.call("auditor", "GET", f"/api/v1/incidents/{incident['id']}").json()["version"] == 1


def test_what_if_refusals_name_the_field(api: Api) -> None:
    """Bad facts, bad or unknown moments, moments with an incident, an unknown incident,
    an unknown body field and a caller who may not assess are refused."""
    incident = api.report()
    before = api.events()
    cases: list[tuple[str, dict[str, Any], int, str]] = [
        ("responder", {"facts": PORTAL_LEAK}, 403, "role"),
        (
            "dpo",
            {"facts": {**PORTAL_LEAK, "people": {"count": 10}}},
            422,
            "facts.people_by_jurisdiction",
        ),
        ("dpo", {"facts": {**PORTAL_LEAK, "recipients": "aliens"}}, 422, "facts.recipients"),
        ("dpo", {"facts": PORTAL_LEAK, "moments": {"aware_at": "later"}}, 422, "moments.aware_at"),
        ("dpo", {"facts": PORTAL_LEAK, "moments": {"seen_at": AWARE}}, 422, "moments"),
        (
            "dpo",
            {
                "facts": PORTAL_LEAK,
                "moments": {"discovered_at": AWARE, "aware_at": "2026-11-20T00:00Z"},
            },
            422,
            "moments.aware_at",
        ),
        (
            "dpo",
            {"facts": PORTAL_LEAK, "incident_id": incident["id"], "moments": {}},
            422,
            "moments",
        ),
        ("dpo", {"facts": PORTAL_LEAK, "incident_id": MISSING}, 404, "incident_id"),
        ("dpo", {"facts": PORTAL_LEAK, "record": True}, 422, "body"),
    ]
    for role, body, status, field in cases:
        refused(api.call(role, "POST", "/api/v1/what-if", json=body), status, field)
    assert api.events() == before


def test_decision_is_recorded_and_takes_the_obligation_off_the_open_list(api: Api) -> None:
    """A 'notified' decision answers the decision and the
    obligation; the open list no longer holds it and the incident's list shows it notified."""
    doc = assessed(api)
    incident = doc["incident_id"]
    version = doc["version"]
    r = api.call(
        "dpo",
        "POST",
        f"/api/v1/incidents/{incident}/obligations/uk_gdpr/ico/decision",
        json={
            "decision": "notified",
            "reason": "filed online",
            "notified_at": "2026-11-27T08:50:00+00:00",
            "reference": "ICO-77",
        },
        headers={"If-Match": f'"{version}"'},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["obligation_id"] == "uk_gdpr/ico"
    assert body["decision"]["actor"] == "dpo"
    assert body["decision"]["reference"] == "ICO-77"
    assert body["obligation"]["regime"] == "uk_gdpr"
    assert r.headers["ETag"] == f'"{body["version"]}"'
    assert body["version"] > version
    still_open = {row["obligation_id"] for row in walk(api, "/api/v1/obligations", 50)}
    assert "uk_gdpr/ico" not in still_open
    assert SA in still_open
    mine = walk(api, f"/api/v1/incidents/{incident}/obligations", 50)
    ico = next(row for row in mine if row["obligation_id"] == "uk_gdpr/ico")
    assert (ico["status"], ico["decided_by"], ico["urgency"]) == ("notified", "dpo", "done")


def test_decision_refusals_name_the_field_and_record_nothing(api: Api) -> None:
    """Wrong role, a stale version, no assessment yet, an unknown obligation or decision, a
    notification without its time, and a bad time are each refused without an event."""
    doc = assessed(api)
    base = f"/api/v1/incidents/{doc['incident_id']}/obligations"
    path = f"{base}/{SA}/decision"
    plain = api.report()
    before = api.events()
    notify = {"decision": "notify", "reason": "likely risk"}
    refused(api.call("responder", "POST", path, json=notify), 403, "role")
    refused(
        api.call("dpo", "POST", path, json=notify, headers={"If-Match": '"1"'}), 412, "If-Match"
    )
    unassessed = f"/api/v1/incidents/{plain['id']}/obligations/{SA}/decision"
    refused(api.call("dpo", "POST", unassessed, json=notify), 409, "obligation")
    refused(api.call("dpo", "POST", f"{base}/xx_none/decision", json=notify), 409, "obligation")
    refused(api.call("dpo", "POST", f"{base}/uk_gdpr/ic/decision", json=notify), 422, "obligation")
    refused(api.call("dpo", "POST", path, json={**notify, "decision": "maybe"}), 422, "decision")
    refused(
        api.call("dpo", "POST", path, json={**notify, "decision": "notified"}), 409, "notified_at"
    )
    late = {**notify, "decision": "notified", "notified_at": "tomorrow", "reference": "X"}
    refused(api.call("dpo", "POST", path, json=late), 422, "notified_at")
    future = {**late, "notified_at": "2027-01-01T00:00:00Z"}
    refused(api.call("dpo", "POST", path, json=future), 409, "notified_at")
    refused(
        api.call(
            "dpo", "POST", f"/api/v1/incidents/{MISSING}/obligations/{SA}/decision", json=notify
        ),
        404,
        "id",
    )
    assert api.events() == before


def test_obligations_page_by_urgency_without_gaps_or_repeats(api: Api) -> None:
    """Walking the open obligations page by page gives the CLI's urgency order exactly;
    with all=true the decided and untriggered ones follow."""
    for _ in range(3):
        assessed(api)
    clock = api.rt.app.core.clock
    assert isinstance(clock, ManualClock)
    now = clock.advance(days=3, hours=12)
    expected = [
        (r["incident_id"], r["obligation_id"])
        for r in api.rt.obligations.by_urgency(now, open_only=True)
    ]
    seen = [(r["incident_id"], r["obligation_id"]) for r in walk(api, "/api/v1/obligations", 4)]
    assert seen == expected
    every = walk(api, "/api/v1/obligations", 5, all="true")
    assert [(r["incident_id"], r["obligation_id"]) for r in every] == [
        (r["incident_id"], r["obligation_id"]) for r in api.rt.obligations.by_urgency(now)
    ]
    first = every[0]
    assert (first["urgency"], first["seconds_left"] < 0) == ("overdue", True)
    assert isinstance(first["triggered"], bool)
    assert "DE" in first["jurisdictions"]
    assert every[-1]["urgency"] == "n/a"


def test_obligations_filters_select_what_they_name(api: Api) -> None:
    """Urgency, status, regime and incident filters each return only matching rows; bad
    filters and cursors name the parameter; only obligation readers may list."""
    one = assessed(api)
    assessed(api)
    on_track = walk(api, "/api/v1/obligations", 50, urgency="on_track")
    assert {r["obligation_id"] for r in on_track} == {SA, "uk_gdpr/ico"}
    assert len(on_track) == 4
    assert walk(api, "/api/v1/obligations", 50, urgency="overdue") == []
    untriggered = walk(api, "/api/v1/obligations", 50, status="not_triggered")
    assert {(r["status"], r["urgency"]) for r in untriggered} == {("not_triggered", "n/a")}
    chinese = walk(api, "/api/v1/obligations", 50, regime="cn_pipl")
    assert {r["regime"] for r in chinese} == {"cn_pipl"}
    assert len(chinese) == 4
    mine = walk(api, "/api/v1/obligations", 50, incident=one["incident_id"])
    assert {r["incident_id"] for r in mine} == {one["incident_id"]}
    for params, field in (
        ({"urgency": "soonish"}, "urgency"),
        ({"status": "gone"}, "status"),
        ({"cursor": "!!"}, "cursor"),
        ({"cursor": encode_cursor([{}, 1, 2, 3, 4])}, "cursor"),
        ({"limit": 0}, "limit"),
        ({"incident": "abc"}, "incident"),
    ):
        refused(api.call("auditor", "GET", "/api/v1/obligations", params=params), 422, field)
    refused(api.call("reporter", "GET", "/api/v1/obligations"), 403, "role")


def test_incident_obligations_list_all_of_one_incident(api: Api) -> None:
    """One incident's list holds every obligation, untriggered included, in pages; an unknown
    incident is 404 and a reporter may not read it."""
    doc = assessed(api)
    assessed(api)
    path = f"/api/v1/incidents/{doc['incident_id']}/obligations"
    rows = walk(api, path, 2)
    assert {r["obligation_id"] for r in rows} == {o["id"] for o in doc["evaluation"]["obligations"]}
    assert {r["incident_id"] for r in rows} == {doc["incident_id"]}
    refused(api.call("auditor", "GET", f"/api/v1/incidents/{MISSING}/obligations"), 404, "id")
    refused(api.call("reporter", "GET", path), 403, "role")


def test_times_without_an_offset_are_read_in_the_configured_zone(oslo: Api) -> None:
    """Naive what-if moments and notification times are Oslo time; an obligation may be
    named by a unique prefix of its id."""
    body = {"facts": PORTAL_LEAK, "moments": {"discovered_at": "2026-11-27T09:30:00"}}
    r = oslo.call("dpo", "POST", "/api/v1/what-if", json=body)
    assert r.status_code == 200, r.text
    moment = datetime.fromisoformat(r.json()["moments"]["discovered_at"])
    assert moment == datetime.fromisoformat("2026-11-27T08:30:00+00:00")
    doc = assessed(oslo)
    r = oslo.call(
        "dpo",
        "POST",
        f"/api/v1/incidents/{doc['incident_id']}/obligations/eu_gdpr/sup/decision",
        json={
            "decision": "notified",
            "reason": "filed",
            "notified_at": "2026-11-27T09:45:00",
            "reference": "DE-1",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["obligation_id"] == SA
    notified = datetime.fromisoformat(r.json()["decision"]["notified_at"])
    assert notified == datetime.fromisoformat("2026-11-27T08:45:00+00:00")


def test_headline_comes_from_the_duties_due_and_the_band_recommendation_stays(oslo: Api) -> None:
    """The assessment's headline names the lead authority and its deadline in the configured
    zone, reads back the same, and keeps the band's recommendation beside it; a processor's
    what-if headline tells only the controller, by name, and a provisional clock is marked."""
    incident = oslo.report(aware_at=AWARE)
    path = f"/api/v1/incidents/{incident['id']}/assessment"
    doc = oslo.call("dpo", "POST", path, json=PORTAL_LEAK).json()
    assert doc["headline"].startswith(
        "Notify the supervisory authority (lead: DE, concerned: FR, by 2026-11-30 09:30 CET), "
        "the ICO (GB, by 2026-11-30 09:30 CET)"
    )
    assert doc["headline"].endswith(" and the people affected")
    assert doc["severity"]["recommendation"]
    sa = next(o for o in doc["evaluation"]["obligations"] if o["id"] == SA)
    assert sa["authorities"] == {"lead": "DE", "concerned": ["FR"]}
    assert sa["jurisdictions"] == ["DE", "FR"]
    assert oslo.call("auditor", "GET", path).json()["headline"] == doc["headline"]
    processor = {**PORTAL_LEAK, "role": "processor", "customer": "Acme GmbH"}
    body = {"facts": processor, "moments": {"discovered_at": AWARE, "aware_at": AWARE}}
    result = oslo.call("dpo", "POST", "/api/v1/what-if", json=body).json()
    assert result["headline"].startswith("Tell the controller, Acme GmbH, without undue delay")
    assert "supervisory authority" not in result["headline"]
    singapore = {**PORTAL_LEAK, "people_by_jurisdiction": {"SG": 2300}, "establishments": []}
    body = {"facts": singapore, "moments": {"discovered_at": AWARE}}
    result = oslo.call("dpo", "POST", "/api/v1/what-if", json=body).json()
    assert "(provisional)" in result["headline"]
    pdpc = next(o for o in result["evaluation"]["obligations"] if o["id"] == "sg_pdpa/pdpc")
    assert pdpc["provisional"].startswith("assessed_notifiable_at not given")
