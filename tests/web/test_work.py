"""Containment tasks and notification campaigns from the dashboard, the campaign progress
endpoint, the local mailbox and the users page."""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any
from uuid import UUID

from services.application.context import RequestContext
from services.demo import run_demo
from tests.web.conftest import PASSWORD, Web

CONTENT = {
    "nature": "CVs were downloaded from our careers portal.",
    "consequences": "Targeted phishing.",
    "measures": "We closed the flaw and rotated the keys.",
    "advice": "Be wary of messages about your application.",
}


def _version(html: str, anchor: str) -> str:
    found = re.search(re.escape(anchor) + r'.*?name="version" value="(\d+)"', html, re.DOTALL)
    assert found is not None, anchor
    return found.group(1)


def _demo(web: Web) -> tuple[UUID, list[dict[str, Any]]]:
    incident = run_demo(web.rt.app).id
    web.rt.settle()
    return incident, web.rt.tasks.rows(web.clock.now(), incident_id=incident)


def test_responder_completes_a_task_with_evidence(web: Web) -> None:
    """'Mark done' records the outcome and evidence; progress moves on the page."""
    incident, tasks = _demo(web)
    free = next(t for t in tasks if not t["waiting_on"] and t["mandatory"])
    browser = web.sign_in("responder")
    html = browser.get(f"/incidents/{incident}").text
    assert f"0/{sum(t['mandatory'] for t in tasks)} mandatory tasks done" in html
    r = browser.post(
        f"/incidents/{incident}/tasks/{free['task_id']}/done",
        {
            "version": str(free["version"]),
            "outcome": "Endpoint disabled",
            "evidence": "ticket:NET-2231\nurl:https://wiki.example/ir/1",
        },
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"].endswith(f"#task-{free['task_id']}")
    page = browser.get(r.headers["location"]).text
    assert "Task updated." in page
    assert "done by responder: Endpoint disabled; ticket:NET-2231" in page
    assert "1/" in page


def test_task_rules_and_stale_versions_are_shown_not_recorded(web: Web) -> None:
    """Starting a task that waits for another is refused (409); acting on a task changed
    since the page was loaded is refused (412); bad evidence names the field (422)."""
    incident, tasks = _demo(web)
    waiting = next(t for t in tasks if t["waiting_on"])
    free = next(t for t in tasks if not t["waiting_on"])
    browser = web.sign_in("responder")
    browser.get(f"/incidents/{incident}")
    before = web.events()
    blocked = browser.post(
        f"/incidents/{incident}/tasks/{waiting['task_id']}/start",
        {"version": str(waiting["version"])},
    )
    assert blocked.status_code == 409
    assert "waits for unfinished task" in blocked.text
    evidence = browser.post(
        f"/incidents/{incident}/tasks/{free['task_id']}/done",
        {"version": str(free["version"]), "outcome": "x", "evidence": "photo of it"},
    )
    assert evidence.status_code == 422
    assert "evidence" in evidence.text
    assert web.events() == before
    web.rt.app.containment.assign_task(
        UUID(free["task_id"]), {"owner": "ana"}, RequestContext(actor="chief")
    )
    web.rt.settle()
    before = web.events()
    stale = browser.post(
        f"/incidents/{incident}/tasks/{free['task_id']}/start", {"version": str(free["version"])}
    )
    assert stale.status_code == 412
    assert "changed by someone else since you loaded this page" in stale.text
    assert web.events() == before
    other = web.report("responder")
    assert browser.post(f"/incidents/{other}/tasks/{free['task_id']}/start", {}).status_code == 404


def test_responder_opens_a_task_by_hand(web: Web) -> None:
    """A task opened from the page joins the incident's task list."""
    incident, _ = _demo(web)
    browser = web.sign_in("responder")
    browser.get(f"/incidents/{incident}")
    r = browser.post(
        f"/incidents/{incident}/tasks",
        {
            "title": "Notify the bank",
            "due_at": "2026-11-28T12:00",
            "priority": "high",
            "mandatory": "yes",
        },
    )
    assert r.status_code == 303
    assert "Notify the bank" in browser.get(f"/incidents/{incident}").text
    bad = browser.post(f"/incidents/{incident}/tasks", {"title": "x", "due_at": ""})
    assert bad.status_code == 422
    assert "due_at: is required" in bad.text


def test_campaign_is_drafted_previewed_approved_and_sent_by_two_people(web: Web) -> None:
    """A responder drafts, a DPO previews and approves, the responder sends (sending again
    leaves it sending, as on every face); the progress endpoint follows it; the drafter may
    not approve their own campaign."""
    incident, _ = _demo(web)
    responder = web.sign_in("responder")
    responder.get(f"/incidents/{incident}")
    drafted = responder.post(
        f"/incidents/{incident}/campaigns",
        {**CONTENT, "audience": "authority", "recipients": "BfDI <poststelle@bfdi.example> en"},
    )
    assert drafted.status_code == 303, drafted.text
    page_url = drafted.headers["location"].split("?")[0]
    campaign = UUID(page_url.rsplit("/", 1)[1])
    html = responder.get(drafted.headers["location"]).text
    assert "Campaign drafted." in html
    assert "Waiting for a DPO" in html
    dpo = web.sign_in("dpo")
    html = dpo.get(page_url).text
    assert "Preview the notice before approving it." in html
    preview = dpo.post(
        f"{page_url}/preview", {"version": _version(html, "preview-form"), "language": "en"}
    )
    assert preview.status_code == 200
    assert "Subject:" in preview.text
    assert "CVs were downloaded from our careers portal." in preview.text
    approved = dpo.post(f"{page_url}/approve", {"version": _version(preview.text, "approve-form")})
    assert approved.status_code == 303, approved.text
    html = responder.get(page_url).text
    assert "Approved by dpo" in html
    sent = responder.post(f"{page_url}/send", {"version": _version(html, "send-form")})
    assert sent.status_code == 303
    html = responder.get(sent.headers["location"]).text
    assert "Sending started." in html
    assert 'data-status="dispatching"' in html
    before = web.events()
    again = responder.post(f"{page_url}/send", {"version": _version(html, "pause-form")})
    assert again.status_code == 303, again.text
    assert web.events() == before
    progress = responder.get(f"{page_url}/progress").json()
    assert progress["status"] == "dispatching"
    assert progress["total"] == 1
    assert progress["queued"] == 1
    paused = responder.post(
        f"{page_url}/pause", {"version": _version(html, "pause-form"), "reason": "check"}
    )
    assert paused.status_code == 303
    assert responder.get(f"{page_url}/progress").json()["status"] == "paused"
    other = web.report("responder")
    assert responder.get(f"/incidents/{other}/campaigns/{campaign}/progress").status_code == 404
    assert responder.get(f"/incidents/{other}/campaigns/{campaign}").status_code == 404


def test_drafter_cannot_approve_and_bad_drafts_are_refused(web: Web) -> None:
    """A DPO who drafted a campaign is told another must approve it (and is refused);
    a malformed recipient line names the field; nothing is recorded by refusals."""
    incident, _ = _demo(web)
    chief = web.sign_in("chief")
    chief.get(f"/incidents/{incident}")
    before = web.events()
    bad = chief.post(
        f"/incidents/{incident}/campaigns",
        {**CONTENT, "audience": "authority", "recipients": "just an address"},
    )
    assert bad.status_code == 422
    assert "recipients" in bad.text
    assert web.events() == before
    drafted = chief.post(
        f"/incidents/{incident}/campaigns",
        {**CONTENT, "audience": "authority", "recipients": "DPA <dpa@example.org>"},
    )
    page_url = drafted.headers["location"].split("?")[0]
    html = chief.get(page_url).text
    preview = chief.post(f"{page_url}/preview", {"version": _version(html, "preview-form")})
    assert "another DPO must approve it" in preview.text
    before = web.events()
    refused = chief.post(f"{page_url}/approve", {"version": _version(preview.text, "preview-form")})
    assert refused.status_code == 409
    assert "cannot approve" in refused.text
    assert web.events() == before


def test_approval_shows_the_languages_and_refuses_a_mixed_notice_until_words_are_given(
    web: Web,
) -> None:
    """A campaign to an English and a Chinese authority shows zh-CN lacking content and a
    box to allow mixed notices; approving without it is refused (409, nothing stored);
    the zh-CN words given in the change form (the English left as it is) clear the
    warning, and the approval goes through."""
    incident, _ = _demo(web)
    responder = web.sign_in("responder")
    responder.get(f"/incidents/{incident}")
    drafted = responder.post(
        f"/incidents/{incident}/campaigns",
        {
            **CONTENT,
            "audience": "authority",
            "recipients": "BfDI <poststelle@bfdi.example> en\nCAC <report@cac.example.cn> zh-CN",
        },
    )
    page_url = drafted.headers["location"].split("?")[0]
    dpo = web.sign_in("dpo")
    html = dpo.get(page_url).text
    assert "Languages the notices are in" in html
    assert "Content is missing in zh-CN" in html
    preview = dpo.post(f"{page_url}/preview", {"version": _version(html, "preview-form")})
    assert 'name="allow_mixed_languages"' in preview.text
    before = web.events()
    refused = dpo.post(f"{page_url}/approve", {"version": _version(preview.text, "approve-form")})
    assert refused.status_code == 409
    assert "zh-CN headings" in refused.text
    assert web.events() == before
    html = responder.get(page_url).text
    words = {
        "t.zh-CN.nature": "简历被下载。",
        "t.zh-CN.consequences": "钓鱼邮件。",
        "t.zh-CN.measures": "漏洞已修复。",
    }
    changed = responder.post(
        f"{page_url}/redraft", {"version": _version(html, "redraft-form"), **words}
    )
    assert changed.status_code == 303, changed.text
    campaign = web.rt.app.notifications.load_campaign(UUID(page_url.rsplit("/", 1)[1]))
    assert campaign.state.content.nature == CONTENT["nature"]
    assert campaign.state.translations["zh-CN"].measures == "漏洞已修复。"
    html = dpo.get(page_url).text
    assert "Content is missing" not in html
    preview = dpo.post(
        f"{page_url}/preview", {"version": _version(html, "preview-form"), "recipient": "1"}
    )
    shown = preview.text.split('id="preview"')[1].split("</article>")[0]
    assert "简历被下载。" in shown
    assert CONTENT["nature"] not in shown
    approved = dpo.post(f"{page_url}/approve", {"version": _version(preview.text, "approve-form")})
    assert approved.status_code == 303, approved.text


def test_mailbox_lists_received_messages_and_shows_one_as_text(web: Web) -> None:
    """The mailbox page lists what the capture server stored; a message shows its headers
    and text, with any markup in it escaped. A message no notice accounts for may be to an
    affected person: a responder (no people.rights) sees neither its recipient nor its text,
    as in the API."""
    message = EmailMessage()
    message["From"] = "DPO <dpo@example.org>"
    message["To"] = "BfDI <poststelle@bfdi.example>"
    message["Subject"] = "Notice of a personal data breach <b>now</b>"
    message["Message-ID"] = "<abc123.notice@breachledger.invalid>"
    message.set_content("Dear authority,\n<script>alert(1)</script>\n")
    box = web.rt.mailbox()
    box.store(bytes(message), ["poststelle@bfdi.example"])
    box.close()
    responder = web.sign_in("responder")
    withheld = responder.get("/mailbox").text
    assert "1 message(s) received" in withheld
    assert "poststelle@bfdi.example" not in withheld
    assert "(an affected person)" in withheld
    refused = responder.get("/mailbox/abc123.notice@breachledger.invalid")
    assert refused.status_code == 403
    assert "Dear authority," not in refused.text
    browser = web.sign_in("dpo")
    listing = browser.get("/mailbox").text
    assert "1 message(s) received" in listing
    assert "poststelle@bfdi.example" in listing
    assert "Notice of a personal data breach &lt;b&gt;now&lt;/b&gt;" in listing
    page = browser.get("/mailbox/abc123.notice@breachledger.invalid")
    assert page.status_code == 200
    assert "Dear authority," in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert" not in page.text
    assert browser.get("/mailbox/nothing@here").status_code == 404


def test_admin_adds_a_user_and_sees_the_one_time_password_once(web: Web) -> None:
    """An admin adds a user (the one-time password shown only in that answer) and a service
    account, issues the service account a token (shown once) but not the person, and
    disables a user; the new user must change the password."""
    admin = web.sign_in("admin")
    admin.get("/users")
    r = admin.post("/users", {"username": "nadia", "roles": ["responder", "auditor"]})
    assert r.status_code == 200
    found = re.search(r'<code class="secret-value">([^<]+)</code>', r.text)
    assert found is not None
    one_time = found.group(1)
    assert one_time not in admin.get("/users").text
    new = web.client()
    token = re.search(r'name="csrf" value="([^"]+)"', new.get("/login").text).group(1)  # type: ignore[union-attr]
    login = new.post(
        "/login",
        data={"csrf": token, "username": "nadia", "password": one_time},
        follow_redirects=False,
    )
    assert login.headers["location"] == "/account/password"
    signed_in = web.sign_in("reporter")
    reset = admin.post("/users/reporter/password", {})
    assert "one-time password of reporter" in reset.text
    assert signed_in.get("/", follow_redirects=False).headers["location"] == "/login"
    refused = admin.post("/users/nadia/token", {"name": "ci"})
    assert refused.status_code == 403
    assert "bl_" not in refused.text
    service = admin.post("/users", {"username": "wazuh", "roles": ["reporter"], "service": "yes"})
    assert service.headers["location"] == "/users?ok=service"
    issued = admin.post("/users/wazuh/token", {"name": "ci"})
    assert "bl_" in issued.text
    assert "API token of wazuh" in issued.text
    duplicate = admin.post("/users", {"username": "nadia", "roles": ["auditor"]})
    assert duplicate.status_code == 422
    assert "is taken by another user" in duplicate.text
    html = admin.get("/users").text
    version = re.search(
        r'action="/users/auditor/disable".*?name="version" value="(\d+)"', html, re.DOTALL
    )
    assert version is not None
    disabled = admin.post("/users/auditor/disable", {"reason": "left", "version": version.group(1)})
    assert disabled.status_code == 303
    assert web.rt.app.users.login("auditor", PASSWORD) is None
