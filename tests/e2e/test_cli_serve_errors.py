"""An unexpected failure inside a route of a real `breach serve`: a 500 problem with every
security header and no traceback, logged once, and a log that stays one JSON object a line."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from uuid import UUID

import httpx

from services.http.middleware import CSP, SECURITY_HEADERS
from tests.e2e.conftest import Cli
from tests.support.server import running_server

JSON_LOGS = {
    "BREACH_PASSWORD_HASH_MEMORY_KIB": "64",
    "BREACH_LOG_FORMAT": "json",
    "BREACH_LOG_LEVEL": "info",
}


def test_a_route_failing_unexpectedly_answers_a_bare_problem_with_the_headers(
    tmp_path: Path,
) -> None:
    """An incident whose stored event was damaged behind the server's back makes its route
    raise: the answer is a 500 problem saying only 'internal error' and the correlation id,
    with the security headers and the CSP; the server goes on answering; every line of its
    log parses as JSON and the failure is one of them, with the traceback as a field."""
    data_dir = tmp_path / "var"
    cli = Cli(data_dir, actor="ops")
    incident = cli.ok("report", "--title", "Lost laptop", "--discovered-at", "now").out.strip()
    log = tmp_path / "serve.log"
    with running_server(data_dir, env=JSON_LOGS, log=log) as server:
        token = cli.user("tess", "responder")
        headers = {"Authorization": f"Bearer {token}", "X-Correlation-Id": "req-broken-1"}
        url = f"{server.url}/api/v1/incidents/{incident}"
        with sqlite3.connect(data_dir / "events.db") as db:
            db.execute(
                "UPDATE stored_events SET state = ? WHERE originator_id = ?",
                [b"{", UUID(incident).hex],
            )
        failed = httpx.get(url, headers=headers)
        assert httpx.get(f"{server.url}/healthz").status_code == 200
    assert failed.status_code == 500
    assert failed.headers["content-type"] == "application/problem+json"
    assert failed.json() == {
        "type": "https://breachledger.invalid/problems/internal-error",
        "title": "Internal error",
        "status": 500,
        "detail": "internal error",
        "correlation_id": "req-broken-1",
    }
    for name, value in SECURITY_HEADERS:
        assert failed.headers[name.decode()] == value.decode()
    assert failed.headers["content-security-policy"] == CSP
    assert failed.headers["cache-control"] == "no-store"

    lines = [line for line in log.read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]
    errors = [e for e in entries if e["level"] in ("error", "critical")]
    assert len(errors) == 1, errors
    (error,) = errors
    assert error["event"] == "http.failed"
    assert error["correlation_id"] == "req-broken-1"
    assert error["route"].endswith("/incidents/{incident_id}")
    assert error["exception"].startswith("Traceback (most recent call last)")
    assert "MapperDeserialisationError" in error["exception"]
    assert "locals" not in log.read_text()
    served = [e for e in entries if e["event"] == "http.request"]
    assert [e["status"] for e in served if e["route"] == error["route"]] == [500]
