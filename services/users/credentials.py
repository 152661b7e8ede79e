"""The credential store: password hashes (Argon2id), API token hashes, and web sessions.

Secrets never enter the event log. Passwords are hashed with Argon2id; tokens and session ids
are 256-bit random values, stored only as SHA-256 hashes, so a copy of these tables grants
nothing. They live in their own SQLite file, or in their own tables of the PostgreSQL schema.

Checking a password costs an Argon2id verification (64 MiB of memory by default), so a
process runs at most ``concurrency`` of them at once, whichever face asks (sign-in, password
change, the command line); a check that finds no free slot within ``slot_wait`` seconds is
refused (:class:`~services.application.errors.Unavailable`) without being made. A sign-in
attempt is also counted by the throttle (:mod:`services.users.throttle`) before it is checked.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Executable, bindparam, delete, insert, select

from services.application.errors import TryLater, Unavailable
from services.clock import Clock
from services.storage.schema import CREDENTIALS, upgrade
from services.storage.sql import Database, Prepared, upsert
from services.storage.sqlite import SQLiteDatabase
from services.users.tables import passwords, sessions, tokens
from services.users.throttle import SignInAttempts, ThrottleLimits

_TOKEN = Prepared(
    select(tokens.c.username, tokens.c.hash).where(tokens.c.token_id == bindparam("token_id"))
)
"""A token's owner and hash, looked up on every API request: compiled once."""

NO_PASSWORD = "!"  # noqa: S105  (a marker: no password can match it)
"""The stored hash of a user without a password (no Argon2id hash looks like it)."""


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    """A signed-in web session."""

    username: str
    csrf: str
    expires: datetime


class CredentialStore:
    """Passwords, tokens and sessions in one SQLite file (given a path) or in tables of the
    PostgreSQL schema; ``clock`` dates sessions and tells when they have expired."""

    def __init__(
        self,
        database: Path | Database,
        *,
        clock: Clock,
        session_hours: float = 12.0,
        hash_memory_kib: int = 65536,
        throttle: ThrottleLimits | None = None,
        concurrency: int = 2,
        slot_wait: float = 1.5,
    ) -> None:
        self.clock = clock
        self.session_lifetime = timedelta(hours=session_hours)
        self.slot_wait = slot_wait
        self._slots = threading.BoundedSemaphore(concurrency)
        self._counting = threading.Lock()
        self.verifications = 0
        """Argon2id verifications this store has run (a count for tests and benchmarks)."""
        self._hasher = PasswordHasher(time_cost=3, memory_cost=hash_memory_kib, parallelism=4)
        self._dummy: str | None = None
        self.db: Database = (
            SQLiteDatabase(database, secure_delete=True) if isinstance(database, Path) else database
        )
        upgrade(self.db, CREDENTIALS)
        self.throttle = throttle or ThrottleLimits()
        self.attempts = SignInAttempts(self.db, self.throttle)
        """Sign-in attempts counted as failures (see :mod:`services.users.throttle`)."""

    def _write(self, statement: Executable) -> None:
        with self.db.transaction() as c:
            c.execute(statement)

    def _set_hash(self, username: str, hashed: str, must_change: bool) -> None:
        statement = upsert(self.db.kind, passwords).values(
            username=username, hash=hashed, must_change=int(must_change)
        )
        self._write(
            statement.on_conflict_do_update(
                index_elements=[passwords.c.username],
                set_={
                    "hash": statement.excluded.hash,
                    "must_change": statement.excluded.must_change,
                },
            )
        )

    def set_password(self, username: str, password: str, *, one_time: bool = False) -> None:
        """Store a password's Argon2id hash; a ``one_time`` password must be changed at the
        first sign-in."""
        self._set_hash(username, self._hasher.hash(password), one_time)

    def set_no_password(self, username: str) -> None:
        """Record a user who signs in with no password at all (a service account): listed
        with the others, never matched by any password."""
        self._set_hash(username, NO_PASSWORD, False)

    def must_change(self, username: str) -> bool:
        """Whether the user still has a one-time password."""
        rows = self.db.query(
            select(passwords.c.must_change).where(passwords.c.username == username)
        )
        return bool(rows and rows[0][0])

    @contextmanager
    def verification_slot(self) -> Iterator[None]:
        """Hold one of the process's password-check slots, waiting at most
        :attr:`slot_wait` seconds for one (:class:`Unavailable` when none frees up)."""
        if not self._slots.acquire(timeout=self.slot_wait):
            seconds = max(1, math.ceil(self.slot_wait))
            raise Unavailable(
                "password",
                f"the server is busy checking other passwords: try again in {seconds} s",
                seconds,
            )
        try:
            yield
        finally:
            self._slots.release()

    def _dummy_hash(self) -> str:
        """A hash to verify against for users without one, so that they cost the same work:
        made on first need, not at every start of a process that checks no password."""
        if self._dummy is None:
            self._dummy = self._hasher.hash("no such user")
        return self._dummy

    def check_password(self, username: str, password: str) -> bool:
        """Whether the password is the user's (the same work, in a slot, whether or not the
        user exists); :class:`Unavailable` when no slot frees up in time."""
        rows = self.db.query(select(passwords.c.hash).where(passwords.c.username == username))
        usable = bool(rows) and rows[0][0] != NO_PASSWORD
        stored = rows[0][0] if usable else self._dummy_hash()
        with self.verification_slot():
            with self._counting:
                self.verifications += 1
            try:
                ok = self._hasher.verify(stored, password)
            except (VerificationError, InvalidHashError):
                return False
        return bool(ok and usable)

    def attempt(self, username: str, password: str, *, client: str, now: float) -> bool:
        """A password tried to prove who one is (a sign-in, or the current password given to
        change it) from ``client`` at ``now`` (epoch seconds). It is counted as a failure
        before it is checked, in one step with the account's and the address's waits:
        :class:`TryLater` while either holds it back (nothing checked). It is then checked
        in a slot: :class:`Unavailable`, and uncounted, when none frees up. A right password
        clears the account's failures."""
        attempt, wait = self.attempts.begin(username, client, now)
        if attempt is None:
            seconds = max(1, math.ceil(wait))
            raise TryLater("username", f"too many failed sign-ins: try again in {seconds} s", wait)
        try:
            ok = self.check_password(username, password)
        except Unavailable:
            self.attempts.withdraw(attempt)
            raise
        if ok:
            self.attempts.succeeded(attempt, username)
        return ok

    def usernames(self) -> list[str]:
        """Every user with a password, in name order."""
        rows = self.db.query(select(passwords.c.username).order_by(passwords.c.username))
        return sorted(r[0] for r in rows)

    def issue_token(self, username: str) -> tuple[str, str]:
        """A new token for a user: (token id, token to show once)."""
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        self._write(
            insert(tokens).values(token_id=token_id, username=username, hash=_digest(secret))
        )
        return token_id, f"bl_{token_id}_{secret}"

    def check_token(self, token: str) -> tuple[str, str] | None:
        """(username, token id) of a valid token, or None."""
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "bl":
            return None
        _, token_id, secret = parts
        rows = self.db.query(_TOKEN, {"token_id": token_id})
        if not rows or not hmac.compare_digest(rows[0][1], _digest(secret)):
            return None
        return rows[0][0], token_id

    def revoke_token(self, token_id: str) -> None:
        """Delete a token's hash."""
        self._write(delete(tokens).where(tokens.c.token_id == token_id))

    def open_session(self, username: str) -> tuple[str, Session]:
        """Start a session: (cookie value, session)."""
        value = secrets.token_urlsafe(32)
        session = Session(
            username, secrets.token_urlsafe(24), self.clock.now() + self.session_lifetime
        )
        self._write(
            insert(sessions).values(
                id_hash=_digest(value),
                username=username,
                csrf=session.csrf,
                expires=session.expires.isoformat(),
            )
        )
        return value, session

    def session(self, value: str) -> Session | None:
        """The live session for a cookie value."""
        rows = self.db.query(
            select(sessions.c.username, sessions.c.csrf, sessions.c.expires).where(
                sessions.c.id_hash == _digest(value)
            )
        )
        if not rows:
            return None
        username, csrf, expires_text = rows[0]
        expires = datetime.fromisoformat(expires_text)
        if expires < self.clock.now():
            self.close_session(value)
            return None
        return Session(username, csrf, expires)

    def close_session(self, value: str) -> None:
        """End a session."""
        self._write(delete(sessions).where(sessions.c.id_hash == _digest(value)))

    def end_sessions_of(self, username: str) -> None:
        """End every session of a user (on disabling them)."""
        self._write(delete(sessions).where(sessions.c.username == username))

    def close(self) -> None:
        """Release the database (an SQLite file is closed; a shared pool is left open)."""
        if isinstance(self.db, SQLiteDatabase):
            self.db.close()
