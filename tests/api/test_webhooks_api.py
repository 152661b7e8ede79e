"""The webhook routes: an admin subscribes a receiver (the secret in that answer only),
lists, tests, reads the delivery log, disables and enables; bad URLs are refused with the
field named, the URL not repeated and nothing recorded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.config import Settings
from tests.api.conftest import Api, running_api
from tests.support.webhook_receiver import Receiver


@pytest.fixture
def hooks_api(api_settings: Settings) -> Iterator[Api]:
    with running_api(api_settings.model_copy(update={"webhook_allow_loopback": True})) as out:
        yield out


def test_an_admin_subscribes_tests_and_disables_a_receiver(hooks_api: Api) -> None:
    """The secret is in the answer to the subscription only; a signed ping reaches the
    receiver; the list shows the origin, never the path or secret; disable and enable
    record the change."""
    api = hooks_api
    receiver = Receiver().start()
    clock = api.rt.app.core.clock
    receiver.now = lambda: clock.current.timestamp()  # type: ignore[attr-defined]
    try:
        added = api.call(
            "admin",
            "POST",
            "/api/v1/webhooks",
            json={"url": receiver.url, "kinds": ["incident.reported"], "shape": "chat"},
        )
        assert added.status_code == 201, added.text
        doc = added.json()
        receiver.secret = doc["secret"]
        hook = doc["webhook_id"]
        assert doc["origin"] == f"http://127.0.0.1:{receiver.port}"
        listed = api.call("admin", "GET", "/api/v1/webhooks")
        assert [h["webhook_id"] for h in listed.json()["items"]] == [hook]
        assert doc["secret"] not in listed.text
        assert "/hooks/breach" not in listed.text
        ping = api.call("admin", "POST", f"/api/v1/webhooks/{hook}/test")
        assert ping.json() == {"outcome": "delivered", "code": 204, "error": None}
        (got,) = receiver.accepted()
        assert got.kind == "ping"
        assert set(got.document) == {"text"}
        log = api.call("admin", "GET", f"/api/v1/webhooks/{hook}/deliveries")
        assert log.json() == {"items": []}
        off = api.call(
            "admin", "POST", f"/api/v1/webhooks/{hook}/disable", json={"reason": "retired"}
        )
        assert off.json()["disabled"] is True
        again = api.call(
            "admin", "POST", f"/api/v1/webhooks/{hook}/disable", json={"reason": "retired"}
        )
        assert again.status_code == 409
        on = api.call("admin", "POST", f"/api/v1/webhooks/{hook}/enable")
        assert on.json()["disabled"] is False
    finally:
        receiver.stop()


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/iam",
        "http://user:pw@hooks.example.org/secret-path",
        "gopher://hooks.example.org/secret-path",
    ],
)
def test_a_bad_url_is_refused_without_echo_and_nothing_recorded(api: Api, url: str) -> None:
    """A metadata address, credentials or another scheme: 422 naming url, the URL not in
    the answer, no event appended."""
    before = api.events()
    r = api.call("admin", "POST", "/api/v1/webhooks", json={"url": url, "kinds": ["alert.raised"]})
    assert r.status_code == 422
    assert "url" in r.text
    assert url not in r.text
    assert "secret-path" not in r.text
    assert "meta-data" not in r.text
    assert api.events() == before


def test_unknown_kinds_and_unknown_ids_are_refused(api: Api) -> None:
    """An unknown kind is 422 and an unknown subscription 404."""
    r = api.call(
        "admin",
        "POST",
        "/api/v1/webhooks",
        json={"url": "https://hooks.example.org/x", "kinds": ["incident.exploded"]},
    )
    assert r.status_code == 422
    missing = api.call("admin", "GET", "/api/v1/webhooks/00000000-0000-4000-8000-000000000009")
    assert missing.status_code == 404
    bad = api.call("admin", "GET", "/api/v1/webhooks/not-an-id")
    assert bad.status_code == 422
