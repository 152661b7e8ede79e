"""`breach serve` as a user runs it: first account, demo offer, API answering, clean stop."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.e2e.conftest import Cli
from tests.support.server import start_server
from tests.web.conftest import csrf_of

FAST_HASH = {"BREACH_PASSWORD_HASH_MEMORY_KIB": "64"}


def test_first_start_creates_the_admin_and_offers_the_demo(tmp_path: Path) -> None:
    """A first start prints the admin's one-time password and the demo offer; the API
    answers with a token issued alongside; SIGTERM stops it cleanly."""
    data_dir = tmp_path / "var"
    server = start_server(data_dir, env=FAST_HASH)
    text = "".join(server.started)
    try:
        found = re.search(r"first account: admin\s+one-time password: (\S{12,})", text)
        assert found, text
        assert "the store is empty" in text
        assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
        cli = Cli(data_dir)
        cli.env.update(FAST_HASH)
        token = cli.login("admin", found.group(1), "the admin's own password")
        headers = {"Authorization": f"Bearer {token}"}
        me = httpx.get(f"{server.url}/api/v1/me", headers=headers)
        assert me.status_code == 200
        assert "admin" in me.json()["roles"]
    finally:
        out = server.stop()
    assert server.process.returncode == 0, out
    assert "stopping" in out


def test_second_start_prints_no_password_and_demo_fills_the_board(tmp_path: Path) -> None:
    """Users persist across starts (no new password is printed), and --demo records the
    demo incident on an empty store."""
    data_dir = tmp_path / "var"
    first = start_server(data_dir, env=FAST_HASH)
    found = re.search(r"one-time password: (\S{12,})", "".join(first.started))
    assert found
    first.stop()
    server = start_server(data_dir, "--demo", env=FAST_HASH)
    try:
        text = "".join(server.started)
        assert "one-time password" not in text
        assert "recorded the demo incident" in text
        cli = Cli(data_dir)
        cli.env.update(FAST_HASH)
        token = cli.login("admin", found.group(1), "the admin's own password")
        headers = {"Authorization": f"Bearer {token}"}
        board = httpx.get(f"{server.url}/api/v1/incidents", headers=headers)
        assert len(board.json()["items"]) == 1
    finally:
        server.stop()
    assert server.process.returncode == 0


def attempt(url: str, client: str, username: str) -> int:
    """A failed sign-in said (X-Forwarded-For) to come from ``client``: its status."""
    with httpx.Client(base_url=url, headers={"X-Forwarded-For": client}) as web:
        token = csrf_of(web.get("/login").text)
        answer = web.post("/login", data={"csrf": token, "username": username, "password": "guess"})
        return answer.status_code


def test_sign_in_throttle_counts_the_client_a_trusted_proxy_names(tmp_path: Path) -> None:
    """Behind a proxy configured as trusted (loopback here) the throttle counts the address
    in X-Forwarded-For: thirty failures said to come from one client hold that client back
    (429) while another client behind the same proxy is still answered."""
    env = {
        **FAST_HASH,
        "BREACH_HTTP_SECURE_COOKIES": "false",
        "BREACH_HTTP_FORWARDED_ALLOW_IPS": "127.0.0.1",
    }
    server = start_server(tmp_path / "var", env=env)
    try:
        assert [attempt(server.url, "203.0.113.7", f"user{i}") for i in range(30)] == [401] * 30
        assert attempt(server.url, "203.0.113.7", "admin") == 429
        assert attempt(server.url, "203.0.113.8", "admin") == 401
    finally:
        server.stop()


def test_by_default_a_forwarded_header_names_nobody(tmp_path: Path) -> None:
    """With the default settings no forwarding header is believed: a local client naming
    another address in X-Forwarded-For for each guess is still counted under its own, so
    its fourth failure within the limit of three is held back (429)."""
    env = {**FAST_HASH, "BREACH_HTTP_SECURE_COOKIES": "false", "BREACH_SIGNIN_CLIENT_FAILURES": "3"}
    server = start_server(tmp_path / "var", env=env)
    try:
        named = [attempt(server.url, f"203.0.113.{i}", f"user{i}") for i in range(3)]
        assert named == [401] * 3
        assert attempt(server.url, "198.51.100.1", "admin") == 429
    finally:
        server.stop()
