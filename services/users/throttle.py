"""Slowing down password guessing at the sign-in form.

Two limits, each over a sliding window (``BREACH_SIGNIN_WINDOW_MINUTES``, 15 minutes):

- Per account, kept in the credential store so that every API process sees one count: the
  first ``BREACH_SIGNIN_FREE_FAILURES`` (5) failed attempts cost nothing; after that each
  attempt must wait, from the last failure, twice as long as the one before (1 s, 2 s,
  4 s ... at most the window). A user who mistypes a few times is barely slowed; a guesser
  gets a handful of tries per window instead of thousands.
- Per client address, in this process's memory: after ``BREACH_SIGNIN_CLIENT_FAILURES`` (30)
  failed attempts in the window, whatever the accounts (password spraying), the address
  waits until its oldest counted failure leaves the window.

An attempt either limit holds back is refused before the password is looked at, so a right
guess during a pause tells nothing. A successful sign-in clears its account's failures.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from services.storage.sql import Database


@dataclass(frozen=True)
class ThrottleLimits:
    """The limits of the sign-in throttle (see the module)."""

    free_failures: int = 5
    client_failures: int = 30
    window_seconds: float = 15 * 60.0

    def account_wait(self, failures: int) -> float:
        """Seconds an account must wait after its last failure, having ``failures``."""
        if failures < self.free_failures:
            return 0.0
        return float(min(2.0 ** (failures - self.free_failures), self.window_seconds))


class AccountFailures:
    """Failed sign-ins per account, in a table of the credential store's database."""

    def __init__(self, db: Database, limits: ThrottleLimits) -> None:
        self.db = db
        self.limits = limits
        self._table = db.table("sign_in_failures")
        with db.transaction(lock="credentials") as c:
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} "
                "(username TEXT NOT NULL, at DOUBLE PRECISION NOT NULL)"
            )
            c.execute(
                f"CREATE INDEX IF NOT EXISTS sign_in_failures_username "
                f"ON {self._table} (username, at)"
            )
            c.execute(f"CREATE INDEX IF NOT EXISTS sign_in_failures_at ON {self._table} (at)")

    def wait(self, username: str, now: float) -> float:
        """Seconds before the account may try again (0: now)."""
        rows = self.db.fetch(
            f"SELECT COUNT(*), MAX(at) FROM {self._table} WHERE username = ? AND at > ?",
            (username, now - self.limits.window_seconds),
        )
        count, last = (rows[0][0], rows[0][1]) if rows else (0, None)
        if not count or last is None:
            return 0.0
        return max(float(last) + self.limits.account_wait(int(count)) - now, 0.0)

    def failed(self, username: str, now: float) -> None:
        """Count a failed attempt (and forget every failure older than the window, so that
        guesses at made-up usernames do not pile up)."""
        with self.db.transaction() as c:
            c.execute(
                f"DELETE FROM {self._table} WHERE at <= ?", (now - self.limits.window_seconds,)
            )
            c.execute(f"INSERT INTO {self._table} VALUES (?, ?)", (username, now))

    def succeeded(self, username: str) -> None:
        """Forget the account's failures."""
        with self.db.transaction() as c:
            c.execute(f"DELETE FROM {self._table} WHERE username = ?", (username,))


class ClientFailures:
    """Failed sign-ins per client address, in this process's memory."""

    def __init__(self, limits: ThrottleLimits) -> None:
        self.limits = limits
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.get(client, deque())
        while times and times[0] <= now - self.limits.window_seconds:
            times.popleft()
        return times

    def wait(self, client: str, now: float) -> float:
        """Seconds before the address may try again (0: now)."""
        with self._lock:
            times = self._recent(client, now)
            if len(times) < self.limits.client_failures:
                return 0.0
            return max(times[0] + self.limits.window_seconds - now, 0.0)

    def failed(self, client: str, now: float) -> None:
        """Count a failed attempt from the address (forgetting addresses with none left)."""
        with self._lock:
            for other in [c for c in self._failures if c != client]:
                if not self._recent(other, now):
                    del self._failures[other]
            times = self._recent(client, now)
            times.append(now)
            self._failures[client] = times
