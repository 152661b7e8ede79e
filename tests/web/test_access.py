"""Every form refuses a missing or wrong CSRF token, and every action a role may not take is
refused with 403 (and hidden from that role's pages); nothing is recorded either way."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from uuid import UUID

import pytest

from services.application.context import RequestContext
from services.demo import run_demo
from tests.web.conftest import Web, dashboard, settings_for

CONTENT = {
    "nature": "CVs were downloaded from our careers portal.",
    "consequences": "Targeted phishing.",
    "measures": "We closed the flaw.",
}


@dataclass
class Scene:
    """The demo incident with its playbook tasks and a drafted authority campaign."""

    incident: UUID
    task: UUID
    campaign: UUID


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    """One dashboard for the whole module: every test here is refused, so none changes it."""
    with dashboard(settings_for(tmp_path_factory.mktemp("access") / "var")) as out:
        yield out


@pytest.fixture
def web(shared: Web) -> Web:
    return shared


@pytest.fixture(scope="module")
def scene(shared: Web) -> Scene:
    web = shared
    incident = run_demo(web.rt.app)
    web.rt.settle()
    task = web.rt.tasks.rows(web.clock.now(), incident_id=incident.id)[0]["task_id"]
    campaign = web.rt.app.notifications.draft_campaign(
        incident.id,
        {"audience": "authority", "recipients": [{"name": "DPA", "email": "dpa@example.org"}]}
        | CONTENT,
        RequestContext(actor="responder"),
    )
    web.rt.settle()
    return Scene(incident.id, UUID(task), campaign.id)


FORMS = [
    "/logout",
    "/account/password",
    "/demo",
    "/incidents/new",
    "/incidents/{i}/amend",
    "/incidents/{i}/triage",
    "/incidents/{i}/note",
    "/incidents/{i}/close",
    "/incidents/{i}/reopen",
    "/incidents/{i}/assess",
    "/incidents/{i}/decide",
    "/incidents/{i}/tasks",
    *[
        f"/incidents/{{i}}/tasks/{{t}}/{action}"
        for action in ("assign", "start", "block", "unblock", "done", "reopen", "cancel", "due")
    ],
    "/incidents/{i}/campaigns",
    *[
        f"/incidents/{{i}}/campaigns/{{c}}/{action}"
        for action in ("redraft", "preview", "approve", "send", "pause", "resume", "cancel")
    ],
    "/users",
    *[
        f"/users/responder/{action}"
        for action in ("roles", "password", "token", "revoke", "disable", "enable")
    ],
    "/webhooks",
    *[
        f"/webhooks/00000000-0000-4000-8000-000000000002/{action}"
        for action in ("disable", "enable", "test")
    ],
]
"""Every kind of form the dashboard posts."""


@pytest.mark.parametrize("template", FORMS)
def test_every_form_refuses_a_missing_or_wrong_csrf_token(
    web: Web, scene: Scene, template: str
) -> None:
    """Without the session's CSRF token, or with another, a form is refused (403) and no
    event is appended, even for a user holding every role."""
    browser = web.sign_in("chief")
    path = template.format(i=scene.incident, t=scene.task, c=scene.campaign)
    fields = {
        "text": "a note",
        "reason": "because",
        "severity": "low",
        "version": "1",
        "title": "x",
        "discovered_at": "2026-11-27T08:00",
        "owner": "someone",
        "outcome": "done",
        "audience": "authority",
        "username": "someone",
        "roles": "auditor",
        "name": "ci",
    }
    before = web.events()
    for token in (None, "forged-token"):
        r = browser.client.post(
            path, data={**fields, **({"csrf": token} if token else {})}, follow_redirects=False
        )
        assert r.status_code == 403, (path, r.status_code, r.text[:300])
        assert "nothing was" in r.text.lower() or "expired" in r.text.lower()
    assert web.events() == before
    assert browser.get("/").status_code == 200  # still signed in


REFUSED = [
    ("reporter", "/incidents/{i}/triage", {"severity": "low"}),
    ("reporter", "/incidents/{i}/note", {"text": "hello"}),
    ("reporter", "/incidents/{i}/assess", {"people_count": "1"}),
    ("reporter", "/incidents/{i}/tasks/{t}/start", {}),
    ("reporter", "/incidents/{i}/campaigns", {"audience": "people"} | CONTENT),
    ("reporter", "/users", {"username": "x", "roles": "admin"}),
    ("auditor", "/incidents/{i}/note", {"text": "hello"}),
    ("auditor", "/incidents/{i}/tasks/{t}/start", {}),
    ("auditor", "/incidents/{i}/campaigns/{c}/preview", {}),
    ("responder", "/incidents/{i}/assess", {"people_count": "1"}),
    ("responder", "/incidents/{i}/decide", {"obligation": "eu_gdpr", "decision": "notify"}),
    ("responder", "/incidents/{i}/campaigns/{c}/approve", {}),
    ("responder", "/users/auditor/disable", {"reason": "x"}),
    ("dpo", "/incidents/{i}/triage", {"severity": "low"}),
    ("dpo", "/incidents/{i}/tasks/{t}/start", {}),
    ("dpo", "/incidents/{i}/campaigns", {"audience": "people"} | CONTENT),
    ("dpo", "/incidents/{i}/campaigns/{c}/send", {}),
    ("admin", "/incidents/{i}/note", {"text": "hello"}),
    ("admin", "/incidents/new", {"title": "x", "discovered_at": "2026-11-27T08:00"}),
    ("reporter", "/demo", {}),
]
"""Actions each role may not take (see services/api/permissions.py)."""


@pytest.mark.parametrize(("role", "template", "data"), REFUSED)
def test_actions_a_role_may_not_take_are_refused(
    web: Web, scene: Scene, role: str, template: str, data: dict[str, str]
) -> None:
    """A signed-in user posting a form their role does not allow gets 403; nothing is
    recorded."""
    browser = web.sign_in(role)
    path = template.format(i=scene.incident, t=scene.task, c=scene.campaign)
    before = web.events()
    r = browser.post(path, data)
    assert r.status_code == 403, (role, path, r.status_code, r.text[:300])
    assert web.events() == before


def test_pages_hide_the_forms_a_role_may_not_use(web: Web, scene: Scene) -> None:
    """The incident page offers each role only its own actions."""
    page = f"/incidents/{scene.incident}"
    auditor = web.sign_in("auditor").get(page).text
    assert auditor.count('method="post"') == 1  # only signing out
    assert "Replay" in auditor
    responder = web.sign_in("responder").get(page).text
    assert 'id="triage-form"' in responder
    assert 'id="assess-form"' not in responder
    assert "decide-form" not in responder
    assert "task-done" in responder
    assert 'id="draft-form"' in responder
    dpo = web.sign_in("dpo").get(page).text
    assert 'id="assess-form"' in dpo
    assert "decide-form" in dpo
    assert 'id="triage-form"' not in dpo
    assert "task-done" not in dpo
    assert 'id="draft-form"' not in dpo
    campaign = f"/incidents/{scene.incident}/campaigns/{scene.campaign}"
    responder_campaign = web.sign_in("responder").get(campaign).text
    assert 'id="preview-form"' in responder_campaign
    assert 'id="approve-form"' not in responder_campaign


def test_pages_a_role_may_not_see_are_refused(web: Web, scene: Scene) -> None:
    """Reporters may not read obligations, the mailbox, campaigns or replays; admins are
    sent to the users page and may not read incidents."""
    reporter = web.sign_in("reporter")
    for path in (
        "/obligations",
        "/mailbox",
        "/users",
        f"/incidents/{scene.incident}/campaigns/{scene.campaign}",
    ):
        assert reporter.get(path).status_code == 403, path
    admin = web.sign_in("admin")
    assert admin.get("/", follow_redirects=False).headers["location"] == "/users"
    assert admin.get(f"/incidents/{scene.incident}").status_code == 403
    progress = f"/incidents/{scene.incident}/campaigns/{scene.campaign}/progress"
    assert reporter.get(progress).status_code == 403
    assert web.client().get(progress).status_code == 401
