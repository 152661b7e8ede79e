"""The key store: one AES key per person-record, wrapped by a master key, in its own file.

Keys never go into the event log. Destroying a key is the erasure: rows are deleted with
SQLite's secure_delete on and the write-ahead log truncated, so the key's bytes do not
linger in the file.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class SQLiteKeyStore:
    """Per-person data keys in an SQLite file, each wrapped (AES-GCM) by the master key."""

    def __init__(self, path: Path, master_key: bytes) -> None:
        self.path = path
        self._wrap = AESGCM(master_key)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS person_keys ("
            "key_id TEXT PRIMARY KEY, wrapped BLOB NOT NULL, created_at TEXT NOT NULL)"
        )

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def create(self, count: int) -> list[tuple[UUID, bytes]]:
        """Create ``count`` new keys in one transaction and return them with their ids."""
        now = datetime.now(UTC).isoformat()
        keys = [(uuid4(), AESGCM.generate_key(256)) for _ in range(count)]
        rows = []
        for key_id, key in keys:
            nonce = os.urandom(12)
            rows.append((str(key_id), nonce + self._wrap.encrypt(nonce, key, key_id.bytes), now))
        with self._tx() as db:
            db.executemany("INSERT INTO person_keys VALUES (?, ?, ?)", rows)
        return keys

    def get(self, key_ids: Iterable[UUID]) -> dict[UUID, bytes]:
        """The keys that still exist among ``key_ids`` (destroyed ones are absent)."""
        ids = list(key_ids)
        out: dict[UUID, bytes] = {}
        with self._lock:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" for _ in chunk)
                rows = self._db.execute(
                    f"SELECT key_id, wrapped FROM person_keys WHERE key_id IN ({marks})",
                    [str(k) for k in chunk],
                ).fetchall()
                for key_id, wrapped in rows:
                    kid = UUID(key_id)
                    out[kid] = self._wrap.decrypt(wrapped[:12], wrapped[12:], kid.bytes)
        return out

    def destroy(self, key_ids: Sequence[UUID]) -> int:
        """Destroy keys for good; return how many existed."""
        with self._tx() as db:
            cursor = db.executemany(
                "DELETE FROM person_keys WHERE key_id = ?", [(str(k),) for k in key_ids]
            )
            destroyed = cursor.rowcount
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return max(destroyed, 0)

    def close(self) -> None:
        """Close the file."""
        self._db.close()
