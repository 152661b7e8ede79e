"""Dashboard fixtures: the HTTP application over a fresh runtime on a manual clock, one user
per role (plus ``chief`` holding every role), and browsers signed in through the forms."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from services.application.context import RequestContext
from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from services.server.http_app import create_app
from tests.support.clocks import ManualClock
from tests.support.reports import report_input
from tests.support.store import count_events

ROLES = ("reporter", "responder", "dpo", "auditor", "admin")
PASSWORD = "a long enough password"
SETUP = RequestContext(actor="setup")
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = _CSRF.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


@dataclass
class Browser:
    """A TestClient keeping one user's cookies, like a browser tab."""

    client: TestClient
    csrf: str = ""

    def get(self, path: str, **kwargs: Any) -> Response:
        """GET a page; remember the CSRF token its forms carry."""
        response = self.client.get(path, **kwargs)
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Response:
        """POST a form with the session's CSRF token (unless the data sets ``csrf``)."""
        body = {"csrf": self.csrf, **(data or {})}
        body = {k: v for k, v in body.items() if v is not None}
        kwargs.setdefault("follow_redirects", False)
        return self.client.post(path, data=body, **kwargs)


@dataclass
class Web:
    """The dashboard over a runtime, with a user named after each role."""

    rt: Runtime
    data_dir: Path
    clock: ManualClock
    browsers: list[TestClient] = field(default_factory=list)

    def client(self) -> TestClient:
        """A fresh client with no cookies."""
        client = TestClient(create_app(self.rt))
        self.browsers.append(client)
        return client

    def sign_in(self, username: str, password: str = PASSWORD) -> Browser:
        """A browser signed in through the sign-in form."""
        client = self.client()
        page = client.get("/login")
        r = client.post(
            "/login",
            data={"csrf": csrf_of(page.text), "username": username, "password": password},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        browser = Browser(client)
        browser.get("/account/password")
        return browser

    def events(self) -> int:
        """How many events the store holds."""
        return count_events(self.data_dir)

    def report(self, actor: str = "responder", **fields: Any) -> UUID:
        """Report an incident straight through the application; return its id."""
        data = report_input(self.clock.now(), reporter=actor, **fields)
        incident = self.rt.app.incidents.report_incident(data, RequestContext(actor=actor))
        self.rt.settle()
        return incident.id


def add_user(rt: Runtime, username: str, roles: list[str]) -> None:
    """A user with :data:`PASSWORD` (already changed from the one-time one)."""
    rt.app.users.add_user(username, roles, SETUP)
    rt.app.users.set_password(username, PASSWORD, SETUP)


def settings_for(data_dir: Path) -> Settings:
    """Settings for dashboard tests: cheap password hashes, cookies not marked Secure (the
    test client speaks plain HTTP)."""
    return Settings(
        data_dir=data_dir,
        log_format="json",
        log_level="warning",
        password_hash_memory_kib=64,
        http_secure_cookies=False,
    )


@contextmanager
def dashboard(settings: Settings) -> Iterator[Web]:
    """A runtime on a manual clock with the users, closed afterwards."""
    clock = ManualClock()
    rt = bootstrap(settings, clock=clock, configure_logs=False)
    for role in ROLES:
        add_user(rt, role, [role])
    add_user(rt, "chief", ["responder", "dpo", "admin"])
    rt.settle()
    out = Web(rt, settings.data_dir, clock)
    try:
        yield out
    finally:
        for client in out.browsers:
            client.close()
        rt.close()


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Web]:
    with dashboard(settings_for(tmp_path / "var")) as out:
        yield out
