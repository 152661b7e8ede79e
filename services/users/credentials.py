"""The credential store: password hashes (Argon2id), API token hashes, and web sessions.

Secrets never enter the event log. Passwords are hashed with Argon2id; tokens and session ids
are 256-bit random values, stored only as SHA-256 hashes, so a copy of this file grants
nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    """A signed-in web session."""

    username: str
    csrf: str
    expires: datetime


class CredentialStore:
    """Passwords, tokens and sessions in one SQLite file."""

    def __init__(
        self, path: Path, *, session_hours: float = 12.0, hash_memory_kib: int = 65536
    ) -> None:
        self.session_lifetime = timedelta(hours=session_hours)
        self._hasher = PasswordHasher(time_cost=3, memory_cost=hash_memory_kib, parallelism=4)
        self._dummy = self._hasher.hash("no such user")
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.executescript(
            "CREATE TABLE IF NOT EXISTS passwords (username TEXT PRIMARY KEY, hash TEXT NOT NULL,"
            " must_change INTEGER NOT NULL DEFAULT 0);"
            "CREATE TABLE IF NOT EXISTS tokens (token_id TEXT PRIMARY KEY, username TEXT NOT NULL,"
            " hash TEXT NOT NULL);"
            "CREATE TABLE IF NOT EXISTS sessions (id_hash TEXT PRIMARY KEY, username TEXT NOT NULL,"
            " csrf TEXT NOT NULL, expires TEXT NOT NULL);"
        )

    def set_password(self, username: str, password: str, *, one_time: bool = False) -> None:
        """Store a password's Argon2id hash; a ``one_time`` password must be changed at the
        first sign-in."""
        hashed = self._hasher.hash(password)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO passwords VALUES (?, ?, ?)",
                (username, hashed, int(one_time)),
            )

    def must_change(self, username: str) -> bool:
        """Whether the user still has a one-time password."""
        with self._lock:
            row = self._db.execute(
                "SELECT must_change FROM passwords WHERE username = ?", (username,)
            ).fetchone()
        return bool(row and row[0])

    def check_password(self, username: str, password: str) -> bool:
        """Whether the password is the user's (constant work whether or not the user exists)."""
        with self._lock:
            row = self._db.execute(
                "SELECT hash FROM passwords WHERE username = ?", (username,)
            ).fetchone()
        stored = row[0] if row else self._dummy
        try:
            ok = self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
        return bool(ok and row)

    def usernames(self) -> list[str]:
        """Every user with a password, in name order."""
        with self._lock:
            rows = self._db.execute("SELECT username FROM passwords ORDER BY username").fetchall()
        return [r[0] for r in rows]

    def issue_token(self, username: str) -> tuple[str, str]:
        """A new token for a user: (token id, token to show once)."""
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        with self._lock:
            self._db.execute(
                "INSERT INTO tokens VALUES (?, ?, ?)", (token_id, username, _digest(secret))
            )
        return token_id, f"bl_{token_id}_{secret}"

    def check_token(self, token: str) -> tuple[str, str] | None:
        """(username, token id) of a valid token, or None."""
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "bl":
            return None
        _, token_id, secret = parts
        with self._lock:
            row = self._db.execute(
                "SELECT username, hash FROM tokens WHERE token_id = ?", (token_id,)
            ).fetchone()
        if row is None or not hmac.compare_digest(row[1], _digest(secret)):
            return None
        return row[0], token_id

    def revoke_token(self, token_id: str) -> None:
        """Delete a token's hash."""
        with self._lock:
            self._db.execute("DELETE FROM tokens WHERE token_id = ?", (token_id,))

    def open_session(self, username: str) -> tuple[str, Session]:
        """Start a session: (cookie value, session)."""
        value = secrets.token_urlsafe(32)
        session = Session(
            username, secrets.token_urlsafe(24), datetime.now(UTC) + self.session_lifetime
        )
        with self._lock:
            self._db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?)",
                (_digest(value), username, session.csrf, session.expires.isoformat()),
            )
        return value, session

    def session(self, value: str) -> Session | None:
        """The live session for a cookie value."""
        with self._lock:
            row = self._db.execute(
                "SELECT username, csrf, expires FROM sessions WHERE id_hash = ?", (_digest(value),)
            ).fetchone()
        if row is None:
            return None
        expires = datetime.fromisoformat(row[2])
        if expires < datetime.now(UTC):
            self.close_session(value)
            return None
        return Session(row[0], row[1], expires)

    def close_session(self, value: str) -> None:
        """End a session."""
        with self._lock:
            self._db.execute("DELETE FROM sessions WHERE id_hash = ?", (_digest(value),))

    def end_sessions_of(self, username: str) -> None:
        """End every session of a user (on disabling them)."""
        with self._lock:
            self._db.execute("DELETE FROM sessions WHERE username = ?", (username,))

    def close(self) -> None:
        """Close the file."""
        self._db.close()
