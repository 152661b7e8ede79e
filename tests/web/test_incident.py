"""The incident page and its forms: report, triage, note, amend, close and reopen; a stale
page's form refused with 412; the as-of replay; recording an assessment (and a what-if);
decisions on obligations."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from uuid import UUID

from services.application.context import RequestContext
from services.demo import run_demo
from tests.support.facts import PORTAL_LEAK
from tests.web.conftest import Browser, Web, dashboard, settings_for

FACTS: dict[str, Any] = {
    "summary": "CRM export on a public bucket",
    "data_categories": ["contact", "identity"],
    "people_count": "1,200",
    "people_confirmed": "yes",
    "jurisdiction": ["DE", "fr", ""],
    "jurisdiction_people": ["700", "500", ""],
    "breach_types": ["confidentiality"],
    "encryption": "none",
    "recipients": "unknown_or_public",
    "intent": "malicious",
    "recovery": "not_applicable",
    "identifiability": "maximum",
    "role": "controller",
    "establishments": "DE",
    "direct_loss_cny": "0",
}


def _version(html: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', html)
    assert found is not None
    return found.group(1)


def _open(web: Web, role: str, incident: UUID) -> tuple[Browser, str]:
    browser = web.sign_in(role)
    html = browser.get(f"/incidents/{incident}").text
    return browser, html


def test_report_form_records_an_incident_and_shows_it(web: Web) -> None:
    """A report typed into the form is recorded with the caller as actor (moments read in
    the configured zone) and the browser lands on its page."""
    browser = web.sign_in("reporter")
    form = browser.get("/incidents/new").text
    assert 'name="discovered_at" value="2026-11-27T09:00"' in form
    r = browser.post(
        "/incidents/new",
        {
            "title": "Laptop left on a train",
            "description": "Unencrypted?",
            "incident_type": "lost_or_stolen_device",
            "source": "employee",
            "discovered_at": "2026-11-27T08:30",
            "aware_at": "2026-11-27T08:45",
        },
    )
    assert r.status_code == 303
    page = browser.get(r.headers["location"]).text
    assert "Laptop left on a train" in page
    assert "Incident reported." in page
    assert "2026-11-27 08:45 UTC" in page
    assert "lost or stolen device" in page
    row = web.rt.board.rows()[0]
    assert row["reported_by"] == "reporter"


def test_times_are_read_and_shown_in_the_configured_zone(tmp_path: Path) -> None:
    """With BREACH_TIMEZONE=Europe/Berlin, typed moments are Berlin time and pages show
    them with the zone's abbreviation and name."""
    settings = settings_for(tmp_path / "var").model_copy(update={"timezone": "Europe/Berlin"})
    with dashboard(settings) as web:
        browser = web.sign_in("responder")
        browser.get("/incidents/new")
        r = browser.post(
            "/incidents/new", {"title": "Berlin office", "discovered_at": "2026-11-27T09:30"}
        )
        page = browser.get(r.headers["location"]).text
        assert "2026-11-27 09:30 CET" in page
        assert "Times are shown in Europe/Berlin." in page
        moment = web.rt.board.rows()[0]["discovered_at"]
        assert moment.startswith("2026-11-27T08:30:00")


def test_bad_report_names_the_field_keeps_the_input_and_records_nothing(web: Web) -> None:
    """Aware before discovered is refused naming the field; what was typed stays."""
    browser = web.sign_in("responder")
    browser.get("/incidents/new")
    before = web.events()
    r = browser.post(
        "/incidents/new",
        {
            "title": "Keep this title",
            "discovered_at": "2026-11-27T08:30",
            "aware_at": "2026-11-26T08:00",
        },
    )
    assert r.status_code == 409
    assert "aware_at: must not be before discovered_at" in r.text
    assert 'value="Keep this title"' in r.text
    missing = browser.post("/incidents/new", {"title": "x", "discovered_at": ""})
    assert missing.status_code == 422
    assert "discovered_at: is required" in missing.text
    bad_time = browser.post("/incidents/new", {"title": "x", "discovered_at": "yesterday"})
    assert bad_time.status_code == 422
    assert "discovered_at" in bad_time.text
    assert web.events() == before


def test_triage_note_amend_close_and_reopen_from_the_page(web: Web) -> None:
    """Each incident form records its change and the page shows it at once."""
    incident = web.report("responder", title="Phishing wave")
    browser, html = _open(web, "responder", incident)
    base = f"/incidents/{incident}"
    r = browser.post(
        f"{base}/triage",
        {
            "severity": "high",
            "personal_data_breach": "yes",
            "incident_type": "phishing",
            "version": _version(html),
        },
    )
    assert r.status_code == 303
    html = browser.get(r.headers["location"]).text
    assert "Triage recorded." in html
    assert "band-high" in html
    assert browser.post(f"{base}/note", {"text": "Mail filter rule deployed"}).status_code == 303
    html = browser.get(base).text
    assert "Mail filter rule deployed" in html
    amend = {
        "version": _version(html),
        "title": "Phishing wave against finance",
        "occurred_at": "2026-11-25T07:00",
        "discovered_at": re.search(r'name="discovered_at" value="([^"]+)"', html).group(1),  # type: ignore[union-attr]
        "aware_at": "2026-11-26T10:00",
        "reason": "mail logs reviewed",
    }
    assert browser.post(f"{base}/amend", amend).status_code == 303
    html = browser.get(base).text
    assert "Phishing wave against finance" in html
    assert "aware_at unknown -&gt; 2026-11-26 10:00 UTC" in html
    assert "occurred_at" in html
    closed = browser.post(f"{base}/close", {"resolution": "Contained", "version": _version(html)})
    assert closed.status_code == 303
    html = browser.get(base).text
    assert "closed: Contained" in html
    assert 'id="reopen-form"' in html
    assert 'id="triage-form"' not in html
    reopened = browser.post(
        f"{base}/reopen", {"reason": "More mailboxes", "version": _version(html)}
    )
    assert reopened.status_code == 303
    assert "reopened: More mailboxes" in browser.get(base).text


def test_refused_change_shows_the_reason_and_keeps_the_input(web: Web) -> None:
    """A change a rule refuses is shown on the page with the field and reason (409), the
    form refilled, and nothing recorded."""
    incident = web.report("responder")
    browser, html = _open(web, "responder", incident)
    before = web.events()
    r = browser.post(
        f"/incidents/{incident}/amend",
        {"version": _version(html), "reason": "", "title": "A new title I typed"},
    )
    assert r.status_code == 422
    assert "reason" in r.text
    assert 'value="A new title I typed"' in r.text
    empty_note = browser.post(f"/incidents/{incident}/note", {"text": "   "})
    assert empty_note.status_code == 422
    reopen_open = browser.post(
        f"/incidents/{incident}/reopen", {"reason": "why not", "version": _version(html)}
    )
    assert reopen_open.status_code == 409
    assert "status: the incident is open" in reopen_open.text
    assert web.events() == before


def test_stale_page_is_refused_with_412_and_nothing_is_recorded(web: Web) -> None:
    """A form sent from a page loaded before someone else's change is refused with 412 and
    a clear message; the page then shows the current state."""
    incident = web.report("responder")
    browser, html = _open(web, "responder", incident)
    stale = _version(html)
    web.rt.app.incidents.triage_incident(
        incident, {"severity": "low"}, RequestContext(actor="chief")
    )
    web.rt.settle()
    before = web.events()
    r = browser.post(f"/incidents/{incident}/triage", {"severity": "high", "version": stale})
    assert r.status_code == 412
    assert "changed by someone else since you loaded this page" in r.text
    assert "band-low" in r.text
    assert web.events() == before
    fresh = _version(r.text)
    assert fresh != stale
    again = browser.post(f"/incidents/{incident}/triage", {"severity": "high", "version": fresh})
    assert again.status_code == 303


def test_a_triage_form_that_leaves_a_field_out_keeps_its_value(web: Web) -> None:
    """Omitted means unchanged on the page too: a triage posted with only a severity keeps
    the breach determination and the type recorded before."""
    incident = web.report("responder")
    web.rt.app.incidents.triage_incident(
        incident,
        {"severity": "low", "personal_data_breach": "yes", "incident_type": "ransomware"},
        RequestContext(actor="chief"),
    )
    web.rt.settle()
    browser, html = _open(web, "responder", incident)
    r = browser.post(
        f"/incidents/{incident}/triage", {"severity": "high", "version": _version(html)}
    )
    assert r.status_code == 303
    state = web.rt.app.incidents.get_incident(UUID(str(incident))).state
    assert state.initial_severity is not None
    assert state.initial_severity.value == "high"
    assert state.personal_data_breach.value == "yes"
    assert state.incident_type.value == "ransomware"


def test_replay_shows_the_incident_as_recorded_earlier(web: Web) -> None:
    """?at= shows the incident as it was then, bannered, read-only, with a way back."""
    incident = web.report("responder", title="Before the triage")
    web.clock.advance(minutes=10)
    web.rt.app.incidents.triage_incident(
        incident, {"severity": "very_high"}, RequestContext(actor="chief")
    )
    web.rt.settle()
    browser, html = _open(web, "auditor", incident)
    links = re.findall(r'href="(/incidents/[^"?]+\?at=[^"]+)"', html)
    assert len(links) == 3  # reported, triaged, playbook applied
    then = browser.get(links[0]).text
    assert "As of 2026-11-27 09:00:00 UTC" in then
    assert "not triaged" in then
    assert "band-very_high" not in then
    assert f'href="/incidents/{incident}" class="button">Back to now' in then
    assert then.count('method="post"') == 1  # signing out only
    typed = browser.get(f"/incidents/{incident}?at=2026-11-27T09:05").text
    assert "not triaged" in typed
    now = browser.get(f"/incidents/{incident}?at=2026-11-27T09:20").text
    assert "band-very_high" in now
    future = browser.get(f"/incidents/{incident}?at=2030-01-01T00:00")
    assert future.status_code == 422
    assert "in the future" in future.text
    early = browser.get(f"/incidents/{incident}?at=2026-11-01T00:00")
    assert early.status_code == 422
    assert "reported later" in early.text
    assert browser.get(f"/incidents/{incident}?at=rubbish").status_code == 422
    assert (
        web.sign_in("reporter").get(f"/incidents/{incident}?at=2026-11-27T09:05").status_code == 403
    )


def test_assessment_form_records_the_facts_and_shows_the_working(web: Web) -> None:
    """The structured assessment form records the facts; the page shows the severity
    breakdown, the recommendation naming the lead authority, and which laws apply and why."""
    incident = web.report("responder")
    browser, html = _open(web, "dpo", incident)
    assert 'id="assess-form"' in html
    r = browser.post(
        f"/incidents/{incident}/assess", {**FACTS, "version": _version(html), "action": "record"}
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"].endswith("?ok=assessed#assessment")
    page = browser.get(r.headers["location"]).text
    assert "Impact assessment recorded." in page
    assert "How the score was reached" in page
    assert "DPC base" in page
    assert "Recommendation: Notify the supervisory authority (lead: DE, concerned: FR, by" in page
    assert "authority (lead: DE, concerned: FR)</td>" in page
    assert "Which laws apply and why" in page
    assert "eu_gdpr/supervisory_authority" in page
    assert "not triggered, and why" in page
    record = web.rt.app.incidents.get_incident(incident).state.assessment
    assert record is not None
    assert record.facts.people.count == 1200
    assert record.facts.people_by_jurisdiction == {"DE": 700, "FR": 500}
    assert record.facts.establishments == ("DE",)
    assert 'name="jurisdiction" value="FR"' in page


def test_assessment_form_offers_every_likelihood_and_adjustment_fact_with_help(web: Web) -> None:
    """The form has a field and one line of help for the integrity, exposure, likelihood and
    category-adjustment facts; what is typed there is recorded, and the page shows the
    likelihood, its factors and the matrix cell."""
    from services.web.facts import FACT_HELP

    incident = web.report("responder")
    browser, html = _open(web, "dpo", incident)
    for name in (
        "integrity",
        "exposure_days",
        "deletion_confirmed",
        "recovered_before_access",
        "misuse_evidence",
        "dpc_adjustments",
    ):
        assert f'id="help-{name}">{FACT_HELP[name]}' in html.replace("&#39;", "'"), name
    assert 'name="adjustment_name"' in html
    form = {
        **FACTS,
        "data_categories": ["health", "contact"],
        "recipients": "known_trusted",
        "intent": "accidental",
        "likelihood_flags": ["deletion_confirmed"],
        "exposure_days": "2",
        "adjustment_name": ["sensitive_no_insight", ""],
        "adjustment_category": ["health", ""],
        "adjustment_step": ["-1", ""],
        "adjustment_reason": ["temperature readings only", ""],
        "version": _version(html),
        "action": "record",
    }
    r = browser.post(f"/incidents/{incident}/assess", form)
    assert r.status_code == 303, r.text
    page = browser.get(r.headers["location"]).text
    record = web.rt.app.incidents.get_incident(incident).state.assessment
    assert record is not None
    assert record.facts.deletion_confirmed
    assert record.facts.exposure_days == 2
    assert [(a.name, a.step) for a in record.facts.dpc_adjustments] == [
        ("sensitive_no_insight", -1)
    ]
    assert "How the likelihood was reached" in page
    assert "Likelihood negligible" in page
    assert (
        "Matrix: severity high x likelihood negligible -&gt; unlikely to result in a risk" in page
    )
    assert "temperature readings only" in page
    assert 'value="temperature readings only"' in page


def test_a_half_filled_adjustment_row_is_refused_naming_the_field(web: Web) -> None:
    """A category adjustment without a reason, or with a step the method does not allow for
    it, is refused naming dpc_adjustments, and nothing is recorded."""
    incident = web.report("responder")
    browser, html = _open(web, "dpo", incident)
    before = web.events()
    rows = [
        (["simple_profiling"], ["contact"], ["+1"], [""], "give the adjustment's reason"),
        (["simple_profiling"], ["contact"], ["+3"], ["r"], "step must be one of +1"),
        (["sensitive_public"], ["contact"], ["-1"], ["r"], "adjusts sensitive data"),
    ]
    import html as markup

    for name, category, step, reason, message in rows:
        r = browser.post(
            f"/incidents/{incident}/assess",
            {
                **FACTS,
                "adjustment_name": name,
                "adjustment_category": category,
                "adjustment_step": step,
                "adjustment_reason": reason,
                "version": _version(html),
                "action": "record",
            },
        )
        assert r.status_code == 422, message
        assert "dpc_adjustments" in r.text
        assert message in markup.unescape(r.text)
    assert web.events() == before


def test_what_if_evaluates_without_recording(web: Web) -> None:
    """'Evaluate without recording' shows the result and appends nothing."""
    incident = web.report("responder")
    browser, html = _open(web, "dpo", incident)
    before = web.events()
    r = browser.post(
        f"/incidents/{incident}/assess", {**FACTS, "version": _version(html), "action": "what_if"}
    )
    assert r.status_code == 200
    assert "What-if: nothing was recorded" in r.text
    assert "eu_gdpr/supervisory_authority" in r.text
    assert web.events() == before
    assert web.rt.app.incidents.get_incident(incident).state.assessment is None


def test_bad_assessment_names_the_field_and_records_nothing(web: Web) -> None:
    """Inconsistent facts are refused naming the field, with the form refilled as typed."""
    incident = web.report("responder")
    browser, html = _open(web, "dpo", incident)
    before = web.events()
    cases = [
        ({"people_count": "100"}, "people_by_jurisdiction: adds up to 1,200"),
        ({"people_count": "many"}, "people.count"),
        ({"data_categories": []}, "data_categories"),
        ({"jurisdiction": ["XX"], "jurisdiction_people": ["5"]}, "people_by_jurisdiction"),
        ({"intent": ""}, "intent: choose one"),
    ]
    for change, message in cases:
        r = browser.post(
            f"/incidents/{incident}/assess",
            {**FACTS, **change, "version": _version(html), "action": "record"},
        )
        assert r.status_code == 422, (change, r.status_code)
        assert message in r.text, change
    assert 'value="CRM export on a public bucket"' in r.text
    assert web.events() == before


def test_dpo_records_a_decision_on_an_obligation(web: Web) -> None:
    """The DPO's decision (notified, with time and reference) is recorded and shown."""
    incident = run_demo(web.rt.app).id
    web.rt.settle()
    browser, html = _open(web, "dpo", incident)
    assert "decide-form" in html
    r = browser.post(
        f"/incidents/{incident}/decide",
        {
            "version": _version(html),
            "obligation": "eu_gdpr/supervisory_authority",
            "decision": "notified",
            "reason": "filed via the portal",
            "notified_at": "2026-11-27T08:50",
            "reference": "BfDI-2026-77",
        },
    )
    assert r.status_code == 303, r.text
    page = browser.get(r.headers["location"]).text
    assert "Decision recorded." in page
    assert "ref. BfDI-2026-77" in page
    bad = browser.post(
        f"/incidents/{incident}/decide",
        {
            "version": _version(page),
            "obligation": "eu_gdpr/data_subjects",
            "decision": "notified",
            "reason": "x",
        },
    )
    assert bad.status_code == 409
    assert "notified_at: is required" in bad.text


def _alert_of(html: str) -> str:
    """The text of the page's error paragraph."""
    found = re.search(r'<p class="error" role="alert">(.*?)</p>', html, re.DOTALL)
    assert found is not None, "the page shows no error"
    return found.group(1)


def test_form_refusals_and_missing_pages_never_repeat_what_was_typed(web: Web) -> None:
    """A refused assessment form names the field in its message without the typed value, and
    a page asked for by a malformed or unknown id does not repeat the id."""
    mark = "Zqx7Mark"
    incident = web.report("responder")
    browser, html = _open(web, "dpo", incident)
    before = web.events()
    for change, field in (
        ({"people_count": mark}, "people.count"),
        ({"time_to_restore_hours": mark}, "time_to_restore_hours"),
        (
            {"jurisdiction": [mark, mark], "jurisdiction_people": ["5", "6"]},
            "people_by_jurisdiction",
        ),
        (
            {"jurisdiction": ["", "DE"], "jurisdiction_people": [mark, "6"]},
            "people_by_jurisdiction",
        ),
        ({"jurisdiction": [mark], "jurisdiction_people": ["5"]}, "people_by_jurisdiction"),
        ({"people_count": "100000000000"}, "people.count"),
    ):
        r = browser.post(
            f"/incidents/{incident}/assess",
            {**FACTS, **change, "version": _version(html), "action": "record"},
        )
        assert r.status_code == 422, (change, r.status_code)
        message = _alert_of(r.text)
        assert message.startswith(field), message
        assert mark.lower() not in message.lower(), message
    assert web.events() == before
    for path in (
        f"/incidents/{mark}",
        "/incidents/00000000-0000-4000-8000-000000000000",
        f"/incidents/{incident}?at={mark}",
    ):
        page = browser.get(path)
        assert page.status_code in (404, 422), page.status_code
        assert mark.lower() not in page.text.lower().replace("?at=", "")
        assert "00000000-0000-4000-8000-000000000000" not in page.text


def test_the_time_axis_shows_each_role_what_it_may_read_and_escapes_text(web: Web) -> None:
    """A responder's time axis has the assessed incident's deadlines and its tasks as bars;
    the reporter who reported it gets the same axis without deadlines, decisions or bars
    (their role reads none of them); a note's markup is drawn as text, never as markup."""
    incident = web.report(actor="reporter", aware_at=web.clock.current)
    dpo, responder = RequestContext(actor="dpo"), RequestContext(actor="responder")
    web.rt.app.assessment.assess_impact(incident, PORTAL_LEAK, dpo)
    web.rt.app.incidents.triage_incident(
        incident, {"severity": "high", "personal_data_breach": "yes"}, responder
    )
    web.rt.app.incidents.add_note(incident, {"text": "<script>alert(1)</script>"}, responder)
    web.rt.settle()
    _, full = _open(web, "responder", incident)
    _, own = _open(web, "reporter", incident)
    axis = re.compile(r'<figure class="time-axis".*?</figure>', re.S)
    full_axis, own_axis = axis.search(full), axis.search(own)
    assert full_axis is not None
    assert own_axis is not None
    assert 'data-kind="deadline"' in full_axis.group()
    assert 'data-kind="task"' in full_axis.group()
    for hidden in ('data-kind="deadline"', 'data-kind="decision"', 'class="ta-bar"'):
        assert hidden not in own_axis.group()
    for drawn in (full_axis.group(), own_axis.group()):
        assert 'data-kind="moment"' in drawn
        assert 'data-kind="note"' in drawn
        assert "<script>" not in drawn
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in drawn
