"""The incident's owner on the incident page: shown to every reader, set through a form by
those who may assign owners, a refused owner explained without echoing it."""

from __future__ import annotations

import re

from tests.web.conftest import Web

_OWNER_FORM = 'action="/incidents/{}/owner"'


def version_of(html: str) -> str:
    """The version the owner form was rendered with."""
    found = re.search(
        r'id="owner-form">\s*<input type="hidden" name="csrf" value="[^"]+">'
        r'<input type="hidden" name="version" value="(\d+)">',
        html,
    )
    assert found is not None, "the page has no owner form"
    return found.group(1)


def test_owner_is_shown_and_set_through_the_form(web: Web) -> None:
    """The page says "Owner: none", the DPO sets the responder as owner through the labelled
    form with the page's version, and every reader then sees "Owner: responder"."""
    incident = web.report("responder")
    dpo = web.sign_in("dpo")
    page = dpo.get(f"/incidents/{incident}")
    assert "Owner: none" in page.text
    assert _OWNER_FORM.format(incident) in page.text
    assert "<label>Owner (a username" in page.text
    r = dpo.post(
        f"/incidents/{incident}/owner", {"owner": "responder", "version": version_of(page.text)}
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/incidents/{incident}?ok=owner#facts"
    assert web.rt.app.incidents.get_incident(incident).state.owner == "responder"
    shown = web.sign_in("auditor").get(f"/incidents/{incident}")
    assert "Owner: responder" in shown.text
    assert _OWNER_FORM.format(incident) not in shown.text
    again = dpo.get(f"/incidents/{incident}")
    r = dpo.post(f"/incidents/{incident}/owner", {"owner": "", "version": version_of(again.text)})
    assert r.status_code == 303
    assert web.rt.app.incidents.get_incident(incident).state.owner is None


def test_unknown_owner_is_refused_naming_the_field_without_echoing_it(web: Web) -> None:
    """An owner who is no user is refused (422) on the incident page naming the owner field,
    the typed name appears nowhere on the page, and nothing is recorded."""
    incident = web.report("responder")
    responder = web.sign_in("responder")
    page = responder.get(f"/incidents/{incident}")
    before = web.events()
    r = responder.post(
        f"/incidents/{incident}/owner", {"owner": "ghost-user-7", "version": version_of(page.text)}
    )
    assert r.status_code == 422
    assert 'role="alert">owner: is not a user' in r.text
    assert "ghost-user-7" not in r.text
    assert "Owner: none" in r.text
    assert web.events() == before


def test_a_stale_owner_form_is_refused(web: Web) -> None:
    """An owner form rendered before someone else changed the incident is refused (412) and
    records nothing."""
    incident = web.report("responder")
    dpo = web.sign_in("dpo")
    stale = version_of(dpo.get(f"/incidents/{incident}").text)
    assert (
        dpo.post(f"/incidents/{incident}/owner", {"owner": "dpo", "version": stale}).status_code
        == 303
    )
    before = web.events()
    r = dpo.post(f"/incidents/{incident}/owner", {"owner": "responder", "version": stale})
    assert r.status_code == 412
    assert web.events() == before
    assert web.rt.app.incidents.get_incident(incident).state.owner == "dpo"


def test_without_owner_assign_there_is_no_form_and_the_post_is_refused(web: Web) -> None:
    """The reporter (no incident.owner) sees the owner but no form, and posting one is
    refused (403) with nothing recorded."""
    incident = web.report("reporter")
    reporter = web.sign_in("reporter")
    page = reporter.get(f"/incidents/{incident}")
    assert "Owner: none" in page.text
    assert _OWNER_FORM.format(incident) not in page.text
    before = web.events()
    r = reporter.post(f"/incidents/{incident}/owner", {"owner": "reporter"})
    assert r.status_code == 403
    assert web.events() == before
