"""The alerts API: incident owners, the DPO duty rota, and a user's alerts acknowledged once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from services.application.context import RequestContext
from tests.api.conftest import Api
from tests.support.clocks import ManualClock
from tests.support.facts import PORTAL_LEAK

AWARE = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def test_owner_rota_and_alerts_through_the_api(api: Api) -> None:
    """An owner assigned and shown on the incident, a DPO shift on the rota, then the 6-hour
    step raised: both are told, each sees it unread and acknowledges it once."""
    incident = api.report("responder", aware_at=AWARE.isoformat())["id"]
    owner = api.call(
        "responder", "PUT", f"/api/v1/incidents/{incident}/owner", json={"owner": "responder"}
    )
    assert owner.status_code == 200, owner.text
    assert owner.json()["owner"] == "responder"
    shown = api.call("auditor", "GET", f"/api/v1/incidents/{incident}").json()
    assert shown["owner"] == "responder"
    shift = api.call(
        "dpo",
        "POST",
        "/api/v1/duty-rota/shifts",
        json={"user": "dpo", "starts_at": "2026-11-26T00:00:00Z", "ends_at": "2026-12-31T00:00Z"},
    )
    assert shift.status_code == 201, shift.text
    assert api.call("auditor", "GET", "/api/v1/duty-rota").json()["on_duty"] == "dpo"

    rt = api.rt
    rt.app.assessment.assess_impact(UUID(incident), PORTAL_LEAK, RequestContext(actor="dpo"))
    clock = rt.app.core.clock
    assert isinstance(clock, ManualClock)
    clock.current = AWARE + timedelta(hours=72 - 5)
    rt.settle()
    assert len(rt.alarm_clock().scan()) >= 1
    rt.settle()
    mine = api.call("dpo", "GET", "/api/v1/alerts", params={"mine": "true"}).json()
    assert mine["unread"] == len(mine["items"]) >= 1
    first = mine["items"][0]
    assert first["step"] == "due_6h"
    assert first["recipients"] == ["responder", "dpo"]
    path = f"/api/v1/alerts/{first['alert_id']}/ack"
    assert api.call("dpo", "POST", path).status_code == 200
    again = api.call("dpo", "POST", path)
    assert again.status_code == 409
    assert again.json()["field"] == "alert"
    after = api.call("dpo", "GET", "/api/v1/alerts", params={"mine": "true"}).json()
    assert after["unread"] == mine["unread"] - 1
    timeline = api.call("auditor", "GET", f"/api/v1/incidents/{incident}/timeline").json()
    assert any(e["event"] == "AlertRaised" for e in timeline["entries"])


def test_bad_owner_and_shift_are_refused_naming_the_field(api: Api) -> None:
    """An unknown owner and a shift ending before it starts: 422 naming the field, no value
    echoed, nothing stored."""
    incident = api.report("responder")["id"]
    before = api.events()
    r = api.call(
        "responder", "PUT", f"/api/v1/incidents/{incident}/owner", json={"owner": "ghost-user"}
    )
    assert r.status_code == 422
    assert r.json()["field"] == "owner"
    assert "ghost-user" not in r.text
    r = api.call(
        "dpo",
        "POST",
        "/api/v1/duty-rota/shifts",
        json={"user": "dpo", "starts_at": "2026-12-02T00:00Z", "ends_at": "2026-12-01T00:00Z"},
    )
    assert r.status_code == 422
    assert r.json()["field"] == "ends_at"
    assert api.events() == before


def test_alert_routes_have_summaries() -> None:
    """Every alerts route is documented with a summary in the OpenAPI schema."""
    from services.api.routes.alerts import router

    assert all(getattr(route, "summary", None) for route in router.routes)
