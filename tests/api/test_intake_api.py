"""Signed alert intake: an alert becomes one incident, once, and only with the right
signature; malformed, incomplete and unsigned alerts are refused and append nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.api.routes.intake import SIGNATURE_HEADER, alert_incident_id, sign
from services.bootstrap import bootstrap
from services.config import Settings
from services.server.http_app import create_app
from tests.api.conftest import INTAKE_SECRET, Api
from tests.support.clocks import ManualClock

ALERTS = "/api/v1/intake/alerts"
SECRET = INTAKE_SECRET.encode()


def alert(**fields: Any) -> dict[str, Any]:
    """A well-formed alert, with ``fields`` replaced."""
    return {
        "alert_id": "siem-4711",
        "source": "wazuh",
        "title": "Mass download from the HR share",
        "description": "1.2 GB pulled by a service account",
        "detected_at": "2026-11-27T08:30:00Z",
        "incident_type": "unauthorised_access",
        **fields,
    }


def send(api: Api, body: bytes, signature: str | None) -> Any:
    """POST ``body`` to intake with ``signature`` (none: no header)."""
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[SIGNATURE_HEADER] = signature
    return api.client.post(ALERTS, content=body, headers=headers)


def signed(api: Api, document: dict[str, Any]) -> Any:
    """POST ``document`` with a valid signature."""
    body = json.dumps(document).encode()
    return send(api, body, sign(SECRET, body))


def test_a_signed_alert_creates_an_incident_recorded_as_the_intake(api: Api) -> None:
    """201 with Location and ETag; the incident's id derives from the alert, its actor is
    ``intake:<source>``, and it is on the board."""
    r = signed(api, alert())
    assert r.status_code == 201, r.text
    doc = r.json()
    expected = alert_incident_id("wazuh", "siem-4711")
    assert doc["id"] == str(expected)
    assert r.headers["Location"] == f"/api/v1/incidents/{expected}"
    assert r.headers["ETag"] == '"1"'
    assert (doc["title"], doc["reporter"], doc["source"]) == (
        "Mass download from the HR share",
        "wazuh",
        "siem",
    )
    timeline = api.call("auditor", "GET", f"/api/v1/incidents/{expected}/timeline").json()
    assert timeline["entries"][0]["actor"] == "intake:wazuh"
    board = api.call("auditor", "GET", "/api/v1/incidents").json()["items"]
    assert [row["incident_id"] for row in board] == [str(expected)]


def test_the_same_alert_again_is_409_naming_the_incident(api: Api) -> None:
    """A retried or replayed alert creates nothing new and answers the first incident."""
    first = signed(api, alert()).json()
    before = api.events()
    same = signed(api, alert())
    assert same.status_code == 409
    assert same.json()["incident_id"] == first["id"]
    again = signed(api, alert(title="Changed title, same alert"))
    assert again.status_code == 409
    assert again.json()["incident_id"] == first["id"]
    assert again.json()["field"] == "alert_id"
    assert api.events() == before
    other = signed(api, alert(source="zeek"))
    assert other.status_code == 201
    assert other.json()["id"] != first["id"]


def test_forged_or_missing_signatures_are_401_and_append_nothing(api: Api) -> None:
    """A wrong secret, a garbled header, a missing one, or a signature over another body."""
    body = json.dumps(alert()).encode()
    other = json.dumps(alert(title="Something else")).encode()
    before = api.events()
    for signature in (
        sign(b"not-the-secret", body),
        "sha256=" + "0" * 64,
        "deadbeef",
        "",
        None,
        sign(SECRET, other),
        sign(SECRET, body)[:-1],
    ):
        r = send(api, body, signature)
        assert r.status_code == 401, (signature, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["field"] == SIGNATURE_HEADER
    assert api.events() == before
    assert api.call("auditor", "GET", "/api/v1/incidents").json()["items"] == []


def test_malformed_json_with_a_valid_signature_is_400(api: Api) -> None:
    """A correctly signed body that is not JSON is 400 naming the body."""
    before = api.events()
    for body in (b'{"alert_id": ', b"\xff\xfe", b""):
        r = send(api, body, sign(SECRET, body))
        assert r.status_code == 400, (body, r.text)
        assert r.json()["field"] == "body"
    assert api.events() == before


def test_an_incomplete_or_wrong_alert_is_422_naming_the_field(api: Api) -> None:
    """Missing, unknown, malformed and out-of-range fields are named as the alert names them."""
    complete = alert()
    cases: list[tuple[dict[str, Any], str]] = [
        ({k: v for k, v in complete.items() if k != "title"}, "title"),
        ({k: v for k, v in complete.items() if k != "alert_id"}, "alert_id"),
        ({k: v for k, v in complete.items() if k != "detected_at"}, "detected_at"),
        (alert(detected_at="2026-11-27T08:30:00"), "detected_at"),
        (alert(detected_at="yesterday"), "detected_at"),
        (alert(source="has spaces"), "source"),
        (alert(incident_type="alien_invasion"), "incident_type"),
        (alert(channel="carrier_pigeon"), "channel"),
        (alert(title="   "), "title"),
        (alert(severity="high"), "body"),
    ]
    before = api.events()
    for document, field in cases:
        r = signed(api, document)
        assert r.status_code == 422, (document, r.text)
        assert r.json()["field"] == field, (document, r.json())
    for body in (b"[]", b'"alert"'):
        r = send(api, body, sign(SECRET, body))
        assert (r.status_code, r.json()["field"]) == (422, "body")
    assert api.events() == before


def test_an_alert_detected_in_the_future_is_refused_naming_detected_at(api: Api) -> None:
    """A detection time after the ledger's clock is refused naming the alert's field."""
    before = api.events()
    r = signed(api, alert(detected_at="2027-01-01T00:00:00Z"))
    assert r.status_code in (409, 422), r.text
    assert r.json()["field"] == "detected_at"
    assert api.events() == before


@pytest.mark.parametrize(
    ("detected_at", "field"),
    [
        ("0001-01-01T00:00:00Z", "detected_at"),
        ("1969-12-31T23:59:59Z", "detected_at"),
        ("0001-01-01T00:00:00+05:00", "detected_at"),
    ],
)
def test_an_alert_detected_before_1970_is_refused_naming_detected_at(
    api: Api, detected_at: str, field: str
) -> None:
    """Year 1 (or any time before 1970) is no detection time: 422 naming the alert's field,
    without repeating the time, and nothing stored."""
    before = api.events()
    r = signed(api, alert(alert_id="ancient", detected_at=detected_at))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert detected_at[:4] not in r.json()["detail"]
    assert api.events() == before


def test_an_alert_with_control_characters_is_refused_naming_the_field(api: Api) -> None:
    """A line break in the title and NUL in the description are refused, nothing stored."""
    before = api.events()
    for document, field in (
        (alert(title="Mass download\r\nX-Injected: yes"), "title"),
        (alert(description="pulled\x00by a service account"), "description"),
    ):
        r = signed(api, document)
        assert (r.status_code, r.json()["field"]) == (422, field), r.text
    assert api.events() == before


@pytest.fixture
def closed_intake(api_settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    """The API of a ledger with no intake secret configured."""
    settings = api_settings.model_copy(
        update={"intake_secret": None, "data_dir": tmp_path / "closed"}
    )
    rt = bootstrap(settings, clock=ManualClock(), configure_logs=False)
    client = TestClient(create_app(rt))
    yield client
    client.close()
    rt.close()


def test_intake_is_off_without_a_secret(closed_intake: TestClient) -> None:
    """With no secret configured every alert is 503, however it is signed."""
    body = json.dumps(alert()).encode()
    for signature in (sign(SECRET, body), sign(b"", body), None):
        headers = {SIGNATURE_HEADER: signature} if signature else {}
        r = closed_intake.post(ALERTS, content=body, headers=headers)
        assert r.status_code == 503
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["field"] == "intake"


def test_a_detection_time_a_little_ahead_of_our_clock_is_taken_as_now(api: Api) -> None:
    """A monitoring tool whose clock runs up to five minutes fast is not refused."""
    ahead = api.rt.app.core.clock.now() + timedelta(minutes=3)
    r = signed(api, alert(alert_id="skewed", detected_at=ahead.isoformat()))
    assert r.status_code == 201, r.text
    assert datetime.fromisoformat(r.json()["discovered_at"]) < ahead
    far = api.rt.app.core.clock.now() + timedelta(minutes=30)
    before = api.events()
    refused = signed(api, alert(alert_id="far", detected_at=far.isoformat()))
    assert refused.status_code == 409
    assert refused.json()["field"] == "detected_at"
    assert api.events() == before
