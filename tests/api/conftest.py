"""API fixtures: the HTTP application over a fresh runtime, one user per role with a token."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.application.context import RequestContext
from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from services.server.http_app import create_app
from tests.support.clocks import ManualClock
from tests.support.store import count_events

ROLES = ("reporter", "responder", "dpo", "auditor", "admin")
INTAKE_SECRET = "intake-secret-for-tests"


@dataclass
class Api:
    """A test client on the API, with a user named after each role and their tokens."""

    client: TestClient
    rt: Runtime
    data_dir: Path
    tokens: dict[str, str] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)

    def auth(self, role: str, **extra: str) -> dict[str, str]:
        """Headers authenticating as the user holding ``role``."""
        return {"Authorization": f"Bearer {self.tokens[role]}", **extra}

    def call(self, role: str, method: str, path: str, **kwargs: Any) -> Any:
        """A request as ``role`` (``headers`` given are added to the token)."""
        headers = self.auth(role, **kwargs.pop("headers", {}))
        return self.client.request(method, path, headers=headers, **kwargs)

    def fresh_token_id(self, role: str) -> str:
        """The id of a new token of ``role``'s user (one to revoke)."""
        _, token = self.rt.app.users.issue_token(role, "spare", RequestContext(actor=role))
        return token.split("_")[1]

    def events(self) -> int:
        """How many events the store holds."""
        return count_events(self.data_dir)

    def report(self, role: str = "responder", **fields: Any) -> dict[str, Any]:
        """Report an incident as ``role``; return its document."""
        body = {"title": "Laptop stolen", "discovered_at": "2026-11-27T08:00:00Z", **fields}
        response = self.call(role, "POST", "/api/v1/incidents", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())


def make_user(rt: Runtime, username: str, roles: list[str]) -> tuple[str, str]:
    """Create a user (as the operator) with a token of their own; return (token, one-time
    password)."""
    _, password = rt.app.users.add_user(username, roles, RequestContext(actor="os:tests"))
    _, token = rt.app.users.issue_token(username, "tests", RequestContext(actor=username))
    assert password is not None
    return token, password


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "var",
        log_format="json",
        log_level="info",
        intake_secret=INTAKE_SECRET,
        password_hash_memory_kib=64,
        http_max_body=64 * 1024,
        http_max_anonymous_body=8 * 1024,
        import_max_bytes=2 * 2**20,
    )


@contextmanager
def running_api(settings: Settings) -> Iterator[Api]:
    """The API over a fresh runtime on ``settings``, with one user per role."""
    rt = bootstrap(settings, clock=ManualClock(), configure_logs=False)
    out = Api(TestClient(create_app(rt)), rt, settings.data_dir)
    for role in ROLES:
        out.tokens[role], out.passwords[role] = make_user(rt, role, [role])
    rt.settle()
    try:
        yield out
    finally:
        out.client.close()
        rt.close()


@pytest.fixture
def api(api_settings: Settings) -> Iterator[Api]:
    with running_api(api_settings) as out:
        yield out


@pytest.fixture
def oslo(api_settings: Settings, tmp_path: Path) -> Iterator[Api]:
    """The API on a runtime whose configured time zone is Europe/Oslo (UTC+1 in November)."""
    settings = api_settings.model_copy(
        update={"data_dir": tmp_path / "oslo", "timezone": "Europe/Oslo"}
    )
    with running_api(settings) as out:
        yield out
