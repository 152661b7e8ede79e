"""Pictures of the dashboard over a told story (``tests.support.story``): the incident on a
time axis, checked mark by mark in headless Chromium and saved as the README's picture
(``make pictures`` copies it into ``docs/``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from services.application.context import RequestContext
from services.bootstrap import bootstrap
from services.config import Settings
from services.server.runner import Server
from tests.browser.conftest import Site
from tests.browser.test_dashboard_flow import find, shot, sign_in
from tests.support.clocks import ManualClock
from tests.support.story import STORY_START, record_story

PASSWORD = "dora's own password"


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A server over the story's store, its clock stopped on the story's second day."""
    work = tmp_path_factory.mktemp("story")
    settings = Settings(
        data_dir=work / "var", log_format="json", log_level="warning", password_hash_memory_kib=64
    )
    clock = ManualClock(STORY_START)
    rt = bootstrap(settings, clock=clock, configure_logs=False)
    incident = record_story(rt, clock, work)
    rt.app.users.set_password("dora", PASSWORD, RequestContext(actor="setup"))
    server = Server(rt, host="127.0.0.1", port=0).start()
    try:
        site = Site(server, rt, {"dora": PASSWORD})
        site.found["incident"] = f"{server.url}/incidents/{incident}"
        yield site
    finally:
        server.stop()
        rt.close()


def test_the_time_axis_of_a_two_day_breach(driver: WebDriver, story: Site) -> None:
    """Each kind of mark is drawn: the three legal moments, a deadline met, one pending and
    the two a correction of awareness superseded (faint), the four mandatory tasks done (the
    optional one still open) with containment reached, the campaign's bar, the note, the
    decision and "now"."""
    sign_in(driver, story, "dora", PASSWORD)
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
