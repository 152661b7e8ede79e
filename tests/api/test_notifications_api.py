"""The notification routes: draft, redraft, list, read, preview, approve, send (the dispatcher
run against a real SMTP server), pause, resume, cancel; uncertain notices; the local mailbox
and the template check; with their refusals."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import UUID

from services.notifications.mailbox import CaptureServer, MailboxCheck
from services.smtp_target import SmtpTarget
from tests.api.conftest import Api, make_user
from tests.support.campaigns import CONTENT
from tests.support.clocks import ManualClock
from tests.support.people import person
from tests.support.smtp import smtp_sink

AUTHORITIES = [
    {"name": "BfDI", "email": "poststelle@bfdi.example.org"},
    {"name": "CAC", "email": "report@cac.example.cn", "language": "zh-CN"},
]
MISSING = "00000000-0000-4000-8000-000000000000"


def with_people(api: Api, count: int) -> str:
    """An incident affecting ``count`` people (imported through the API)."""
    incident = api.report()["id"]
    out = io.StringIO()
    rows = [person(i) for i in range(count)]
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    r = api.call(
        "responder",
        "POST",
        f"/api/v1/incidents/{incident}/people",
        content=out.getvalue().encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    return incident


def drafted(api: Api, incident: str, role: str = "responder", **fields: Any) -> dict[str, Any]:
    """Draft a campaign as ``role``; return its document."""
    body = {"audience": "people", **CONTENT, **fields}
    r = api.call(role, "POST", f"/api/v1/incidents/{incident}/campaigns", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def approved(api: Api, campaign: str, **preview: Any) -> dict[str, Any]:
    """Preview as the responder, then approve as the DPO against the previewed version."""
    shown = api.call("responder", "POST", f"/api/v1/campaigns/{campaign}/preview", json=preview)
    assert shown.status_code == 200, shown.text
    r = api.call(
        "dpo",
        "POST",
        f"/api/v1/campaigns/{campaign}/approve",
        headers={"If-Match": shown.headers["ETag"]},
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def sending(api: Api, count: int = 3, **fields: Any) -> tuple[str, str]:
    """An incident and its people campaign, approved and started; return both ids."""
    incident = with_people(api, count)
    campaign = drafted(api, incident, **fields)["campaign_id"]
    approved(api, campaign)
    r = api.call("responder", "POST", f"/api/v1/campaigns/{campaign}/send")
    assert r.status_code == 202, r.text
    return incident, campaign


def dispatch(api: Api, port: int, mailbox: Any = None) -> Any:
    """Run the dispatcher until nothing is due, against the SMTP server on ``port``."""
    delivery = MailboxCheck(mailbox) if mailbox is not None else None
    target = SmtpTarget("127.0.0.1", port)
    return asyncio.run(api.rt.dispatcher(target, delivery).run())


def test_draft_preview_approve_send_and_follow_the_progress(api: Api, tmp_path: Path) -> None:
    """A responder drafts and previews, the DPO approves the previewed version, sending
    answers 202 and, once the dispatcher ran, the campaign shows every notice sent."""
    incident = with_people(api, 5)
    r = api.call(
        "responder",
        "POST",
        f"/api/v1/incidents/{incident}/campaigns",
        json={"audience": "people", **CONTENT},
    )
    assert r.status_code == 201, r.text
    doc = r.json()
    campaign = doc["campaign_id"]
    assert r.headers["Location"] == f"/api/v1/campaigns/{campaign}"
    assert r.headers["ETag"] == '"1"'
    assert (doc["status"], doc["drafted_by"], doc["audience"]) == ("draft", "responder", "people")
    shown = api.call("responder", "POST", f"/api/v1/campaigns/{campaign}/preview")
    assert shown.status_code == 200
    assert shown.headers["ETag"] == '"2"'
    assert CONTENT["measures"] in shown.json()["text"]
    assert shown.json()["subject"]
    before = api.events()
    refusals = [
        ("responder", {"If-Match": '"2"'}, 403, "role"),
        ("dpo", {}, 428, "If-Match"),
        ("dpo", {"If-Match": '"1"'}, 412, "If-Match"),
    ]
    for role, headers, status, field in refusals:
        refused = api.call(role, "POST", f"/api/v1/campaigns/{campaign}/approve", headers=headers)
        assert refused.status_code == status, refused.text
        assert refused.json()["field"] == field
    assert api.events() == before
    ok = api.call(
        "dpo", "POST", f"/api/v1/campaigns/{campaign}/approve", headers={"If-Match": '"2"'}
    )
    assert ok.status_code == 200, ok.text
    assert (ok.json()["status"], ok.json()["approved_by"]) == ("approved", "dpo")
    started = api.call("responder", "POST", f"/api/v1/campaigns/{campaign}/send")
    assert started.status_code == 202, started.text
    assert started.headers["Location"] == f"/api/v1/campaigns/{campaign}"
    progress = started.json()["progress"]
    assert (progress["status"], progress["queued"], progress["total"]) == ("dispatching", 5, 5)
    with smtp_sink(tmp_path) as sink:
        report = dispatch(api, sink.port)
        state = sink.state()
    assert (report.sent, state["unique"], state["duplicates"]) == (5, 5, {})
    current = api.call("auditor", "GET", f"/api/v1/campaigns/{campaign}")
    assert current.headers["ETag"] == f'"{current.json()["version"]}"'
    progress = current.json()["progress"]
    assert (progress["status"], progress["sent"], progress["done"]) == ("completed", 5, 5)
    export = api.call("dpo", "POST", "/api/v1/people/export", json={"email": person(0)["email"]})
    assert [n["status"] for n in export.json()["records"][0]["notices"]] == ["sent"]


def test_approval_needs_a_dpo_who_did_not_draft_and_a_preview(api: Api) -> None:
    """Approving an unpreviewed draft, or one the approving DPO drafted (holding the
    responder role too), is refused by the rule; it stays a draft and nothing is stored."""
    api.tokens["lead"], _ = make_user(api.rt, "lead", ["responder", "dpo"])
    incident = with_people(api, 2)
    unseen = drafted(api, incident)
    own = drafted(api, incident, role="lead")
    shown = api.call("lead", "POST", f"/api/v1/campaigns/{own['campaign_id']}/preview")
    before = api.events()
    for role, campaign, etag, field in (
        ("dpo", unseen["campaign_id"], '"1"', "preview"),
        ("lead", own["campaign_id"], shown.headers["ETag"], "actor"),
    ):
        r = api.call(
            role, "POST", f"/api/v1/campaigns/{campaign}/approve", headers={"If-Match": etag}
        )
        assert r.status_code == 409, r.text
        assert r.json()["field"] == field
    assert api.events() == before
    assert api.call("dpo", "GET", f"/api/v1/campaigns/{own['campaign_id']}").json()["status"] == (
        "draft"
    )


def test_bad_drafts_are_refused_naming_the_field(api: Api) -> None:
    """Unknown or missing fields, an unknown audience, recipients for people or none for an
    authority, an unknown incident, or a caller who may not manage: refused, nothing
    stored."""
    incident = api.report()["id"]
    before = api.events()
    cases = [
        ("responder", incident, {"audience": "people", **CONTENT, "colour": 1}, 422, "body"),
        ("responder", incident, {"audience": "people", "nature": "x"}, 422, "consequences"),
        ("responder", incident, {**CONTENT, "audience": "press"}, 422, "audience"),
        (
            "responder",
            incident,
            {"audience": "people", **CONTENT, "recipients": AUTHORITIES},
            409,
            "recipients",
        ),
        ("responder", incident, {"audience": "authority", **CONTENT}, 409, "recipients"),
        ("responder", MISSING, {"audience": "people", **CONTENT}, 404, "id"),
        ("auditor", incident, {"audience": "people", **CONTENT}, 403, "role"),
    ]
    for role, target, body, status, field in cases:
        r = api.call(role, "POST", f"/api/v1/incidents/{target}/campaigns", json=body)
        assert r.status_code == status, (body, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["field"] == field, r.json()
    assert api.events() == before


def test_redraft_voids_the_approval_and_keeps_the_audience(api: Api) -> None:
    """A redraft of an approved campaign makes it a draft again that cannot be sent; a
    change of audience, a change of nothing and a stale version are refused."""
    incident = api.report()["id"]
    campaign = drafted(api, incident)["campaign_id"]
    version = approved(api, campaign)["version"]
    path = f"/api/v1/campaigns/{campaign}/redraft"
    changed = {"audience": "people", **CONTENT, "measures": "We also reset every password."}
    r = api.call("responder", "POST", path, json=changed, headers={"If-Match": f'"{version}"'})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert (doc["status"], doc["approved_by"], doc["content"]["measures"]) == (
        "draft",
        None,
        changed["measures"],
    )
    before = api.events()
    cases = [
        ({**changed, "audience": "customer"}, {}, 422, "audience"),
        (changed, {}, 409, "content"),
        ({**changed, "advice": "Stay calm."}, {"If-Match": f'"{version}"'}, 412, "If-Match"),
    ]
    for body, headers, status, field in cases:
        refused = api.call("responder", "POST", path, json=body, headers=headers)
        assert refused.status_code == status, refused.text
        assert refused.json()["field"] == field
    send = api.call("responder", "POST", f"/api/v1/campaigns/{campaign}/send")
    assert send.status_code == 409
    assert send.json()["field"] == "status"
    assert api.events() == before


def test_campaign_list_pages_and_filters(api: Api) -> None:
    """Walking the list page by page yields every campaign once, newest first, each with
    its progress; the incident and status filters narrow it; a bad cursor is 422."""
    first, second = api.report()["id"], api.report()["id"]
    made = [drafted(api, first if i % 2 else second)["campaign_id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.call("auditor", "GET", "/api/v1/campaigns", params=params).json()
        seen += [row["campaign_id"] for row in page["items"]]
        assert all(row["progress"]["total"] == 0 for row in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))
    mine = api.call("auditor", "GET", "/api/v1/campaigns", params={"incident_id": first}).json()
    assert [row["campaign_id"] for row in mine["items"]] == [made[3], made[1]]
    drafts = api.call("auditor", "GET", "/api/v1/campaigns", params={"status": "approved"})
    assert drafts.json()["items"] == []
    before = api.events()
    bad = api.call("auditor", "GET", "/api/v1/campaigns", params={"cursor": "!!"})
    assert (bad.status_code, bad.json()["field"]) == (422, "cursor")
    assert api.call("reporter", "GET", "/api/v1/campaigns").status_code == 403
    assert api.call("auditor", "GET", f"/api/v1/campaigns/{MISSING}").status_code == 404
    assert api.events() == before


def test_preview_for_a_person_needs_the_rights_permission(api: Api) -> None:
    """A responder may preview sample data but not a person's notice; the DPO sees the
    person's; an authority recipient is chosen by index; bad choices are refused."""
    incident = with_people(api, 3)
    campaign = drafted(api, incident)["campaign_id"]
    path = f"/api/v1/campaigns/{campaign}/preview"
    before = api.events()
    for role, body, status, field in (
        ("responder", {"email": person(0)["email"]}, 403, "email"),
        ("dpo", {"email": "nobody@example.org"}, 404, "email"),
        ("dpo", {"email": person(0)["email"], "colour": 1}, 422, "body"),
        ("auditor", {}, 403, "role"),
    ):
        r = api.call(role, "POST", path, json=body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["field"] == field
        assert person(0)["name"] not in r.text
    assert api.events() == before
    mine = api.call("dpo", "POST", path, json={"email": person(0)["email"]})
    assert mine.status_code == 200
    assert f"Dear {person(0)['name']}," in mine.json()["text"]
    authority = drafted(api, incident, audience="authority", recipients=AUTHORITIES)
    apath = f"/api/v1/campaigns/{authority['campaign_id']}/preview"
    chinese = api.call("responder", "POST", apath, json={"recipient": 1})
    assert chinese.status_code == 200
    assert (chinese.json()["language"], chinese.json()["fallback"]) == ("zh-CN", False)
    beyond = api.call("responder", "POST", apath, json={"recipient": 2})
    assert (beyond.status_code, beyond.json()["field"]) == (422, "recipient")


def test_sending_is_started_once_and_refused_when_not_approved(api: Api) -> None:
    """Sending a draft is refused; sending a campaign already sending changes nothing; a
    caller who may not manage campaigns, or an unknown campaign, is refused."""
    incident = api.report()["id"]
    draft = drafted(api, incident)["campaign_id"]
    before = api.events()
    refused = api.call("responder", "POST", f"/api/v1/campaigns/{draft}/send")
    assert (refused.status_code, refused.json()["field"]) == (409, "status")
    assert api.call("dpo", "POST", f"/api/v1/campaigns/{draft}/send").status_code == 403
    assert api.call("responder", "POST", f"/api/v1/campaigns/{MISSING}/send").status_code == 404
    assert api.events() == before
    _, campaign = sending(api)
    before = api.events()
    again = api.call("responder", "POST", f"/api/v1/campaigns/{campaign}/send")
    assert (again.status_code, again.json()["status"]) == (202, "dispatching")
    assert api.events() == before


def test_pause_resume_and_cancel_with_reasons(api: Api, tmp_path: Path) -> None:
    """A paused campaign sends nothing; resumed, it sends; cancelled, it is over. Wrong
    states, empty reasons and callers without the permission are refused."""
    _, campaign = sending(api, 4)
    base = f"/api/v1/campaigns/{campaign}"
    paused = api.call("dpo", "POST", base + "/pause", json={"reason": "legal review"})
    assert (paused.status_code, paused.json()["status"]) == (200, "paused")
    before = api.events()
    for role, suffix, body, status, field in (
        ("responder", "/pause", {"reason": "again"}, 409, "status"),
        ("responder", "/cancel", {"reason": ""}, 422, "reason"),
        ("responder", "/cancel", {}, 422, "reason"),
        ("auditor", "/resume", None, 403, "role"),
    ):
        r = api.call(role, "POST", base + suffix, json=body)
        assert r.status_code == status, (suffix, r.text)
        assert r.json()["field"] == field
    assert api.events() == before
    with smtp_sink(tmp_path) as sink:
        dispatch(api, sink.port)
        assert sink.state().get("accepted", 0) == 0
        resumed = api.call("responder", "POST", base + "/resume")
        assert (resumed.status_code, resumed.json()["status"]) == (200, "dispatching")
        dispatch(api, sink.port)
        assert sink.state()["unique"] == 4
    stop = api.call("responder", "POST", base + "/cancel", json={"reason": "done anyway"})
    assert (stop.status_code, stop.json()["field"]) == (409, "status")
    _, other = sending(api, 2)
    cancelled = api.call(
        "responder", "POST", f"/api/v1/campaigns/{other}/cancel", json={"reason": "wrong list"}
    )
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")


def uncertain_notices(api: Api, count: int) -> str:
    """A started campaign whose ``count`` notices a crash left between 'sending' and the
    server's answer, found uncertain by the next dispatcher; return the campaign id."""
    _, campaign = sending(api, count)
    crashed = api.rt.dispatcher(SmtpTarget("127.0.0.1", 9))
    claims, _ = crashed.claim(api.rt.app.core.clock.now())
    assert len(claims) == count
    api.rt.settle()
    clock = api.rt.app.core.clock
    assert isinstance(clock, ManualClock)
    clock.advance(seconds=api.rt.settings.sending_lease_seconds + 1)
    assert api.rt.dispatcher(SmtpTarget("127.0.0.1", 9)).recover()["uncertain"] == count
    api.rt.settle()
    return campaign


def test_uncertain_notices_are_listed_and_resolved(api: Api) -> None:
    """Notices a crash left uncertain are listed page by page; one is confirmed delivered,
    another requeued (both by the DPO); a settled one, an empty reason, an auditor or a
    responder are refused."""
    campaign = uncertain_notices(api, 3)
    listed: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.call("auditor", "GET", "/api/v1/notices/uncertain", params=params).json()
        listed += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(listed) == 3
    assert {n["campaign_id"] for n in listed} == {campaign}
    assert all(n["message_id"].startswith("<") for n in listed)
    first, second = listed[0]["notice_id"], listed[1]["notice_id"]
    sent = api.call(
        "dpo",
        "POST",
        f"/api/v1/notices/{first}/resolve",
        json={"delivered": True, "reason": "found in the relay's log"},
    )
    assert (sent.status_code, sent.json()["status"]) == (200, "sent")
    requeued = api.call(
        "dpo",
        "POST",
        f"/api/v1/notices/{second}/resolve",
        json={"delivered": False, "reason": "not in the relay's log"},
    )
    assert (requeued.status_code, requeued.json()["status"]) == (200, "queued")
    before = api.events()
    for role, notice, body, status, field in (
        ("dpo", first, {"delivered": True, "reason": "twice"}, 409, "status"),
        ("dpo", listed[2]["notice_id"], {"delivered": True, "reason": ""}, 422, "reason"),
        ("dpo", listed[2]["notice_id"], {"reason": "r"}, 422, "delivered"),
        ("auditor", listed[2]["notice_id"], {"delivered": True, "reason": "r"}, 403, "role"),
        ("responder", listed[2]["notice_id"], {"delivered": True, "reason": "r"}, 403, "role"),
        ("dpo", MISSING, {"delivered": True, "reason": "r"}, 404, "id"),
    ):
        r = api.call(role, "POST", f"/api/v1/notices/{notice}/resolve", json=body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["field"] == field
    assert api.events() == before
    left = api.call("auditor", "GET", "/api/v1/notices/uncertain").json()["items"]
    assert [n["notice_id"] for n in left] == [listed[2]["notice_id"]]


def test_mailbox_lists_and_shows_messages_guarding_people_s_ones(api: Api) -> None:
    """After sending to the local capture server, the mailbox lists every message; a
    message to a person (and its address) is shown only to the DPO, an authority's to any
    mailbox reader; by URL-encoded Message-ID or by sequence number."""
    _, people = sending(api, 3)
    incident = api.report()["id"]
    authority = drafted(api, incident, audience="authority", recipients=AUTHORITIES)
    approved(api, authority["campaign_id"], recipient=0)
    api.call("responder", "POST", f"/api/v1/campaigns/{authority['campaign_id']}/send")
    box = api.rt.mailbox()
    server = CaptureServer(box).start()
    try:
        report = dispatch(api, server.port, box)
    finally:
        server.stop()
        box.close()
    assert report.sent == 5
    listing = api.call("responder", "GET", "/api/v1/mailbox", params={"limit": 3}).json()
    assert listing["count"] == 5
    rest = api.call(
        "responder", "GET", "/api/v1/mailbox", params={"cursor": listing["next_cursor"]}
    ).json()
    entries = listing["items"] + rest["items"]
    assert [e["seq"] for e in entries] == [5, 4, 3, 2, 1]
    assert {(e["audience"], e["to"] is None) for e in entries} == {
        ("people", True),
        ("authority", False),
    }
    full = api.call("dpo", "GET", "/api/v1/mailbox").json()["items"]
    assert all("@" in e["to"] for e in full)
    personal = next(e for e in full if e["audience"] == "people")
    org = next(e for e in full if e["audience"] == "authority")
    shown = api.call("dpo", "GET", f"/api/v1/mailbox/{quote(personal['message_id'], safe='')}")
    assert shown.status_code == 200, shown.text
    doc = shown.json()
    assert CONTENT["measures"] in doc["text"]
    assert doc["headers"]["message-id"] == personal["message_id"]
    assert doc["headers"]["to"].endswith(f"<{doc['to']}>")
    bare = quote(personal["message_id"].strip("<>"), safe="")
    assert api.call("dpo", "GET", f"/api/v1/mailbox/{bare}").json()["seq"] == personal["seq"]
    before = api.events()
    by_seq = api.call("responder", "GET", f"/api/v1/mailbox/{org['seq']}")
    assert (by_seq.status_code, by_seq.json()["message_id"]) == (200, org["message_id"])
    for role, ref, status, field in (
        ("responder", str(personal["seq"]), 403, "role"),
        ("auditor", quote(personal["message_id"], safe=""), 403, "role"),
        ("dpo", "999", 404, "message_id"),
        ("dpo", quote("<nothing@example.org>", safe=""), 404, "message_id"),
        ("reporter", str(org["seq"]), 403, "role"),
    ):
        r = api.call(role, "GET", f"/api/v1/mailbox/{ref}")
        assert r.status_code == status, (role, ref, r.text)
        assert r.json()["field"] == field
        assert "applicants.example.org" not in r.text
    assert api.events() == before
    progress = api.call("auditor", "GET", f"/api/v1/campaigns/{people}").json()["progress"]
    assert progress["sent"] == 3


def test_template_check_reports_every_audience(api: Api) -> None:
    """The shipped templates pass the check for every audience and language; a reporter
    may not run it."""
    r = api.call("auditor", "GET", "/api/v1/templates/check")
    assert r.status_code == 200
    doc = r.json()
    assert (doc["ok"], doc["problems"]) == (True, [])
    assert set(doc["versions"]) == {"people", "authority", "customer"}
    assert "en" in doc["languages"]["people"]
    before = api.events()
    assert api.call("reporter", "GET", "/api/v1/templates/check").status_code == 403
    assert api.events() == before


def test_a_campaign_s_uncertain_notices_are_settled_at_once(api: Api) -> None:
    """With the Message-IDs found at the relay, those notices are confirmed and the rest
    queued again, in one call; a list holding none of them, both ways at once, neither, or
    an empty reason are refused naming the field, with nothing recorded; a responder may
    not; a second call finds nothing left to settle."""
    campaign = uncertain_notices(api, 4)
    listed = api.call("auditor", "GET", "/api/v1/notices/uncertain").json()["items"]
    found = [listed[0]["message_id"], listed[1]["message_id"], "<elsewhere@relay.example>"]
    url = f"/api/v1/campaigns/{campaign}/settle"
    before = api.events()
    for role, body, status, field in (
        ("dpo", {"reason": "log", "found": ["<nobody@relay.example>"]}, 409, "found"),
        ("dpo", {"reason": "log", "found": found, "delivered": True}, 422, "found"),
        ("dpo", {"reason": "log"}, 422, "found"),
        ("dpo", {"reason": "", "delivered": True}, 422, "reason"),
        ("dpo", {"reason": "log", "found": ["not a message id"]}, 422, "found"),
        ("responder", {"reason": "log", "delivered": True}, 403, "role"),
    ):
        r = api.call(role, "POST", url, json=body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["field"] == field
        assert "nobody@relay" not in r.text
    assert api.events() == before
    settled = api.call("dpo", "POST", url, json={"reason": "relay log", "found": found})
    assert settled.status_code == 200, settled.text
    assert settled.json() == {"uncertain": 4, "confirmed": 2, "requeued": 2}
    again = api.call("dpo", "POST", url, json={"reason": "relay log", "delivered": False})
    assert again.json() == {"uncertain": 0, "confirmed": 0, "requeued": 0}
    assert api.call("auditor", "GET", "/api/v1/notices/uncertain").json()["items"] == []


def test_progress_tells_of_notices_in_flight_and_a_stalled_campaign(api: Api) -> None:
    """Claimed notices with no answer are in flight, resolved by the lease after their
    claim; once nothing has moved for a minute the campaign is stalled, with no rate or
    time left; the campaign page says both in words."""
    _, campaign = sending(api, 3)
    clock = api.rt.app.core.clock
    assert isinstance(clock, ManualClock)
    api.rt.dispatcher(SmtpTarget("127.0.0.1", 9)).claim(clock.now())
    api.rt.settle()
    claimed = clock.now()
    lease = timedelta(seconds=api.rt.settings.sending_lease_seconds)
    fresh = api.rt.notifications.progress(UUID(campaign), claimed)
    assert fresh["in_flight"] == 3
    assert claimed - timedelta(seconds=1) < fresh["in_flight_resolved_by"] - lease <= claimed
    assert fresh["stalled_since"] is None
    later = api.rt.notifications.progress(UUID(campaign), claimed + timedelta(minutes=2))
    assert later["stalled_since"] is not None
    assert (later["rate_per_second"], later["seconds_left"]) == (None, None)


def test_the_languages_are_shown_and_a_mixed_notice_is_approved_only_when_allowed(
    api: Api,
) -> None:
    """The languages route names zh-CN as lacking content and counts those falling back;
    approving answers 409 naming allow_mixed (nothing stored) until the DPO's body says
    allow_mixed_languages, which the campaign then records."""
    incident = with_people(api, 8)
    english = {k: v for k, v in CONTENT.items() if k != "translations"}
    r = api.call(
        "responder",
        "POST",
        f"/api/v1/incidents/{incident}/campaigns",
        json={"audience": "people", **english},
    )
    campaign = r.json()["campaign_id"]
    plan = api.call("auditor", "GET", f"/api/v1/campaigns/{campaign}/languages").json()
    assert plan["lacking_content"] == ["zh-CN"]
    assert plan["falling_back"] == 4
    assert {x["language"]: x["mixed"] for x in plan["languages"]}["zh-CN"] is True
    shown = api.call("responder", "POST", f"/api/v1/campaigns/{campaign}/preview", json={})
    tag = {"If-Match": shown.headers["ETag"]}
    before = api.events()
    refused = api.call("dpo", "POST", f"/api/v1/campaigns/{campaign}/approve", headers=tag)
    assert refused.status_code == 409
    assert refused.json()["field"] == "allow_mixed"
    assert api.events() == before
    ok = api.call(
        "dpo",
        "POST",
        f"/api/v1/campaigns/{campaign}/approve",
        headers=tag,
        json={"allow_mixed_languages": True},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["mixed_allowed"] == ["zh-CN"]
    zh = api.call(
        "responder", "POST", f"/api/v1/campaigns/{campaign}/preview", json={"language": "zh-CN"}
    ).json()
    assert zh["mixed"] is True
