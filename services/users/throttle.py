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

from sqlalchemy import Connection, delete, func, insert, select, update

from services.storage.sql import Database
from services.users.tables import sign_in_attempts as attempts

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
    credential store's database (created with the credential store's tables)."""

    def __init__(self, db: Database, limits: ThrottleLimits) -> None:
        self.db = db
        self.limits = limits

    def begin(self, username: str, client: str, now: float) -> tuple[str | None, float]:
        """In one step: forget failures older than the window, find how long the account and
        the address must still wait and, when neither must, count this attempt as a failure.
        Returns (the attempt's id, 0), or (None, seconds to wait) with nothing counted."""
        key = client_key(client)
        with self.db.transaction(lock=LOCK) as c:
            c.execute(delete(attempts).where(attempts.c.at <= now - self.limits.window_seconds))
            wait = max(self._account_wait(c, username, now), self._client_wait(c, key, now))
            if wait > 0:
                return None, wait
            attempt = secrets.token_hex(16)
            c.execute(insert(attempts).values(id=attempt, username=username, client=key, at=now))
            return attempt, 0.0

    def _account_wait(self, c: Connection, username: str, now: float) -> float:
        count, last = c.execute(
            select(func.count(), func.max(attempts.c.at)).where(attempts.c.username == username)
        ).one()
        if not count or last is None:
            return 0.0
        return max(float(last) + self.limits.account_wait(int(count)) - now, 0.0)

    def _client_wait(self, c: Connection, key: str, now: float) -> float:
        count = int(c.execute(select(func.count()).where(attempts.c.client == key)).scalar_one())
        over = count - self.limits.client_failures
        if over < 0:
            return 0.0
        # The address may try again once enough of its failures have left the window to
        # bring it below the limit.
        at = c.execute(
            select(attempts.c.at)
            .where(attempts.c.client == key)
            .order_by(attempts.c.at)
            .limit(1)
            .offset(over)
        ).scalar_one()
        return max(float(at) + self.limits.window_seconds - now, 0.0)

    def withdraw(self, attempt: str) -> None:
        """Uncount an attempt whose password was never checked."""
        with self.db.transaction() as c:
            c.execute(delete(attempts).where(attempts.c.id == attempt))

    def succeeded(self, attempt: str, username: str) -> None:
        """The attempt was right: it is no failure, and the account's count is cleared (its
        failures still count against the addresses they came from)."""
        with self.db.transaction() as c:
            c.execute(delete(attempts).where(attempts.c.id == attempt))
            c.execute(update(attempts).where(attempts.c.username == username).values(username=None))
