"""Slowing down password guessing.

Two limits, each over a sliding window (``BREACH_SIGNIN_WINDOW_MINUTES``, 15 minutes), both
kept in the credential store so that every API process sees one count:

- Per account: the first ``BREACH_SIGNIN_FREE_FAILURES`` (5) failed attempts cost nothing;
  after that each attempt must wait, from the last failure, twice as long as the one before
  (1 s, 2 s, 4 s ... at most the window). A user who mistypes a few times is barely slowed;
  a guesser gets a handful of tries per window instead of thousands.
- Per client address: after ``BREACH_SIGNIN_CLIENT_FAILURES`` (30) failed attempts in the
  window, whatever the accounts (password spraying), the address waits until its oldest
  counted failure leaves the window. Addresses are kept only as SHA-256 digests.

An attempt is counted as a failure *before* its password is checked, in the same transaction
that finds both waits over: of many guesses sent at once, only those the count admits are
checked, and the rest are refused unchecked, so a right guess during a pause tells nothing.
A successful attempt is then no failure and clears its account's count (the address keeps
its other failures).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from services.storage.sql import Cursor, Database

LOCK = "sign-in-attempts"
"""The lock serialising the check-and-count step across processes."""


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


def client_key(client: str) -> str:
    """How an address is stored: its SHA-256 digest."""
    return hashlib.sha256(client.encode()).hexdigest()


class SignInAttempts:
    """Attempts counted as failures, by account and by client address, in a table of the
    credential store's database."""

    def __init__(self, db: Database, limits: ThrottleLimits) -> None:
        self.db = db
        self.limits = limits
        self._table = db.table("sign_in_attempts")
        with db.transaction(lock="credentials") as c:
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} (id TEXT PRIMARY KEY, "
                "username TEXT, client TEXT NOT NULL, at DOUBLE PRECISION NOT NULL)"
            )
            c.execute(
                f"CREATE INDEX IF NOT EXISTS sign_in_attempts_username "
                f"ON {self._table} (username, at)"
            )
            c.execute(
                f"CREATE INDEX IF NOT EXISTS sign_in_attempts_client ON {self._table} (client, at)"
            )
            c.execute(f"CREATE INDEX IF NOT EXISTS sign_in_attempts_at ON {self._table} (at)")
            # The account-only count this table replaced (it held a window's worth of rows).
            c.execute(f"DROP TABLE IF EXISTS {db.table('sign_in_failures')}")

    def begin(self, username: str, client: str, now: float) -> tuple[str | None, float]:
        """In one step: forget failures older than the window, find how long the account and
        the address must still wait and, when neither must, count this attempt as a failure.
        Returns (the attempt's id, 0), or (None, seconds to wait) with nothing counted."""
        key = client_key(client)
        with self.db.transaction(lock=LOCK) as c:
            c.execute(
                f"DELETE FROM {self._table} WHERE at <= ?", (now - self.limits.window_seconds,)
            )
            wait = max(self._account_wait(c, username, now), self._client_wait(c, key, now))
            if wait > 0:
                return None, wait
            attempt = secrets.token_hex(16)
            c.execute(
                f"INSERT INTO {self._table} VALUES (?, ?, ?, ?)", (attempt, username, key, now)
            )
            return attempt, 0.0

    def _account_wait(self, c: Cursor, username: str, now: float) -> float:
        c.execute(f"SELECT COUNT(*), MAX(at) FROM {self._table} WHERE username = ?", (username,))
        count, last = c.fetchone()
        if not count or last is None:
            return 0.0
        return max(float(last) + self.limits.account_wait(int(count)) - now, 0.0)

    def _client_wait(self, c: Cursor, key: str, now: float) -> float:
        c.execute(f"SELECT COUNT(*) FROM {self._table} WHERE client = ?", (key,))
        count = int(c.fetchone()[0])
        over = count - self.limits.client_failures
        if over < 0:
            return 0.0
        # The address may try again once enough of its failures have left the window to
        # bring it below the limit.
        c.execute(
            f"SELECT at FROM {self._table} WHERE client = ? ORDER BY at LIMIT 1 OFFSET ?",
            (key, over),
        )
        return max(float(c.fetchone()[0]) + self.limits.window_seconds - now, 0.0)

    def withdraw(self, attempt: str) -> None:
        """Uncount an attempt whose password was never checked."""
        with self.db.transaction() as c:
            c.execute(f"DELETE FROM {self._table} WHERE id = ?", (attempt,))

    def succeeded(self, attempt: str, username: str) -> None:
        """The attempt was right: it is no failure, and the account's count is cleared (its
        failures still count against the addresses they came from)."""
        with self.db.transaction() as c:
            c.execute(f"DELETE FROM {self._table} WHERE id = ?", (attempt,))
            c.execute(
                f"UPDATE {self._table} SET username = NULL WHERE username = ?", (username,)
            )
