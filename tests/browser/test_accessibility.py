"""Every page of the dashboard, over the told story, checked with axe-core (vendored from
the npm package under ``tests/browser/vendor``) in headless Chromium: no serious or critical
violation, every form control labelled, and countdowns that say in words what their colour
says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.conftest import Site
from tests.browser.test_dashboard_flow import find

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
"""The impacts that fail a page."""


def axe_violations(driver: WebDriver) -> list[dict[str, Any]]:
    """What axe-core finds on the page loaded now (WCAG 2 A and AA rules, best practices)."""
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    driver.set_script_timeout(60)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done(JSON.stringify(r.violations)), e => done(JSON.stringify(String(e))));"
    )
    found = json.loads(result)
    assert isinstance(found, list), found
    return found


def blocking(violations: list[dict[str, Any]]) -> list[str]:
    """The serious and critical violations, a line each: rule, impact, where."""
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in violations
        if v.get("impact") in BLOCKING
    ]


def pages(story: Site) -> dict[str, str]:
    """Every page a user with every role reaches, by name."""
    incident = story.found["incident"]
    return {
        "board": story.url + "/",
        "report form": story.url + "/incidents/new",
        "incident": incident,
        "incident replayed": incident + "?at=2026-11-23T10:00:00Z",
        "campaign": story.found["campaign"],
        "obligations": story.url + "/obligations",
        "alerts": story.url + "/alerts",
        "mailbox": story.url + "/mailbox",
        "users": story.url + "/users",
        "webhooks": story.url + "/webhooks",
        "password": story.url + "/account/password",
        "metrics": story.url + "/metrics-report?from=2026-11-01",
    }


@pytest.fixture(scope="module")
def driver(story_driver: WebDriver) -> WebDriver:
    """The story's own browser (see ``story_driver``)."""
    return story_driver


@pytest.mark.parametrize(
    "name",
    [
        "board",
        "report form",
        "incident",
        "incident replayed",
        "campaign",
        "obligations",
        "alerts",
        "mailbox",
        "users",
        "webhooks",
        "password",
        "metrics",
    ],
)
def test_no_serious_or_critical_accessibility_violation(
    driver: WebDriver, signed_in: Site, name: str
) -> None:
    """axe-core finds no serious or critical violation on the page (unlabelled controls,
    contrast, names of links and buttons, ARIA misuse are among its rules)."""
    driver.get(pages(signed_in)[name])
    find(driver, "main")
    assert blocking(axe_violations(driver)) == []


def test_countdowns_say_in_words_what_their_colour_says(driver: WebDriver, signed_in: Site) -> None:
    """Every countdown on the board and the obligations page carries its state as text
    ("left", "overdue"), not as colour alone."""
    for path in ("/", "/obligations"):
        driver.get(signed_in.url + path)
        clocks = driver.find_elements(By.CSS_SELECTOR, "time.countdown")
        assert clocks, path
        for clock in clocks:
            words = clock.text.lower()
            assert "left" in words or "overdue" in words, words


def test_axe_reports_an_unlabelled_control_as_critical(driver: WebDriver, signed_in: Site) -> None:
    """The check itself works: a text field added to the board without a label is reported
    (rule "label", critical), so a page that passes is one axe-core really examined."""
    driver.get(signed_in.url + "/")
    driver.execute_script(
        "const i = document.createElement('input'); i.type = 'text';"
        "document.querySelector('main').appendChild(i);"
    )
    assert any(line.startswith("label (critical)") for line in blocking(axe_violations(driver)))


def test_the_sign_in_page_has_no_serious_or_critical_violation(
    driver: WebDriver, story: Site
) -> None:
    """The sign-in page, seen before anyone signs in, passes the same check (last: it signs
    the module's browser out)."""
    driver.delete_all_cookies()
    driver.get(story.url + "/login")
    find(driver, "form[action='/login']")
    assert blocking(axe_violations(driver)) == []
