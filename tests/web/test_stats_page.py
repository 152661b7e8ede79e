"""The team metrics page: figures and charts over the period asked for, its CSV, and a bad
period shown as a message naming the field."""

from __future__ import annotations

from tests.web.conftest import Web


def test_the_metrics_page_shows_the_figures_with_charts_and_a_csv(web: Web) -> None:
    """An incident discovered a day after it occurred shows 24.0 h to detect, drawn as a
    bar; the CSV link carries the period and answers the same figures."""
    web.report()
    browser = web.sign_in("auditor")
    page = browser.get("/metrics-report?from=2026-11-01").text
    assert "1 incidents reported" in page
    assert '<td class="num" data-field="median">24.0 h</td>' in page
    assert page.count("<svg") >= 5
    assert 'href="/metrics-report.csv?from=2026-11-01"' in page
    csv = browser.client.get("/metrics-report.csv?from=2026-11-01")
    assert csv.headers["content-type"].startswith("text/csv")
    assert "hours,detect,median,24.00" in csv.text


def test_a_bad_period_is_a_message_naming_the_field(web: Web) -> None:
    """A period whose start is after its end is refused on the page with status 422 and a
    message naming "from"; nothing is drawn."""
    browser = web.sign_in("responder")
    answer = browser.client.get("/metrics-report?from=2026-11-02&to=2026-11-01")
    assert answer.status_code == 422
    assert "from: must be before to" in answer.text
    assert "<svg" not in answer.text
