"""The API's one severity: the incident document, the board and the as-of replay and diff."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tests.api.test_audit_api import clock_of
from tests.support.facts import PORTAL_LEAK
from tests.support.severity import apart_from, band_of


def severities(doc: dict[str, Any]) -> tuple[Any, Any, Any]:
    return doc["severity"], doc["severity_source"], doc["initial_severity"]


def test_triage_then_assessment_through_the_api_and_as_of(api: Api) -> None:
    """The document shows the triage estimate (source triage), then the assessed band
    (source assessment) with the estimate as initial severity; the replay as of a moment
    between shows the estimate and the diff names the change of severity and source."""
    band = band_of(PORTAL_LEAK)
    estimate = apart_from(band)
    incident = api.report(title="Careers portal CV leak")["id"]
    path = f"/api/v1/incidents/{incident}"
    assert severities(api.call("auditor", "GET", path).json()) == (None, None, None)
    clock = clock_of(api)
    clock.advance(minutes=5)
    r = api.call("responder", "POST", f"{path}/triage", json={"severity": estimate.value})
    assert r.status_code == 200, r.text
    assert severities(r.json()) == (estimate.value, "triage", estimate.value)
    between = clock.advance(minutes=5)
    clock.advance(minutes=5)
    r = api.call("dpo", "POST", f"{path}/assessment", json=PORTAL_LEAK)
    assert r.status_code == 200, r.text
    after = clock.advance(minutes=5)
    assessed = (band.value, "assessment", estimate.value)
    assert severities(api.call("auditor", "GET", path).json()) == assessed
    then = api.call("auditor", "GET", f"{path}/replay", params={"at": between.isoformat()})
    assert severities(then.json()["state"]) == (estimate.value, "triage", estimate.value)
    now = api.call("auditor", "GET", f"{path}/replay", params={"at": after.isoformat()})
    assert severities(now.json()["state"]) == assessed
    changes = api.call(
        "auditor",
        "GET",
        f"{path}/diff",
        params={"from": between.isoformat(), "to": after.isoformat()},
    ).json()["changes"]
    assert f"severity: {estimate.value} -> {band.value}" in changes
    assert "severity_source: triage -> assessment" in changes
    assert not [c for c in changes if c.startswith("initial_severity")]
