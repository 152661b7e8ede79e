"""The incident board: who sees what, escaping, filters, pages, countdowns, the demo offer,
and the obligations page across incidents."""

from __future__ import annotations

import re

from services.application.context import RequestContext
from services.demo import run_demo
from tests.web.conftest import Web

SCRIPT = "<script>alert('owned')</script>"


def test_reporter_sees_only_their_own_incidents(web: Web) -> None:
    """A reporter's board lists only what they reported, and another's incident is 403."""
    mine = web.report("reporter", title="My lost laptop")
    theirs = web.report("responder", title="Someone else's mailbox takeover")
    browser = web.sign_in("reporter")
    board = browser.get("/").text
    assert "My lost laptop" in board
    assert "mailbox takeover" not in board
    assert browser.get(f"/incidents/{mine}").status_code == 200
    refused = browser.get(f"/incidents/{theirs}")
    assert refused.status_code == 403
    assert "mailbox takeover" not in refused.text
    everyone = web.sign_in("auditor").get("/").text
    assert "My lost laptop" in everyone
    assert "mailbox takeover" in everyone


def test_script_in_any_field_renders_as_text(web: Web) -> None:
    """A title, description and note holding a script are shown escaped on the board and
    the incident page, never as markup."""
    incident = web.report("responder", title=SCRIPT, description=SCRIPT)
    browser = web.sign_in("responder")
    browser.get(f"/incidents/{incident}")
    assert browser.post(f"/incidents/{incident}/note", {"text": SCRIPT}).status_code == 303
    for path in ("/", f"/incidents/{incident}", "/obligations"):
        html = browser.get(path).text
        assert "<script>alert" not in html, path
    board = browser.get("/").text
    page = browser.get(f"/incidents/{incident}").text
    assert "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;" in board
    assert page.count("&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;") >= 3
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/app.js" defer>']


def test_filters_and_older_pages(web: Web) -> None:
    """Filters narrow the board; 'Older' pages through it by cursor without repeats."""
    ids = [web.report("responder", title=f"Incident number {n:02d}") for n in range(27)]
    web.rt.app.incidents.triage_incident(
        ids[0], {"severity": "high"}, RequestContext(actor="responder")
    )
    web.rt.settle()
    browser = web.sign_in("responder")
    first = browser.get("/").text
    titles = re.findall(r"Incident number (\d\d)", first)
    assert len(titles) == 25
    older = re.search(r'href="(/\?cursor=[^"]+)" rel="next"', first)
    assert older is not None
    second = browser.get(older.group(1).replace("&amp;", "&")).text
    rest = re.findall(r"Incident number (\d\d)", second)
    assert len(rest) == 2
    assert not set(rest) & set(titles)
    assert 'rel="next"' not in second
    high = browser.get("/?severity=high").text
    assert re.findall(r"Incident number (\d\d)", high) == ["00"]
    assert "No incidents match." in browser.get("/?status=closed").text
    assert browser.get("/?cursor=rubbish").status_code == 200


def test_board_counts_down_to_the_next_deadline(web: Web) -> None:
    """The next regulatory deadline is a countdown the script can update (data-deadline),
    rendered on the server, and turns red once overdue."""
    incident = run_demo(web.rt.app)
    web.rt.settle()
    browser = web.sign_in("responder")
    board = browser.get("/").text
    clock = re.search(
        r'<time class="countdown ([\w-]+)"[^>]*data-deadline="([^"]+)"[^>]*>([^<]+)<', board
    )
    assert clock is not None
    assert clock.group(1) == "on-track"
    assert clock.group(3).endswith("left")
    assert str(incident.id)[:8] in board
    web.clock.advance(days=5)
    browser = web.sign_in("responder")  # the session of five days before has expired
    late = browser.get("/").text
    assert 'class="countdown overdue"' in late
    assert "overdue " in late


def test_empty_ledger_offers_the_demo_to_those_who_may_report(web: Web) -> None:
    """On an empty store a responder is offered the demo and can load it once; a reporter
    and an auditor are not offered it."""
    assert "Load the demo incident" not in web.sign_in("auditor").get("/").text
    assert "Load the demo incident" not in web.sign_in("reporter").get("/").text
    browser = web.sign_in("responder")
    assert "Load the demo incident" in browser.get("/").text
    r = browser.post("/demo")
    assert r.status_code == 303
    page = browser.get(r.headers["location"])
    assert "Job-application portal" in page.text
    assert "Demo incident recorded." in page.text
    before = web.events()
    assert browser.post("/demo").status_code == 409
    assert web.events() == before
    assert "Load the demo incident" not in browser.get("/").text


def test_obligations_page_lists_open_obligations_most_urgent_first(web: Web) -> None:
    """Open obligations across incidents come most urgent first, with countdowns."""
    run_demo(web.rt.app)
    web.rt.settle()
    browser = web.sign_in("dpo")
    html = browser.get("/obligations").text
    rows = re.findall(r'<tr class="urgency-(\w+)">', html)
    assert rows[0] == "on_track"
    assert rows == sorted(
        rows, key=["overdue", "due_soon", "on_track", "waiting", "no_deadline"].index
    )
    assert "eu_gdpr/supervisory_authority" in html
    assert "data-deadline" in html
    assert '<td data-label="Status">not triggered</td>' not in html
    assert '<td data-label="Status">not triggered</td>' in browser.get("/obligations?all=true").text
