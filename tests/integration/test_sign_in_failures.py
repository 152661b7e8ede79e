"""The sign-in throttle's count in the credential store, on SQLite and on PostgreSQL: shared
by runtimes of one store, taken before a password is checked in one step with the waits (so
concurrent guesses cannot slip past it), and forgotten once out of the window."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from services.application.context import RequestContext
from services.application.errors import TryLater, Unavailable
from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from services.users.credentials import CredentialStore
from services.users.tables import sign_in_attempts as attempts

WINDOW = 15 * 60.0
PASSWORD = "alice's long password"


@pytest.fixture
def runtimes(settings: Settings) -> Iterator[tuple[Runtime, Runtime]]:
    """Two runtimes on one store (as two API processes would be), with the user alice."""
    first = bootstrap(settings, configure_logs=False)
    second = bootstrap(settings, configure_logs=False)
    setup = RequestContext(actor="setup")
    first.app.users.add_user("alice", ["responder"], setup)
    first.app.users.set_password("alice", PASSWORD, setup)
    yield first, second
    second.close()
    first.close()


def store(rt: Runtime) -> CredentialStore:
    """The runtime's credential store."""
    assert rt.app.credentials is not None
    return rt.app.credentials


def rows(credentials: CredentialStore) -> list[tuple[str | None, float]]:
    """(username, time) of every attempt counted, in time order."""
    found = credentials.db.query(
        select(attempts.c.username, attempts.c.at).order_by(attempts.c.at, attempts.c.username)
    )
    return [(r[0], float(r[1])) for r in found]


def test_failures_counted_by_one_runtime_hold_back_the_account_in_another(
    runtimes: tuple[Runtime, Runtime],
) -> None:
    """Five failures through one runtime make the other hold back even the right password
    until a second after the last (429, unverified); another account is not held back; a
    success through the other clears the account's count for both."""
    first, second = runtimes
    for i in range(5):
        assert store(first).attempt("alice", "wrong", client="a", now=1000.0 + i) is False
    before = store(second).verifications
    with pytest.raises(TryLater) as held:
        store(second).attempt("alice", PASSWORD, client="b", now=1004.5)
    assert held.value.retry_after == pytest.approx(0.5)
    assert held.value.http_status == 429
    assert store(second).verifications == before
    assert store(second).attempt("bob", "wrong", client="b", now=1004.5) is False
    assert store(second).attempt("alice", PASSWORD, client="b", now=1005.5) is True
    for i in range(5):
        assert store(first).attempt("alice", "wrong", client="a", now=1006.0 + i) is False


def test_failures_older_than_the_window_are_forgotten_and_deleted(
    runtimes: tuple[Runtime, Runtime],
) -> None:
    """Guesses at a hundred made-up usernames leave no rows once the window has passed and
    another attempt is counted; nor do they count against anyone then."""
    first, _ = runtimes
    attempts = store(first).attempts
    for i in range(100):
        assert attempts.begin(f"made-up-{i}", f"client{i}", 1000.0)[0] is not None
    attempt, wait = attempts.begin("alice", "client", 1000.0 + WINDOW + 1)
    assert (attempt is not None, wait) == (True, 0.0)
    assert rows(store(first)) == [("alice", 1000.0 + WINDOW + 1)]


def test_only_one_of_twelve_concurrent_guesses_after_the_free_failures_is_checked(
    runtimes: tuple[Runtime, Runtime],
) -> None:
    """After five failures and the one-second wait, twelve threads of two runtimes guess at
    once: the count and the wait are one step, so exactly one guess is verified and the
    other eleven are held back (TryLater) without verification."""
    first, second = runtimes
    for i in range(5):
        store(first).attempt("alice", "wrong", client=f"c{i}", now=1000.0 + i)
    before = store(first).verifications + store(second).verifications
    start = threading.Barrier(12)

    def guess(i: int) -> str:
        credentials = store(first if i % 2 else second)
        start.wait()
        try:
            return str(credentials.attempt("alice", f"guess {i}", client=f"d{i}", now=1006.0))
        except TryLater as e:
            return f"held {e.http_status}"

    with ThreadPoolExecutor(12) as pool:
        answers = sorted(pool.map(guess, range(12)))
    assert answers == ["False"] + ["held 429"] * 11
    assert store(first).verifications + store(second).verifications - before == 1


def test_one_address_at_its_limit_gets_one_more_attempt_however_many_it_sends(
    settings: Settings,
) -> None:
    """An address one failure short of its limit sends twelve guesses at twelve accounts
    at once: one is counted and checked, eleven are held back until the address's oldest
    failure leaves the window."""
    rt = bootstrap(settings.model_copy(update={"signin_client_failures": 3}), configure_logs=False)
    try:
        credentials = store(rt)
        for i in range(2):
            assert credentials.attempt(f"user{i}", "guess", client="x", now=1000.0 + i) is False
        start = threading.Barrier(12)

        def guess(i: int) -> str:
            start.wait()
            try:
                return str(credentials.attempt(f"other{i}", "guess", client="x", now=1010.0))
            except TryLater as e:
                return f"held {round(e.retry_after)}"

        with ThreadPoolExecutor(12) as pool:
            answers = sorted(pool.map(guess, range(12)))
        assert answers == ["False"] + [f"held {round(WINDOW - 10)}"] * 11
    finally:
        rt.close()


def test_an_attempt_that_finds_no_check_slot_is_withdrawn(
    runtimes: tuple[Runtime, Runtime],
) -> None:
    """While every password-check slot of the process is taken, an attempt waits briefly,
    then is refused (Unavailable: 503, Retry-After) unverified, and it is not counted as a
    failure; once a slot is free the same attempt is checked."""
    first, _ = runtimes
    credentials = store(first)
    before = credentials.verifications
    with (
        credentials.verification_slot(),
        credentials.verification_slot(),
        pytest.raises(Unavailable) as busy,
    ):
        credentials.attempt("alice", PASSWORD, client="a", now=1000.0)
    assert busy.value.http_status == 503
    assert busy.value.retry_after >= 1
    assert credentials.verifications == before
    assert rows(credentials) == []
    assert credentials.attempt("alice", PASSWORD, client="a", now=1000.0) is True
    assert credentials.verifications == before + 1
