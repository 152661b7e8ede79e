"""The dashboard's pages at the widths people use, over the told story, in headless Chromium:
nothing overflows sideways at 1280, 1366 and 1920 px; on a 390 px phone the page does not
scroll sideways, the board and the incident's tables become cards, and every action on the
incident page can be reached. Screenshots at 1280, 1920 and 390 px are saved as artifacts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.conftest import Site
from tests.browser.test_dashboard_flow import find, shot

PAGES = ("board", "incident", "obligations", "campaign", "metrics")

SIDEWAYS = """
const out = [];
if (document.documentElement.scrollWidth > window.innerWidth) {
  out.push('page ' + document.documentElement.scrollWidth + ' > ' + window.innerWidth);
}
document.querySelectorAll(arguments[0]).forEach(box => {
  if (box.scrollWidth > box.clientWidth + 1) {
    const section = box.closest('section');
    const name = section ? '#' + section.id : box.tagName;
    out.push(name + ' ' + box.scrollWidth + ' > ' + box.clientWidth);
  }
});
return out;
"""
"""What overflows sideways: the page, or any box matching the selector given."""

UNREACHABLE = """
const out = [];
document.querySelectorAll('main summary, main button, main a.as-of').forEach(e => {
  // Inside a closed <details> an action is reached by its summary, which is checked.
  const around = e.tagName === 'SUMMARY' ? e.parentElement.parentElement : e.parentElement;
  const host = around && around.closest('details');
  if ((host && !host.open) || e.offsetParent === null) return;
  e.scrollIntoView({block: 'center', inline: 'nearest'});
  const r = e.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  if (r.left < 0 || r.right > window.innerWidth || !(hit === e || e.contains(hit))) {
    out.push(e.tagName + ' "' + e.textContent.trim().slice(0, 30) + '"');
  }
});
return out;
"""
"""The visible actions (buttons, the summaries that open forms, replay links) that cannot be
brought into the viewport and clicked where they are drawn."""


def url(story: Site, page: str) -> str:
    """The story's page of that name."""
    return {
        "board": story.url + "/",
        "obligations": story.url + "/obligations",
        "incident": story.found["incident"],
        "campaign": story.found["campaign"],
        "metrics": story.url + "/metrics-report?from=2026-11-01&to=2026-12-01",
    }[page]


@pytest.fixture(scope="module")
def driver(story_driver: WebDriver) -> WebDriver:
    """The story's own browser (see ``story_driver``)."""
    return story_driver


@pytest.fixture
def width(driver: WebDriver, request: pytest.FixtureRequest) -> Iterator[int]:
    """The window resized to the test's width (and back afterwards)."""
    before = driver.get_window_size()
    driver.set_window_size(request.param, 900)
    yield request.param
    driver.set_window_size(before["width"], before["height"])


@pytest.mark.parametrize("width", [1280, 1366, 1920], indirect=True)
@pytest.mark.parametrize("page", PAGES)
def test_nothing_overflows_on_a_desktop(
    driver: WebDriver, signed_in: Site, width: int, page: str
) -> None:
    """Neither the page nor any table's box needs a sideways scroll: every column shows."""
    driver.get(url(signed_in, page))
    find(driver, "main")
    assert driver.execute_script(SIDEWAYS, ".scroll, table.board, figure.time-axis") == []
    if width != 1366:
        shot(driver, f"{page}-{width}")


@pytest.mark.parametrize("width", [390], indirect=True)
@pytest.mark.parametrize("page", PAGES)
def test_a_phone_never_scrolls_the_page_sideways(
    driver: WebDriver, signed_in: Site, width: int, page: str
) -> None:
    """On a 390 px phone the page fits its width (wide working tables scroll in their own
    box), and lists of incidents, obligations, tasks and campaigns are cards."""
    driver.get(url(signed_in, page))
    find(driver, "main")
    assert driver.execute_script(SIDEWAYS, "table.cards, figure.time-axis") == []
    for table in driver.find_elements("css selector", "table.cards"):
        row = table.find_element("css selector", "tbody tr")
        assert row.value_of_css_property("display") == "grid"
    shot(driver, f"{page}-{width}")


@pytest.mark.parametrize("width", [390], indirect=True)
def test_every_action_on_the_incident_page_is_reachable_on_a_phone(
    driver: WebDriver, signed_in: Site, width: int
) -> None:
    """Every button, every summary that opens a form and every replay link of the incident
    page can be scrolled into view and is the element found where it is drawn."""
    driver.get(url(signed_in, "incident"))
    find(driver, "main")
    assert driver.execute_script(UNREACHABLE) == []
