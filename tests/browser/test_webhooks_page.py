"""The webhook pages in headless Chromium against a real server whose webhooks may deliver
to loopback: an admin subscribes a real local receiver through the form, copies the secret
shown once, sends a signed test delivery and disables the subscription, with no policy
violation or script error on the way."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from services.application.context import RequestContext
from services.bootstrap import bootstrap
from services.config import Settings
from services.server.runner import Server
from tests.browser.conftest import Site
from tests.browser.test_dashboard_flow import find, shot, shows, sign_in, text_of
from tests.support.webhook_receiver import Receiver

ADMIN_PASSWORD = "ada's own password"


@pytest.fixture(scope="module")
def hooks_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("browser-webhooks") / "var",
        log_format="json",
        log_level="warning",
        password_hash_memory_kib=64,
        webhook_allow_loopback=True,
    )
    rt = bootstrap(settings, configure_logs=False)
    setup = RequestContext(actor="setup")
    rt.app.users.add_user("ada", ["admin"], setup)
    rt.app.users.set_password("ada", ADMIN_PASSWORD, setup)
    server = Server(rt, host="127.0.0.1", port=0).start()
    try:
        yield Site(server, rt, {"ada": ADMIN_PASSWORD})
    finally:
        server.stop()
        rt.close()


def test_an_admin_subscribes_tests_and_disables_a_receiver(
    driver: WebDriver, hooks_site: Site
) -> None:
    """Through the header link and the forms: the secret is shown once with its note, the
    receiver verifies the test ping with it, the page never shows the URL's path, and the
    subscription is disabled with a reason."""
    site = hooks_site
    receiver = Receiver().start()
    try:
        sign_in(driver, site, "ada", ADMIN_PASSWORD)
        find(driver, "nav a[href='/webhooks']").click()
        shows(driver, "Subscribe a receiver")
        find(driver, "#add-webhook-form input[name=url]").send_keys(receiver.url)
        find(driver, "#add-webhook-form input[value='incident.reported']").click()
        find(driver, "#add-webhook-form input[name=shape][value='chat']").click()
        find(driver, "#add-webhook-form button[type=submit]").click()
        shows(driver, "it will not be shown again")
        receiver.secret = find(driver, "#webhook-secret .secret-value").text
        assert re.fullmatch(r"whsec_[A-Za-z0-9_-]+", receiver.secret)
        shot(driver, "webhook-secret")
        find(driver, "#test-form button").click()
        shows(driver, "The receiver answered 204.")
        (ping,) = receiver.accepted()
        assert ping.kind == "ping"
        assert receiver.secret not in text_of(driver)
        assert "/hooks/breach" not in driver.page_source
        find(driver, "#disable-form input[name=reason]").send_keys("receiver retired")
        find(driver, "#disable-form button").click()
        shows(driver, "Webhook disabled.")
        assert "receiver retired" in text_of(driver)
        shot(driver, "webhook-page")
        driver.get(site.url + "/webhooks")
        shows(driver, "disabled")
        assert receiver.secret not in driver.page_source
    finally:
        receiver.stop()
    problems = [
        entry["message"]
        for entry in driver.get_log("browser")
        if "Content Security Policy" in entry["message"] or "Uncaught" in entry["message"]
    ]
    assert problems == []
