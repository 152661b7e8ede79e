"""End-to-end fixtures: a real server (HTTP, workers, local capture SMTP server) over a
temporary data directory, and one headless Debian Chromium driven by Selenium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from services.application.context import RequestContext
from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from services.server.runner import Server
from tests.support.clocks import ManualClock
from tests.support.story import STORY_START, record_story

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DPO_PASSWORD = "dora's own password"
STORY_PASSWORD = "chief's own password"
"""The password of ``chief`` (every role) on the :func:`story` server."""

NO_CHROMIUM = not (CHROMIUM.is_file() and CHROMEDRIVER.is_file())
SKIP_REASON = (
    "browser tests need Debian's Chromium: /usr/bin/chromium and /usr/bin/chromedriver "
    "(apt-get install chromium chromium-driver)"
)


@dataclass
class Site:
    """The running server, its runtime, the users' passwords, and what the flow learned."""

    server: Server
    rt: Runtime
    passwords: dict[str, str]
    found: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The server's base URL."""
        return self.server.url


@pytest.fixture(scope="package")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("browser") / "var",
        log_format="json",
        log_level="warning",
        password_hash_memory_kib=64,
    )
    rt = bootstrap(settings, configure_logs=False)
    setup = RequestContext(actor="setup")
    _, rita_once = rt.app.users.add_user("rita", ["responder"], setup)
    rt.app.users.add_user("dora", ["dpo"], setup)
    rt.app.users.set_password("dora", DPO_PASSWORD, setup)
    server = Server(rt, host="127.0.0.1", port=0).start()
    try:
        yield Site(server, rt, {"rita": rita_once, "dora": DPO_PASSWORD})
    finally:
        server.stop()
        rt.close()


@pytest.fixture(scope="package")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A server over the told story's store (``tests.support.story``), its clock stopped on
    the story's second day, with ``chief`` holding every role; ``found["incident"]`` and
    ``found["campaign"]`` are the story's pages."""
    work = tmp_path_factory.mktemp("story")
    settings = Settings(
        data_dir=work / "var", log_format="json", log_level="warning", password_hash_memory_kib=64
    )
    clock = ManualClock(STORY_START)
    rt = bootstrap(settings, clock=clock, configure_logs=False)
    incident = record_story(rt, clock, work)
    setup = RequestContext(actor="setup")
    rt.app.users.add_user("chief", ["responder", "dpo", "auditor", "admin"], setup)
    rt.app.users.set_password("chief", STORY_PASSWORD, setup)
    [campaign] = rt.notifications.campaigns(incident)
    server = Server(rt, host="127.0.0.1", port=0).start()
    try:
        site = Site(server, rt, {"chief": STORY_PASSWORD})
        site.found["incident"] = f"{server.url}/incidents/{incident}"
        site.found["campaign"] = f"{site.found['incident']}/campaigns/{campaign['campaign_id']}"
        yield site
    finally:
        server.stop()
        rt.close()


def require_chromium() -> None:
    """Skip where Debian's Chromium is not installed, except under CI (``CI=true``), whose
    ``.ci/run`` installs it, so that a missing browser fails there instead of hiding the
    browser tests."""
    if NO_CHROMIUM:
        if os.environ.get("CI") == "true":
            pytest.fail(SKIP_REASON)
        pytest.skip(SKIP_REASON)


def chromium(*arguments: str) -> WebDriver:
    """Headless Debian Chromium with its console log kept, and ``arguments`` besides."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    for argument in arguments:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def headless_browser() -> Iterator[WebDriver]:
    """Headless Chromium at 1366x900 (see :func:`require_chromium`), quit afterwards."""
    require_chromium()
    chrome = chromium("--window-size=1366,900")
    chrome.implicitly_wait(0)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield chrome
    finally:
        chrome.quit()


@pytest.fixture(scope="package")
def driver() -> Iterator[WebDriver]:
    """The browser of the dashboard flow's server."""
    yield from headless_browser()


@pytest.fixture(scope="package")
def story_driver() -> Iterator[WebDriver]:
    """A browser of its own for the :func:`story` server: cookies are kept per host, not
    per port, so one browser signed in to both servers would mix their sessions."""
    yield from headless_browser()


@pytest.fixture(scope="module")
def signed_in(driver: WebDriver, story: Site) -> Site:
    """The story's server, the module's browser signed in to it as ``chief`` (once per
    module; a module testing the story's pages gives ``driver`` as ``story_driver``)."""
    from tests.browser.test_dashboard_flow import sign_in

    sign_in(driver, story, "chief", STORY_PASSWORD)
    return story
