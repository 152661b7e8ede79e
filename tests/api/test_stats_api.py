"""``GET /stats``: the team's figures as JSON and CSV, and the period refused naming the
field, with nothing appended."""

from __future__ import annotations

from tests.api.conftest import Api


def test_stats_as_json_and_csv(api: Api) -> None:
    """Two incidents reported in the period are counted, with the hours from discovery to
    awareness; the CSV has the same figures."""
    api.report(occurred_at="2026-11-27T02:00:00Z", aware_at="2026-11-27T08:30:00Z")
    api.report(title="Second", aware_at="2026-11-27T08:45:00Z")
    answer = api.call("auditor", "GET", "/api/v1/stats", params={"from": "2026-11-01"})
    assert answer.status_code == 200, answer.text
    stats = answer.json()
    assert stats["incidents"] == 2
    spans = {s["name"]: s for s in stats["spans"]}
    assert spans["detect"]["median_hours"] == 6.0
    assert (spans["aware"]["incidents"], spans["aware"]["p90_hours"]) == (2, 0.75)
    csv = api.call("dpo", "GET", "/api/v1/stats", params={"from": "2026-11-01", "format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert "hours,aware,p90,0.75" in csv.text.splitlines()


def test_a_bad_period_is_a_problem_naming_the_field_and_appends_nothing(api: Api) -> None:
    """A reversed period, a bound that is not a time and an unknown format are answered 4xx
    with a problem naming the field; the store holds the same events afterwards, and the
    input is not echoed."""
    before = api.events()
    for params, field in (
        ({"from": "2026-11-02", "to": "2026-11-01"}, "from"),
        ({"to": "<script>"}, "to"),
        ({"format": "xml"}, "format"),
    ):
        answer = api.call("responder", "GET", "/api/v1/stats", params=params)
        assert 400 <= answer.status_code < 500, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert field in answer.text
        assert "<script>" not in answer.text
    assert api.events() == before
