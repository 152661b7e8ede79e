"""The integration scenarios run on both stores: the embedded SQLite files and PostgreSQL.

Every test that uses ``settings`` (and so ``runtime``) runs once per store; on PostgreSQL
its settings name a fresh schema of the test database (created by breachledger on first
start, dropped after the test). A test marked ``sqlite_only`` runs on SQLite alone (see
the marker).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.config import Settings
from tests.support import postgres
from tests.support.store import Store

STORES = ("sqlite", "postgres")
SQLITE_ONLY_MODULES: frozenset[str] = frozenset()
"""Modules that read the SQLite files directly throughout (they run on SQLite alone)."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sqlite_only: the test runs on SQLite alone: it is about the SQLite files, or it is a "
        "console flow whose store-specific steps other tests run on both stores",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store" not in metafunc.fixturenames:
        return
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    only = metafunc.definition.get_closest_marker("sqlite_only") or module in SQLITE_ONLY_MODULES
    metafunc.parametrize("store", ["sqlite"] if only else list(STORES), indirect=True)


@pytest.fixture
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "sqlite":
        yield Store("sqlite")
        return
    with postgres.fresh_schema() as schema:
        yield Store("postgres", schema)


@pytest.fixture
def settings(store: Store, data_dir: Path) -> Settings:
    return store.settings(data_dir, log_format="json", log_level="info")
