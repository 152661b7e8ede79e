"""Pictures of the dashboard over a told story (``tests.support.story``): the incident on a
time axis, checked mark by mark in headless Chromium and saved as the README's picture
(``make pictures`` copies it into ``docs/``)."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.conftest import STORY_PASSWORD, Site
from tests.browser.test_dashboard_flow import find, shot, sign_in


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
