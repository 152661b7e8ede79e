"""The web pages' one severity: the badge, what the assessment section says of it, the
board filter, and the page as of a moment before the assessment."""

from __future__ import annotations

from services.application.context import RequestContext
from tests.support.facts import PORTAL_LEAK
from tests.support.severity import apart_from, band_of
from tests.web.conftest import Web


def test_the_page_explains_the_assessed_severity_and_the_replay_shows_the_estimate(
    web: Web,
) -> None:
    """Triaged, the badge shows the estimate as a triage estimate; assessed, it shows the
    band as assessed with the initial estimate, the assessment section says the band is the
    incident's severity, the board filter finds it by the band, and the page as of a moment
    before the assessment still shows the estimate."""
    band = band_of(PORTAL_LEAK)
    estimate = apart_from(band)
    chief = RequestContext(actor="chief")
    incident = web.report("responder", title="Careers portal CV leak")
    web.clock.advance(minutes=5)
    web.rt.app.incidents.triage_incident(incident, {"severity": estimate.value}, chief)
    web.rt.settle()
    browser = web.sign_in("dpo")
    page = browser.get(f"/incidents/{incident}").text
    assert f'data-severity="{estimate.value}" data-severity-source="triage"' in page
    assert "triage estimate" in page
    web.clock.advance(minutes=5)
    web.rt.app.assessment.assess_impact(incident, PORTAL_LEAK, chief)
    web.rt.settle()
    page = browser.get(f"/incidents/{incident}").text
    assert f'data-severity="{band.value}" data-severity-source="assessment"' in page
    assert f"assessed; initial estimate {estimate.value.replace('_', ' ')}" in page
    assert "This band is the incident's severity, shown on the board too" in page
    board = browser.get(f"/?severity={band.value}").text
    assert "Careers portal CV leak" in board
    assert f'data-severity="{band.value}" data-severity-source="assessment"' in board
    assert "No incidents match." in browser.get(f"/?severity={estimate.value}").text
    then = browser.get(f"/incidents/{incident}?at=2026-11-27T09:07").text
    assert f'data-severity="{estimate.value}" data-severity-source="triage"' in then
    assert "Not assessed yet at that moment." in then
