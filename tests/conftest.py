"""Shared fixtures: a fresh data directory, settings, and a wired runtime on a manual clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.application.context import RequestContext
from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from tests.support.clocks import ManualClock


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, log_format="json", log_level="info")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def runtime(settings: Settings, clock: ManualClock) -> Iterator[Runtime]:
    rt = bootstrap(settings, clock=clock, configure_logs=False)
    yield rt
    rt.close()


@pytest.fixture
def alice() -> RequestContext:
    return RequestContext(actor="alice", correlation_id="req-alice")


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    """Leave structlog and the standard library's root logger as each test found them."""
    yield
    import logging
    import threading

    import structlog

    from services.logging import StdlibHandler

    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, StdlibHandler)]:
        root.removeHandler(handler)
    logging.captureWarnings(False)
    threading.excepthook = threading.__excepthook__
