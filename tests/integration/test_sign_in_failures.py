"""The sign-in throttle's count per account in the credential store, on SQLite and on
PostgreSQL: shared by runtimes of one store, and forgotten once out of the window."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from services.users.throttle import AccountFailures

WINDOW = 15 * 60.0


@pytest.fixture
def runtimes(settings: Settings) -> Iterator[tuple[Runtime, Runtime]]:
    """Two runtimes on one store (as two API processes would be)."""
    first = bootstrap(settings, configure_logs=False)
    second = bootstrap(settings, configure_logs=False)
    yield first, second
    second.close()
    first.close()


def failures(rt: Runtime) -> AccountFailures:
    """The runtime's count of failed sign-ins per account."""
    assert rt.app.credentials is not None
    return rt.app.credentials.failures


def test_failures_counted_by_one_runtime_hold_back_the_account_in_another(
    runtimes: tuple[Runtime, Runtime],
) -> None:
    """Five failures recorded through one runtime make the other wait 1 s after the last;
    a success through the other clears the count for both."""
    first, second = runtimes
    for i in range(5):
        failures(first).failed("alice", 1000.0 + i)
    assert failures(second).wait("alice", 1004.5) == pytest.approx(0.5)
    assert failures(second).wait("bob", 1004.5) == 0
    failures(second).succeeded("alice")
    assert failures(first).wait("alice", 1004.5) == 0


def test_failures_older_than_the_window_are_forgotten_and_deleted(
    runtimes: tuple[Runtime, Runtime],
) -> None:
    """Guesses at a hundred made-up usernames leave no rows once the window has passed and
    another failure is recorded; nor do they count against anyone then."""
    first, _ = runtimes
    for i in range(100):
        failures(first).failed(f"made-up-{i}", 1000.0)
    failures(first).failed("alice", 1000.0 + WINDOW + 1)
    store = failures(first)
    rows = store.db.fetch(f"SELECT username FROM {store.db.table('sign_in_failures')}")
    assert [r[0] for r in rows] == ["alice"]
    assert store.wait("made-up-1", 1000.0 + WINDOW + 1) == 0
