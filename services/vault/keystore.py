"""The key store: one AES key per person-record, wrapped by a master key, kept apart.

Keys never go into the event log. Destroying a key is the erasure: the row is deleted, and
the database is made to drop the deleted bytes at once (SQLite: ``secure_delete`` on and the
write-ahead log truncated; PostgreSQL: the table vacuumed, so the dead row version is
removed from its page rather than left for a later clean-up).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.storage.sql import Database, chunks, marks
from services.storage.sqlite import SQLiteDatabase


class KeyStore:
    """Per-person data keys, each wrapped (AES-GCM) by the master key, in their own SQLite
    file (given a path) or their own table of the PostgreSQL schema."""

    def __init__(self, database: Path | Database, master_key: bytes) -> None:
        self._wrap = AESGCM(master_key)
        self.db: Database = (
            SQLiteDatabase(database, secure_delete=True) if isinstance(database, Path) else database
        )
        self._table = self.db.table("person_keys")
        with self.db.transaction(lock="keys") as c:
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} ("
                f"key_id TEXT PRIMARY KEY, wrapped {self.db.blob} NOT NULL, "
                "created_at TEXT NOT NULL)"
            )

    def create(self, count: int) -> list[tuple[UUID, bytes]]:
        """Create ``count`` new keys in one transaction and return them with their ids."""
        now = datetime.now(UTC).isoformat()
        keys = [(uuid4(), AESGCM.generate_key(256)) for _ in range(count)]
        rows = []
        for key_id, key in keys:
            nonce = os.urandom(12)
            rows.append((str(key_id), nonce + self._wrap.encrypt(nonce, key, key_id.bytes), now))
        with self.db.transaction() as c:
            c.executemany(f"INSERT INTO {self._table} VALUES (?, ?, ?)", rows)
        return keys

    def get(self, key_ids: Iterable[UUID]) -> dict[UUID, bytes]:
        """The keys that still exist among ``key_ids`` (destroyed ones are absent)."""
        out: dict[UUID, bytes] = {}
        for chunk in chunks([str(k) for k in key_ids]):
            rows = self.db.fetch(
                f"SELECT key_id, wrapped FROM {self._table} WHERE key_id IN ({marks(len(chunk))})",
                chunk,
            )
            for key_id, wrapped in rows:
                kid = UUID(key_id)
                data = bytes(wrapped)
                out[kid] = self._wrap.decrypt(data[:12], data[12:], kid.bytes)
        return out

    def destroy(self, key_ids: Sequence[UUID]) -> int:
        """Destroy keys for good; return how many existed."""
        destroyed = 0
        with self.db.transaction() as c:
            for chunk in chunks([str(k) for k in key_ids]):
                c.execute(f"DELETE FROM {self._table} WHERE key_id IN ({marks(len(chunk))})", chunk)
                destroyed += max(c.rowcount, 0)
        self._purge()
        return destroyed

    def _purge(self) -> None:
        """Make the database drop deleted rows' bytes now."""
        self.db.reclaim(self._table)

    def close(self) -> None:
        """Release the database (an SQLite file is closed; a shared pool is left open)."""
        if isinstance(self.db, SQLiteDatabase):
            self.db.close()


SQLiteKeyStore = KeyStore
"""The key store's former name (it now also keeps its keys in PostgreSQL)."""
