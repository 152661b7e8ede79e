"""The dashboard end to end in headless Chromium against a real server: a responder signs in
with a one-time password, reports and triages an incident, completes a task and drafts a
notice; a DPO records the assessment, previews and approves the notice; the responder sends
it and watches it arrive in the local mailbox; then an earlier moment is replayed and the
board is checked on a phone-sized screen. The tests run in order and share one server."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import SCREENSHOTS, Site

RITA_PASSWORD = "rita's own password"
WAIT = 15


def wait_for(
    driver: WebDriver, check: Callable[[WebDriver], object], seconds: float = WAIT
) -> None:
    """Wait until ``check`` is truthy."""
    WebDriverWait(
        driver, seconds, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)
    ).until(check)


def find(driver: WebDriver | WebElement, css: str) -> WebElement:
    """The first element matching ``css``."""
    return driver.find_element(By.CSS_SELECTOR, css)


def text_of(driver: WebDriver) -> str:
    """The page's visible text."""
    return find(driver, "body").text


def shows(driver: WebDriver, words: str) -> None:
    """Wait until the page shows ``words``."""
    wait_for(driver, lambda d: words in text_of(d))


def fill(driver: WebDriver | WebElement, css: str, value: str) -> None:
    """Type ``value`` into a field (cleared first)."""
    field = find(driver, css)
    field.clear()
    field.send_keys(value)


def choose(driver: WebDriver | WebElement, css: str, value: str) -> None:
    """Pick the option with ``value`` in a select."""
    Select(find(driver, css)).select_by_value(value)


def shot(driver: WebDriver, name: str, css: str | None = None) -> None:
    """Save a screenshot of the whole page (or of one element) as PNG."""
    size = driver.get_window_size()
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.set_window_size(size["width"], min(max(height, size["height"]), 5000))
    try:
        path = str(SCREENSHOTS / f"{name}.png")
        if css is None:
            assert driver.save_screenshot(path)
        else:
            assert find(driver, css).screenshot(path)
    finally:
        driver.set_window_size(size["width"], size["height"])


def sign_in(driver: WebDriver, site: Site, username: str, password: str) -> None:
    """Sign in through the form (signing out first if someone is signed in)."""
    driver.get(site.url + "/login")
    if "/login" not in driver.current_url:
        find(driver, "form[action='/logout'] button").click()
        wait_for(driver, lambda d: "/login" in d.current_url)
    fill(driver, "input[name=username]", username)
    fill(driver, "input[name=password]", password)
    find(driver, "form[action='/login'] button[type=submit]").click()
    wait_for(driver, lambda d: "/login" not in d.current_url)


def test_responder_signs_in_with_a_one_time_password_and_reports(
    driver: WebDriver, site: Site
) -> None:
    """The one-time password leads to the password page only; then the responder reports an
    incident and triages it, which opens the playbook's tasks."""
    driver.get(site.url + "/")
    wait_for(driver, lambda d: "/login" in d.current_url)
    fill(driver, "input[name=username]", "rita")
    fill(driver, "input[name=password]", "not it")
    find(driver, "form[action='/login'] button").click()
    shows(driver, "wrong username or password")
    sign_in(driver, site, "rita", site.passwords["rita"])
    assert driver.current_url.endswith("/account/password")
    shows(driver, "Set your own password")
    fill(driver, "input[name=new_password]", RITA_PASSWORD)
    fill(driver, "input[name=confirm_password]", RITA_PASSWORD)
    find(driver, "form[action='/account/password'] button[type=submit]").click()
    shows(driver, "Password changed.")
    assert "Load the demo incident" in text_of(driver)
    cookie = driver.get_cookie("breach_session")
    assert cookie is not None
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"

    find(driver, "a[href='/incidents/new']").click()
    fill(driver, "input[name=title]", "Careers portal: CVs downloadable without login")
    fill(driver, "textarea[name=description]", "WAF alert: bulk downloads of /cv from one range.")
    choose(driver, "select[name=incident_type]", "web_application_exfiltration")
    choose(driver, "select[name=source]", "siem")
    find(driver, "form[action='/incidents/new'] button[type=submit]").click()
    shows(driver, "Incident reported.")
    site.found["incident"] = driver.current_url.split("?")[0]

    choose(driver, "#triage-form select[name=severity]", "high")
    choose(driver, "#triage-form select[name=personal_data_breach]", "yes")
    find(driver, "#triage-form button").click()
    shows(driver, "Triage recorded.")
    assert "Close the vulnerable endpoint" in text_of(driver)


def test_responder_completes_a_task_and_drafts_a_notice(driver: WebDriver, site: Site) -> None:
    """A task without prerequisites is marked done with evidence; an authority notice is
    drafted and waits for a DPO."""
    rows = driver.find_elements(By.CSS_SELECTOR, "tr.task")
    row = next(r for r in rows if "waits for" not in r.text and "Close the vulnerable" in r.text)
    find(row, "details.task-actions summary").click()
    fill(row, "form.task-done input[name=outcome]", "WAF rule blocks the range")
    fill(row, "form.task-done textarea[name=evidence]", "ticket:NET-2231")
    find(row, "form.task-done button").click()
    shows(driver, "Task updated.")
    shows(driver, "done by rita: WAF rule blocks the range; ticket:NET-2231")
    assert "1/4 mandatory tasks done" in text_of(driver)

    find(driver, "#campaigns details summary").click()
    form = find(driver, "#draft-form")
    choose(form, "select[name=audience]", "authority")
    fill(form, "textarea[name=nature]", "CVs of job applicants were downloaded from our portal.")
    fill(form, "textarea[name=consequences]", "Targeted phishing of the applicants.")
    fill(form, "textarea[name=measures]", "The endpoint is closed and the keys rotated.")
    fill(form, "textarea[name=recipients]", "BfDI <poststelle@bfdi.example> en")
    find(form, "button[type=submit]").click()
    shows(driver, "Campaign drafted.")
    shows(driver, "Waiting for a DPO to preview and approve it.")
    site.found["campaign"] = driver.current_url.split("?")[0]


def test_dpo_records_the_assessment_and_approves_the_notice(driver: WebDriver, site: Site) -> None:
    """The DPO fills the structured assessment form and sees the severity working and the
    laws that apply; then previews the notice and approves it."""
    sign_in(driver, site, "dora", site.passwords["dora"])
    driver.get(site.found["incident"])
    form = find(driver, "#assess-form")
    fill(form, "input[name=summary]", "2,300 CVs downloaded by an unknown party")
    for category in ("resume_cv", "contact", "identity"):
        find(form, f"input[name=data_categories][value={category}]").click()
    fill(form, "input[name=people_count]", "2300")
    find(form, "input[name=people_confirmed]").click()
    codes = form.find_elements(By.CSS_SELECTOR, "input[name=jurisdiction]")
    counts = form.find_elements(By.CSS_SELECTOR, "input[name=jurisdiction_people]")
    for code_field, count_field, (code, count) in zip(
        codes, counts, [("DE", "1300"), ("GB", "600"), ("CN", "400")], strict=False
    ):
        code_field.send_keys(code)
        count_field.send_keys(count)
    choose(form, "select[name=recipients]", "unknown_or_public")
    choose(form, "select[name=intent]", "malicious")
    find(form, "button[value=record]").click()
    shows(driver, "Impact assessment recorded.")
    page = text_of(driver)
    assert "How the score was reached" in page
    assert "Which laws apply and why" in page
    assert "eu_gdpr/supervisory_authority" in page
    shot(driver, "assessment", "#assessment")

    driver.get(site.found["campaign"])
    find(driver, "#preview-form button").click()
    shows(driver, "Subject:")
    assert "CVs of job applicants were downloaded" in find(driver, "#preview").text
    find(driver, "#approve-form button").click()
    shows(driver, "Campaign approved.")


def test_responder_sends_and_watches_it_arrive(driver: WebDriver, site: Site) -> None:
    """Sending starts dispatch; the page's progress (polled by its script) reaches
    completed without a reload, and the notice is in the local mailbox."""
    sign_in(driver, site, "rita", RITA_PASSWORD)
    driver.get(site.found["campaign"])
    find(driver, "#send-form button").click()
    shows(driver, "Sending started.")
    wait_for(
        driver,
        lambda d: find(d, "#progress [data-field=status]").text == "completed",
        seconds=30,
    )
    assert find(driver, "#progress [data-field=sent]").text == "1"
    assert find(driver, "#progress [data-field=done]").text == "1"
    assert find(driver, "#campaign-status").text == "completed"
    assert not find(driver, "#pause-form").is_displayed()
    shot(driver, "campaign")

    find(driver, "a[href='/mailbox']").click()
    shows(driver, "1 message(s) received")
    assert "poststelle@bfdi.example" in text_of(driver)
    shot(driver, "mailbox")
    find(driver, "table.mailbox td a").click()
    shows(driver, "CVs of job applicants were downloaded from our portal.")


def test_board_and_replay_of_an_earlier_moment(driver: WebDriver, site: Site) -> None:
    """The board shows the incident with a live countdown; the incident replayed as of its
    report shows it untriaged, bannered, with a way back to now, where the assessed severity
    shows beside the triage estimate; the datetime control replays a typed moment."""
    driver.get(site.url + "/")
    countdown = find(driver, "table.board time.countdown")
    first = countdown.text
    assert re.search(r"(\d+d )?\d+h \d\dm \d\ds left", first), first
    wait_for(driver, lambda d: find(d, "table.board time.countdown").text != first, seconds=3)
    assert "1/4 tasks" in text_of(driver)
    shot(driver, "board")

    driver.get(site.found["incident"])
    shot(driver, "incident")
    reported_at = find(driver, "a.as-of").get_attribute("href")
    assert reported_at is not None
    find(driver, "a.as-of").click()
    shows(driver, "As of ")
    banner = find(driver, ".replay-banner").text
    assert re.search(r"As of \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", banner), banner
    assert "Nothing here can be changed" in banner
    assert "not triaged" in text_of(driver)
    assert "Not assessed yet at that moment." in text_of(driver)
    shot(driver, "replay")
    find(driver, ".replay-banner a").click()
    wait_for(driver, lambda d: "?at=" not in d.current_url)
    # Now the assessed band (CVs without the volume adjustment: SE 2) is the incident's
    # severity; the triage's "high" stays as the initial estimate.
    assert "band-medium" in driver.page_source
    assert "initial estimate high" in text_of(driver)

    moment = re.search(r"at=([0-9T:.\-]+)Z", reported_at)
    assert moment is not None
    typed = datetime.fromisoformat(moment.group(1)).replace(microsecond=0) + timedelta(seconds=1)
    field = find(driver, ".replay-control input[name=at]")
    driver.execute_script(
        "arguments[0].value = arguments[1];", field, typed.strftime("%Y-%m-%dT%H:%M:%S")
    )
    find(driver, ".replay-control button").click()
    shows(driver, "As of ")
    assert "Back to now" in text_of(driver)


def test_the_incident_on_a_time_axis(driver: WebDriver, site: Site) -> None:
    """The incident page draws the legal moment, the deadlines, a bar per task (the one done
    filled), the campaign's bar, the note just added and "now", each with its words in a
    list; replayed as of the report the same drawing has the moment alone and the moment
    replayed instead of now."""
    driver.get(site.found["incident"])
    fill(driver, "#note-form textarea[name=text]", "Portal vendor confirms the endpoint is closed")
    find(driver, "#note-form button").click()
    shows(driver, "Portal vendor confirms the endpoint is closed")
    axis = find(driver, "#time-axis figure.time-axis")

    def count(css: str) -> int:
        return len(axis.find_elements(By.CSS_SELECTOR, css))

    assert count("svg g[data-kind=moment]") == 1
    assert count("svg g[data-kind=deadline]") >= 2
    assert count("svg g.ta-bar[data-kind=task]") == 5
    assert count("svg g.ta-bar[data-kind=task][data-state=done]") == 1
    assert count("svg g.ta-bar[data-kind=campaign]") == 1
    assert count("svg g[data-kind=note]") == 1
    assert count("svg g.ta-now[data-kind=now]") == 1
    find(axis, "details.ta-text summary").click()
    listed = find(axis, "details.ta-text").text
    assert "note by rita: Portal vendor confirms the endpoint is closed" in listed
    assert "campaign to authority (completed)" in listed
    shot(driver, "time-axis", "#time-axis")

    find(driver, "a.as-of").click()
    shows(driver, "As of ")
    then = find(driver, "#time-axis figure.time-axis")
    assert len(then.find_elements(By.CSS_SELECTOR, "svg g[data-kind=moment]")) == 1
    assert then.find_elements(By.CSS_SELECTOR, "svg g.ta-bar") == []
    assert then.find_elements(By.CSS_SELECTOR, "svg g[data-kind=note]") == []
    assert len(then.find_elements(By.CSS_SELECTOR, "svg g.ta-now[data-kind=as-of]")) == 1


def test_board_on_a_phone_sized_screen(driver: WebDriver, site: Site) -> None:
    """On a 375x812 screen the page itself does not scroll sideways and the board is a list
    of cards that fits the screen (no sideways scroll inside its box either)."""
    size = driver.get_window_size()
    driver.set_window_size(375, 812)
    try:
        driver.get(site.url + "/")
        find(driver, "table.board")
        page_width = driver.execute_script("return document.documentElement.scrollWidth")
        view_width = driver.execute_script("return window.innerWidth")
        assert page_width <= view_width, (page_width, view_width)
        box = find(driver, ".scroll")
        assert not driver.execute_script(
            "return arguments[0].scrollWidth > arguments[0].clientWidth", box
        )
        assert find(driver, "table.board tbody tr").value_of_css_property("display") == "grid"
        shot(driver, "phone-board")
    finally:
        driver.set_window_size(size["width"], size["height"])


def test_no_policy_violations_or_script_errors(driver: WebDriver, site: Site) -> None:
    """Over the whole flow the browser reported no Content-Security-Policy violation and no
    script error."""
    problems = [
        entry["message"]
        for entry in driver.get_log("browser")
        if "Content Security Policy" in entry["message"] or "Uncaught" in entry["message"]
    ]
    assert problems == []
