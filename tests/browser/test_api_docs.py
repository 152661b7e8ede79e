"""The API docs page renders from the server alone: with every host but loopback made
unreachable, Swagger UI still lays out the API, and every resource the page loaded came
from the server itself."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.conftest import Site, chromium, require_chromium


@pytest.fixture
def isolated() -> Iterator[WebDriver]:
    """Headless Chromium that resolves no host name and reaches no address but loopback."""
    require_chromium()
    chrome = chromium(
        "--window-size=1280,900",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=127.0.0.1",
    )
    try:
        yield chrome
    finally:
        chrome.quit()


def test_the_docs_render_on_an_isolated_network_from_the_server_alone(
    site: Site, isolated: WebDriver
) -> None:
    """The page shows the API's title and its operations; every resource it loaded is the
    server's; its policy allows its one inline script by hash, never 'unsafe-inline'."""
    answer = httpx.get(f"{site.url}/api/v1/docs")
    policy = answer.headers["content-security-policy"]
    assert "'sha256-" in policy
    assert "unsafe-inline" not in policy
    assert "http" not in policy
    isolated.get(f"{site.url}/api/v1/docs")
    deadline = time.monotonic() + 15
    while not isolated.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock"):
        assert time.monotonic() < deadline, "Swagger UI did not lay out the API"
        time.sleep(0.1)
    title = isolated.find_element(By.CSS_SELECTOR, ".swagger-ui .info .title").text
    assert "breachledger" in title
    assert len(isolated.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock")) > 20
    loaded = isolated.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert loaded, "no resource was loaded"
    assert all(str(name).startswith(site.url) for name in loaded), loaded
    errors = [e for e in isolated.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
