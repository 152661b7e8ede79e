"""The one severity of an incident is the same on every face: the board, the command line,
the API and the web pages, before and after assessment."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient

from events.values import Severity
from services.bootstrap import bootstrap
from services.server.http_app import create_app
from tests.e2e.conftest import Cli
from tests.support.clocks import ManualClock
from tests.support.facts import PORTAL_LEAK
from tests.support.identity import provision
from tests.support.severity import apart_from, band_of
from tests.web.conftest import Web, add_user

Faces = dict[str, tuple[Any, ...]]


def faces(cli: Cli, incident: str, shown: Severity) -> Faces:
    """(severity, source, initial) as each face gives it (the board pages give the first
    two), and which incidents each face's severity filter finds for ``shown``."""
    out: Faces = {}
    doc = cli.ok("show", incident, "--json").json()
    out["cli show"] = (doc["severity"], doc["severity_source"], doc["initial_severity"])
    (row,) = cli.ok("list", "--json").json()
    out["cli list"] = (row["severity"], row["severity_source"], row["initial_severity"])
    filtered = cli.ok("list", "--severity", shown.value, "--json").json()
    out["cli filter"] = tuple(r["incident_id"] for r in filtered)
    settings = cli.settings().model_copy(update={"http_secure_cookies": False})
    rt = bootstrap(settings, clock=ManualClock(), configure_logs=False)
    try:
        token = provision(rt, "reader", ["auditor"])
        if rt.app.users.identity("viewer") is None:
            add_user(rt, "viewer", ["auditor"])
        rt.settle()
        with TestClient(create_app(rt)) as api:
            auth = {"Authorization": f"Bearer {token}"}
            doc = api.get(f"/api/v1/incidents/{incident}", headers=auth).json()
            out["api show"] = (doc["severity"], doc["severity_source"], doc["initial_severity"])
            (row,) = api.get("/api/v1/incidents", headers=auth).json()["items"]
            out["api board"] = (row["severity"], row["severity_source"], row["initial_severity"])
            filtered = api.get(
                "/api/v1/incidents", params={"severity": shown.value}, headers=auth
            ).json()["items"]
            out["api filter"] = tuple(r["incident_id"] for r in filtered)
        web = Web(rt, cli.data_dir, ManualClock())
        try:
            browser = web.sign_in("viewer")
            page = browser.get(f"/incidents/{incident}").text
            out["web page"] = badge(page) + initial_of(page)
            out["web board"] = badge(browser.get("/").text)
            board = browser.get(f"/?severity={shown.value}").text
            out["web filter"] = tuple(
                sorted(set(re.findall(r'href="/incidents/([0-9a-f-]{36})"', board)))
            )
        finally:
            for client in web.browsers:
                client.close()
    finally:
        rt.close()
    return out


def badge(html: str) -> tuple[str, ...]:
    """The severity and its source from the first severity badge of a page."""
    found = re.search(r'data-severity="([a-z_]+)" data-severity-source="([a-z]+)"', html)
    assert found is not None, "no severity badge"
    return found.group(1), found.group(2)


def initial_of(html: str) -> tuple[str | None]:
    """The initial estimate a page's badge names (None when it shows a triage estimate)."""
    found = re.search(r"assessed; initial estimate ([a-z ]+)<", html)
    return (found.group(1).replace(" ", "_") if found else None,)


def test_board_cli_api_and_web_show_one_severity_before_and_after_assessment(
    cli: Cli, tmp_path: Path
) -> None:
    """Before assessment every face shows the triage estimate with source triage; after it
    every face shows the assessed band with source assessment and the estimate as the
    initial severity, and every face's severity filter finds the incident by that band."""
    band = band_of(PORTAL_LEAK)
    estimate = apart_from(band)
    incident = cli.ok(
        "report", "--title", "Careers portal CV leak", "--discovered-at", "2026-11-20T08:30:00Z"
    ).out.strip()
    cli.ok("triage", incident[:8], "--severity", estimate.value)
    before = faces(cli, incident, estimate)
    triaged = (estimate.value, "triage", estimate.value)
    assert before == {
        "cli show": triaged,
        "cli list": triaged,
        "cli filter": (incident,),
        "api show": triaged,
        "api board": triaged,
        "api filter": (incident,),
        "web page": (estimate.value, "triage", None),
        "web board": (estimate.value, "triage"),
        "web filter": (incident,),
    }
    assert f"{estimate.value} (triage estimate)" in cli.ok("show", incident).out
    assert f"{estimate.value} (triage)" in cli.ok("list").out

    facts = tmp_path / "facts.yaml"
    facts.write_text(yaml.safe_dump(PORTAL_LEAK), encoding="utf-8")
    cli.ok("assess", incident[:8], "--file", str(facts))
    after = faces(cli, incident, band)
    assessed = (band.value, "assessment", estimate.value)
    assert after == {
        "cli show": assessed,
        "cli list": assessed,
        "cli filter": (incident,),
        "api show": assessed,
        "api board": assessed,
        "api filter": (incident,),
        "web page": assessed,
        "web board": (band.value, "assessment"),
        "web filter": (incident,),
    }
    shown = cli.ok("show", incident).out
    assert f"{band.value} (assessed; initial estimate {estimate.value})" in shown
    assert f"{band.value} (assessed)" in cli.ok("list").out
    assert cli.ok("list", "--severity", estimate.value, "--json").json() == []
