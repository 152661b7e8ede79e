"""Pictures of the dashboard over a told story (``tests.support.story``): the incident on a
time axis, checked mark by mark, and the team metrics page, checked figure by figure, in
headless Chromium; both saved as the README's pictures (``make pictures`` copies them into
``docs/``)."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.conftest import STORY_PASSWORD, Site
from tests.browser.test_dashboard_flow import find, shot, sign_in


@pytest.fixture(scope="module")
def driver(story_driver: WebDriver) -> WebDriver:
    """The story's own browser (see ``story_driver``)."""
    return story_driver


def test_the_time_axis_of_a_two_day_breach(driver: WebDriver, story: Site) -> None:
    """Each kind of mark is drawn: the three legal moments, a deadline met, one pending and
    the two a correction of awareness superseded (faint), the four mandatory tasks done (the
    optional one still open) with containment reached, the campaign's bar, the note, the
    decision and "now"."""
    sign_in(driver, story, "chief", STORY_PASSWORD)
    driver.get(story.found["incident"])
    axis = find(driver, "#time-axis svg")

    def kinds(css: str) -> list[str | None]:
        return [g.get_attribute("data-state") for g in axis.find_elements(By.CSS_SELECTOR, css)]

    assert len(kinds("g[data-kind=moment]")) == 3
    deadlines = kinds("g[data-kind=deadline]")
    assert sorted(s or "" for s in deadlines) == ["met", "pending", "superseded", "superseded"]
    assert sorted(s or "" for s in kinds("g.ta-bar[data-kind=task]")) == ["done"] * 4 + ["open"]
    assert len(kinds("g[data-kind=contained]")) == 1
    assert len(kinds("g.ta-bar[data-kind=campaign]")) == 1
    assert len(kinds("g[data-kind=note]")) == 1
    assert len(kinds("g[data-kind=decision]")) == 1
    assert len(kinds("g.ta-now[data-kind=now]")) == 1
    shot(driver, "time-axis-story", "#time-axis")


def test_the_metrics_page_of_the_told_story(driver: WebDriver, story: Site) -> None:
    """Over November the page shows the story's known figures: 3 incidents, 5.0 h to
    detect, 33.0 h to notify the authority, the GDPR deadline met and the UK one pending,
    40 notices sent; each chart is drawn."""
    sign_in(driver, story, "chief", STORY_PASSWORD)
    driver.get(story.url + "/metrics-report?from=2026-11-01&to=2026-12-01")
    assert "3 incidents reported" in find(driver, "#period").text

    def figure(css: str) -> str:
        return find(driver, css).text

    assert figure("tr[data-span=detect] [data-field=median]") == "5.0 h"
    assert figure("tr[data-span=notify_authority] [data-field=median]") == "33.0 h"
    assert figure("tr[data-regime=eu_gdpr] [data-field=met]") == "1"
    assert figure("tr[data-regime=uk_gdpr] [data-field=pending]") == "1"
    assert figure("[data-notices=sent]") == "40 sent"
    assert len(driver.find_elements(By.CSS_SELECTOR, "main svg rect")) >= 8
    shot(driver, "metrics-story")
