"""The dashboard's alerts: the bell with the unread count in the header, the alerts page and
acknowledging an alert through its form."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from uuid import UUID

from services.application.context import RequestContext
from tests.support.facts import PORTAL_LEAK
from tests.web.conftest import Web

AWARE = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
_BELL = re.compile(r'<a href="/alerts"[^>]*>Alerts \((\d+)\)</a>')


def raise_alerts(web: Web) -> UUID:
    """An incident owned by the responder, the DPO on duty, its 72-hour deadline five hours
    away: the alarm clock raises the 6-hour step for both."""
    incident = web.report("responder", aware_at=AWARE)
    rt = web.rt
    rt.app.incidents.assign_owner(incident, {"owner": "responder"}, RequestContext(actor="dpo"))
    rt.app.alerts.schedule_duty(
        {
            "user": "dpo",
            "starts_at": AWARE - timedelta(days=1),
            "ends_at": AWARE + timedelta(days=30),
        },
        RequestContext(actor="dpo"),
    )
    rt.app.assessment.assess_impact(incident, PORTAL_LEAK, RequestContext(actor="dpo"))
    web.clock.current = AWARE + timedelta(hours=72 - 5)
    rt.settle()
    assert rt.alarm_clock().scan()
    rt.settle()
    return incident


def bell(html: str) -> int | None:
    """The unread count the header's bell shows (None: no bell)."""
    found = _BELL.search(html)
    return int(found.group(1)) if found else None


def test_bell_counts_unread_alerts_and_the_page_lists_them(web: Web) -> None:
    """The DPO's bell reads "Alerts (N)" with N their unread alerts, and the alerts page lists
    each with its step, incident link, deadline, late flag, raised time and an Acknowledge
    form."""
    assert bell(web.sign_in("dpo").get("/alerts").text) == 0
    incident = raise_alerts(web)
    dpo = web.sign_in("dpo")
    unread = web.rt.alerts.unread("dpo")
    assert unread >= 1
    page = dpo.get("/alerts")
    assert page.status_code == 200
    assert bell(page.text) == unread
    assert "due 6h" in page.text
    assert f'href="/incidents/{incident}"' in page.text
    for column in ("Step", "Incident", "Deadline", "Late", "Raised", "Acknowledged"):
        assert f'<th scope="col">{column}</th>' in page.text
    assert ">late</strong>" in page.text
    assert "not yet" in page.text
    assert page.text.count(">Acknowledge</button>") == unread
    assert 'aria-label="Acknowledge the due 6h alert' in page.text
    assert bell(dpo.get(f"/incidents/{incident}").text) == unread


def test_acknowledging_an_alert_lowers_the_count_once(web: Web) -> None:
    """Acknowledging through the form records it, redirects back to the alerts page showing
    one fewer unread; acknowledging it again is refused on the page and records nothing."""
    raise_alerts(web)
    dpo = web.sign_in("dpo")
    before = web.rt.alerts.unread("dpo")
    alert = web.rt.alerts.of("dpo", unread_only=True)[0]["alert_id"]
    dpo.get("/alerts")
    r = dpo.post(f"/alerts/{alert}/ack")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/alerts?ok=acknowledged")
    after = dpo.get(r.headers["location"])
    assert "Alert acknowledged." in after.text
    assert bell(after.text) == before - 1
    assert web.rt.alerts.unread("dpo") == before - 1
    events = web.events()
    again = dpo.post(f"/alerts/{alert}/ack")
    assert again.status_code == 409
    assert 'role="alert">alert:' in again.text
    assert web.events() == events


def test_acknowledging_needs_the_csrf_token(web: Web) -> None:
    """An acknowledgement without the session's CSRF token is refused and records nothing."""
    raise_alerts(web)
    dpo = web.sign_in("dpo")
    alert = web.rt.alerts.of("dpo", unread_only=True)[0]["alert_id"]
    unread = web.rt.alerts.unread("dpo")
    events = web.events()
    r = dpo.post(f"/alerts/{alert}/ack", {"csrf": "forged"})
    assert r.status_code == 403
    assert web.events() == events
    assert web.rt.alerts.unread("dpo") == unread


def test_without_alert_read_there_is_no_bell_and_the_page_is_forbidden(web: Web) -> None:
    """The reporter (no alert.read) sees no bell, and GET /alerts answers 403 like other
    forbidden pages; the auditor sees the page but no Acknowledge form."""
    raise_alerts(web)
    reporter = web.sign_in("reporter")
    assert bell(reporter.get("/").text) is None
    r = reporter.get("/alerts")
    assert r.status_code == 403
    assert "Not allowed" in r.text
    auditor = web.sign_in("auditor")
    page = auditor.get("/alerts")
    assert page.status_code == 200
    assert bell(page.text) == 0
    assert ">Acknowledge</button>" not in page.text
