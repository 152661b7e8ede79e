"""Signing in and out of the dashboard, the login CSRF token, cookies, and the forced change
of a one-time password."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from httpx import Response

from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from services.server.http_app import create_app
from services.users.credentials import CredentialStore
from tests.support.clocks import ManualClock
from tests.support.server import serving
from tests.support.storm import browser
from tests.web.conftest import PASSWORD, SETUP, Web, add_user, csrf_of, settings_for


def _login(client: TestClient, username: str, password: str) -> Response:
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"csrf": token, "username": username, "password": password},
        follow_redirects=False,
    )


def test_pages_redirect_to_sign_in_when_not_signed_in(web: Web) -> None:
    """Without a session every page sends the browser to the sign-in page."""
    client = web.client()
    for path in ("/", "/obligations", "/mailbox", "/users", "/incidents/new"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/login"), path
    assert client.get("/obligations", follow_redirects=False).headers["location"] == (
        "/login?next=/obligations"
    )


def test_good_sign_in_opens_a_strict_http_only_session(web: Web) -> None:
    """The right password gives a session cookie (HttpOnly, SameSite=Strict, Path=/) and
    the board; ``next`` brings the user back where they were going."""
    client = web.client()
    token = csrf_of(client.get("/login?next=/obligations").text)
    r = client.post(
        "/login",
        data={"csrf": token, "username": "responder", "password": PASSWORD, "next": "/obligations"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/obligations"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("breach_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie  # turned off in these settings
    board = client.get("/")
    assert board.status_code == 200
    assert "responder" in board.text


def test_next_never_leads_off_the_site(web: Web) -> None:
    """A ``next`` naming another site is replaced by the board."""
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        client = web.client()
        token = csrf_of(client.get("/login?next=//evil.example/x").text)
        r = client.post(
            "/login",
            data={"csrf": token, "username": "responder", "password": PASSWORD, "next": target},
            follow_redirects=False,
        )
        assert r.headers["location"] == "/", target


def test_session_cookie_is_secure_by_default(tmp_path: Path) -> None:
    """With default settings the session cookie is marked Secure."""
    settings = Settings(data_dir=tmp_path / "var", password_hash_memory_kib=64)
    rt = bootstrap(settings, clock=ManualClock(), configure_logs=False)
    try:
        rt.app.users.add_user("alice", ["responder"], SETUP)
        rt.app.users.set_password("alice", PASSWORD, SETUP)
        client = TestClient(create_app(rt), base_url="https://testserver")
        r = _login(client, "alice", PASSWORD)
        cookie = next(c for c in r.headers.get_list("set-cookie") if "breach_session=" in c)
        assert "Secure" in cookie
        assert client.get("/").status_code == 200
        client.close()
    finally:
        rt.close()


def test_failed_sign_in_says_only_wrong_username_or_password(web: Web) -> None:
    """A wrong password and an unknown user get the same answer and no session."""
    client = web.client()
    for username, password in (("responder", "not the password"), ("nobody", PASSWORD)):
        r = _login(client, username, password)
        assert r.status_code == 401
        assert "wrong username or password" in r.text
        assert "breach_session" not in client.cookies
    assert client.get("/", follow_redirects=False).status_code == 303


def test_sign_in_without_the_pre_session_token_is_refused(web: Web) -> None:
    """A sign-in form posted from elsewhere (no or wrong login token) is refused with 403."""
    client = web.client()
    r = client.post(
        "/login", data={"username": "responder", "password": PASSWORD}, follow_redirects=False
    )
    assert r.status_code == 403
    client.get("/login")
    r = client.post(
        "/login",
        data={"csrf": "forged", "username": "responder", "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert "breach_session" not in client.cookies


def test_one_time_password_must_be_changed_before_anything_else(web: Web) -> None:
    """A user signing in with a one-time password gets only the password page; after
    setting their own, the board opens and the one-time password no longer works."""
    _, one_time = web.rt.app.users.add_user("newbie", ["responder"], SETUP)
    client = web.client()
    r = _login(client, "newbie", one_time)
    assert r.headers["location"] == "/account/password"
    assert "breach_session" not in client.cookies
    assert client.get("/", follow_redirects=False).headers["location"] == "/account/password"
    assert client.get("/api/v1/me").status_code == 401  # no session until the change
    page = client.get("/account/password")
    assert "one-time password" in page.text
    token = csrf_of(page.text)
    short = client.post(
        "/account/password",
        data={"csrf": token, "new_password": "short", "confirm_password": "short"},
    )
    assert short.status_code == 422
    assert "at least 12 characters" in short.text
    before = web.events()
    forged = client.post(
        "/account/password",
        data={"csrf": "forged", "new_password": PASSWORD, "confirm_password": PASSWORD},
    )
    assert forged.status_code == 403
    assert web.events() == before
    done = client.post(
        "/account/password",
        data={"csrf": token, "new_password": PASSWORD, "confirm_password": PASSWORD},
        follow_redirects=False,
    )
    assert done.headers["location"] == "/?ok=password"
    assert client.get("/").status_code == 200
    assert web.rt.app.users.login("newbie", one_time) is None
    assert web.rt.app.users.login("newbie", PASSWORD) is not None


def test_password_reset_to_one_time_signs_the_user_out(web: Web) -> None:
    """When an admin resets a signed-in user's password, their session ends at once: the
    next page is the sign-in form."""
    browser = web.sign_in("auditor")
    assert browser.get("/", follow_redirects=False).status_code == 200
    web.rt.app.users.set_password("auditor", "temporary-password-1", SETUP, one_time=True)
    r = browser.get("/", follow_redirects=False)
    assert r.status_code in (302, 303)
    assert r.headers["location"].startswith("/login")


def test_sign_out_needs_the_csrf_token_and_ends_the_session(web: Web) -> None:
    """Signing out without the token is refused; with it the session ends."""
    browser = web.sign_in("responder")
    assert browser.post("/logout", {"csrf": "forged"}).status_code == 403
    assert browser.get("/").status_code == 200
    r = browser.post("/logout")
    assert r.headers["location"] == "/login"
    assert browser.client.get("/", follow_redirects=False).status_code == 303


def test_repeated_failures_slow_the_account_and_a_pause_refuses_even_the_right_password(
    web: Web,
) -> None:
    """Five failures cost nothing; then each attempt must wait 1 s, 2 s ... after the last
    failure, and one made sooner is refused with 429 and Retry-After without looking at the
    password; a good sign-in after the wait clears the count."""
    client = web.client()
    for _ in range(5):
        assert _login(client, "responder", "not the password").status_code == 401
    held = _login(client, "responder", PASSWORD)
    assert held.status_code == 429
    assert held.headers["Retry-After"] == "1"
    assert "too many failed sign-ins" in held.text
    assert "breach_session" not in client.cookies
    web.clock.advance(seconds=1)
    assert _login(client, "responder", "not the password").status_code == 401
    assert _login(client, "responder", PASSWORD).headers["Retry-After"] == "2"
    web.clock.advance(seconds=2)
    assert _login(client, "responder", PASSWORD).status_code == 303
    assert _login(web.client(), "responder", "not the password").status_code == 401
    assert _login(web.client(), "auditor", "not the password").status_code == 401


def test_the_account_count_is_shared_by_every_process_of_the_store(web: Web) -> None:
    """Failures counted by one server (application) hold back an attempt on another server
    of the same store: the count lives in the credential store, not in memory."""
    for _ in range(5):
        assert _login(web.client(), "dpo", "not the password").status_code == 401
    other = bootstrap(web.rt.settings, clock=web.clock, configure_logs=False)
    try:
        with TestClient(create_app(other)) as client:
            assert _login(client, "dpo", PASSWORD).status_code == 429
    finally:
        other.close()


def test_one_address_guessing_across_accounts_waits_out_the_window(web: Web) -> None:
    """Thirty failures from one address, each on another account, hold back its next
    attempt on any account for the rest of the 15-minute window; then it may try again."""
    client = web.client()
    for i in range(30):
        assert _login(client, f"user{i}", "guess").status_code == 401
    held = _login(client, "responder", PASSWORD)
    assert held.status_code == 429
    assert int(held.headers["Retry-After"]) > 14 * 60
    web.clock.advance(minutes=15)
    assert _login(client, "responder", PASSWORD).status_code == 303


@dataclass
class Site:
    """A runtime on a manual clock served over real HTTP in this process."""

    rt: Runtime
    clock: ManualClock
    url: str

    @property
    def store(self) -> CredentialStore:
        """The runtime's credential store."""
        assert self.rt.app.credentials is not None
        return self.rt.app.credentials


@contextmanager
def served(tmp_path: Path, **values: Any) -> Iterator[Site]:
    """The dashboard with one user, ``responder``, over HTTP; ``values`` override the
    dashboard tests' settings."""
    settings = settings_for(tmp_path / "var").model_copy(update=values)
    clock = ManualClock()
    rt = bootstrap(settings, clock=clock, configure_logs=False)
    try:
        add_user(rt, "responder", ["responder"])
        with serving(rt) as server:
            yield Site(rt, clock, server.url)
    finally:
        rt.close()


def _post(client: httpx.Client, token: str, username: str, password: str) -> httpx.Response:
    return client.post("/login", data={"csrf": token, "username": username, "password": password})


def _at_once(url: str, guesses: list[tuple[str, str]]) -> list[httpx.Response]:
    """Each (username, password) posted from its own client and thread, released together."""
    browsers = [browser(url) for _ in guesses]
    start = threading.Barrier(len(guesses))

    def send(i: int) -> httpx.Response:
        client, token = browsers[i]
        start.wait()
        return _post(client, token, *guesses[i])

    try:
        with ThreadPoolExecutor(len(guesses)) as pool:
            return list(pool.map(send, range(len(guesses))))
    finally:
        for client, _ in browsers:
            client.close()


def test_after_the_free_failures_only_one_of_twelve_concurrent_guesses_is_checked(
    tmp_path: Path,
) -> None:
    """Once an account has used its five free failures and waited its second, twelve
    guesses sent at the same moment are each counted before any is checked: one is verified
    (a wrong password, 401); the other eleven are held back with 429 and Retry-After and
    never verified."""
    with served(tmp_path, password_hash_memory_kib=16384) as site:
        client, token = browser(site.url)
        for _ in range(5):
            assert _post(client, token, "responder", "not the password").status_code == 401
        client.close()
        site.clock.advance(seconds=1)
        before = site.store.verifications
        answers = _at_once(site.url, [("responder", f"guess {i}") for i in range(12)])
        assert sorted(a.status_code for a in answers) == [401] + [429] * 11
        held = [a for a in answers if a.status_code == 429]
        assert all(int(a.headers["Retry-After"]) >= 1 for a in held)
        assert all("too many failed sign-ins" in a.text for a in held)
        assert site.store.verifications - before == 1


def test_a_sign_in_that_finds_no_free_check_slot_is_answered_503_and_checks_nothing(
    tmp_path: Path,
) -> None:
    """With one password check at a time, a 50 ms wait for it and checks taking over
    100 ms (Argon2id at 64 MiB), of six sign-ins sent at once some find no slot: each of
    those is answered 503 with Retry-After and verifies nothing, and every other one is a
    checked wrong password (401)."""
    with served(
        tmp_path,
        password_hash_memory_kib=65536,
        signin_concurrency=1,
        signin_queue_seconds=0.05,
    ) as site:
        before = site.store.verifications
        answers = _at_once(site.url, [(f"nobody{i}", "a guess") for i in range(6)])
        statuses = [a.status_code for a in answers]
        busy = [a for a in answers if a.status_code == 503]
        assert busy, statuses
        assert set(statuses) <= {401, 503}, statuses
        assert all(int(a.headers["Retry-After"]) >= 1 for a in busy)
        assert all("busy" in a.text for a in busy)
        assert site.store.verifications - before == statuses.count(401)


def test_the_current_password_of_a_change_is_tried_as_a_sign_in_is(web: Web) -> None:
    """A wrong current password on the change form counts against the account like a failed
    sign-in: after five, even the right one is held back (429, Retry-After) unchecked; and
    while every password-check slot is taken, the form is answered 503 with Retry-After."""
    browser = web.sign_in("responder")
    browser.get("/account/password")
    store = web.rt.app.credentials
    assert store is not None

    def change(current: str) -> Response:
        return browser.post(
            "/account/password",
            {
                "current_password": current,
                "new_password": "another long password",
                "confirm_password": "another long password",
            },
        )

    with store.verification_slot(), store.verification_slot():
        busy = change(PASSWORD)
    assert busy.status_code == 503
    assert int(busy.headers["Retry-After"]) >= 1
    for _ in range(5):
        assert change("not the password").status_code == 422
    before = store.verifications
    held = change(PASSWORD)
    assert held.status_code == 429
    assert int(held.headers["Retry-After"]) >= 1
    assert "too many failed sign-ins" in held.text
    assert store.verifications == before
    web.clock.advance(seconds=1)
    assert change(PASSWORD).headers["location"] == "/?ok=password"
