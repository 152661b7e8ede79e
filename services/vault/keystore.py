"""The key store: one AES key per person-record, wrapped by a master key, kept apart from
the log; beside the keys, the lookup index that finds a person by address or reference.

Keys never go into the event log. Erasing a person deletes their keys and their lookup
rows in one transaction (and notes the erasure as pending until the log records it), and
the database is made to drop the deleted bytes at once (SQLite: ``secure_delete`` on and the
write-ahead log truncated; PostgreSQL: the tables vacuumed, so the dead row versions are
removed from their pages rather than left for a later clean-up).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID, uuid4

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, delete, insert, select

from services.clock import Clock
from services.storage.schema import KEYS, upgrade
from services.storage.sql import Database, chunks, execute_many, upsert
from services.storage.sqlite import SQLiteDatabase
from services.vault.lookup_index import LOCK, LookupIndex
from services.vault.tables import pending_erasures, person_keys, person_lookups

CACHE_MIB = 64
WAL_MIB = 64
"""SQLite page cache and write-ahead log of the key store. Keys and lookups are written at
random places of their trees (random ids, keyed hashes), so every batch of an import
touches about as many pages as it has people: a cache and a log that hold several
batches' pages let each page be read once and folded into the file once for several
batches. An erasure still empties the log at once."""


@dataclass(frozen=True)
class Enrolment:
    """A person claimed for recording: their email lookup, id, and new key."""

    lookup: str
    person_id: UUID
    key_id: UUID
    key: bytes = field(repr=False)


@dataclass(frozen=True)
class Erasure:
    """An erasure as the key store notes it until the log records it: whose, which keys,
    and who asked and why (to record it on their behalf after a crash)."""

    person_id: UUID
    key_ids: tuple[UUID, ...]
    actor: str
    correlation_id: str
    reason: str


class KeyStore:
    """Per-person data keys, each wrapped (AES-GCM) by the master key, and the lookup
    index, in their own SQLite file (given a path) or their own tables of the PostgreSQL
    schema; ``clock`` dates new keys and erasures."""

    def __init__(self, database: Path | Database, master_key: bytes, *, clock: Clock) -> None:
        self.clock = clock
        self._wrap = AESGCM(master_key)
        self.db: Database = (
            SQLiteDatabase(database, secure_delete=True, cache_mib=CACHE_MIB, wal_mib=WAL_MIB)
            if isinstance(database, Path)
            else database
        )
        upgrade(self.db, KEYS)
        self.index = LookupIndex(self.db)

    def create(self, count: int) -> list[tuple[UUID, bytes]]:
        """Create ``count`` new keys in one transaction and return them with their ids."""
        with self.db.transaction() as c:
            return self._create(c, count)

    def _create(self, c: Connection, count: int) -> list[tuple[UUID, bytes]]:
        now = self.clock.now().isoformat()
        keys = [(uuid4(), AESGCM.generate_key(256)) for _ in range(count)]
        rows = []
        for key_id, key in keys:
            nonce = os.urandom(12)
            wrapped = nonce + self._wrap.encrypt(nonce, key, key_id.bytes)
            rows.append({"key_id": str(key_id), "wrapped": wrapped, "created_at": now})
        execute_many(c, insert(person_keys), rows)
        return keys

    def enrol(
        self,
        incident_id: UUID,
        people: Mapping[str, str | None],
        recorded: Callable[[Sequence[UUID]], set[UUID]],
    ) -> list[Enrolment]:
        """Claim ids for people of an incident, given as their email lookup and reference
        lookup, in one transaction: each address gets a new random id unless the incident
        has one for it already; those whose id the log has not ``recorded`` get a new key
        and their reference. Return what the caller must now record in the log (people
        already recorded are left out)."""
        with self.db.transaction(lock=LOCK) as c:
            candidates = {lookup: uuid4() for lookup in people}
            owners = self.index.claim_in(c, incident_id, candidates, people)
            present = recorded(list(owners.values()))
            fresh = [lookup for lookup in people if owners[lookup] not in present]
            keys = self._create(c, len(fresh))
            # Ids claimed by an import cut short before it recorded them: this file's
            # reference wins.
            adopted = [(owners[k], people[k]) for k in fresh if owners[k] != candidates[k]]
            self.index.set_references(c, adopted)
        return [
            Enrolment(lookup, owners[lookup], key_id, key)
            for lookup, (key_id, key) in zip(fresh, keys, strict=True)
        ]

    def get(self, key_ids: Iterable[UUID]) -> dict[UUID, bytes]:
        """The keys that still exist among ``key_ids`` (destroyed ones are absent)."""
        out: dict[UUID, bytes] = {}
        for chunk in chunks([str(k) for k in key_ids]):
            rows = self.db.query(
                select(person_keys.c.key_id, person_keys.c.wrapped).where(
                    person_keys.c.key_id.in_(chunk)
                )
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
            destroyed = self._delete_keys(c, key_ids)
        self._purge()
        return destroyed

    @staticmethod
    def _delete_keys(c: Connection, key_ids: Sequence[UUID]) -> int:
        destroyed = 0
        for chunk in chunks([str(k) for k in key_ids]):
            found = c.execute(delete(person_keys).where(person_keys.c.key_id.in_(chunk)))
            destroyed += max(found.rowcount, 0)
        return destroyed

    def move_lookups(
        self,
        person_id: UUID,
        incident_id: UUID,
        key_id: UUID,
        email: str,
        reference: str | None,
    ) -> None:
        """Point the person's lookups at a corrected address and reference. Raises
        :class:`~services.vault.lookup_index.AddressTaken` when another person of the
        incident has the address, and KeyError when the person's key ``key_id`` is gone
        (they were erased meanwhile: their lookups must not come back)."""
        with self.db.transaction(lock=LOCK) as c:
            held = select(person_keys.c.key_id).where(person_keys.c.key_id == str(key_id))
            if c.execute(held).first() is None:
                raise KeyError(str(key_id))
            self.index.move(c, person_id, incident_id, email, reference)
        self._purge()

    def erase(self, erasure: Erasure) -> int:
        """Destroy a person's keys and lookup rows in one transaction, noting the erasure as
        pending until :meth:`recorded`; return how many keys existed."""
        with self.db.transaction(lock=LOCK) as c:
            destroyed = self._delete_keys(c, erasure.key_ids)
            self.index.forget(c, erasure.person_id)
            pending = upsert(self.db.kind, pending_erasures).values(
                person_id=str(erasure.person_id),
                key_ids=json.dumps([str(k) for k in erasure.key_ids]),
                actor=erasure.actor,
                correlation_id=erasure.correlation_id,
                reason=erasure.reason,
                requested_at=self.clock.now().isoformat(),
            )
            c.execute(pending.on_conflict_do_nothing())
        self._purge()
        return destroyed

    def analyze(self) -> None:
        """Refresh the planner's statistics of the keys and the lookup index (PostgreSQL)."""
        self.db.analyze(person_keys, person_lookups)

    def pending(self) -> list[Erasure]:
        """Erasures done here whose record in the log is not confirmed yet."""
        p = pending_erasures.c
        rows = self.db.query(
            select(p.person_id, p.key_ids, p.actor, p.correlation_id, p.reason).order_by(
                p.requested_at
            )
        )
        return [
            Erasure(UUID(p), tuple(UUID(k) for k in json.loads(keys)), actor, corr, reason)
            for p, keys, actor, corr, reason in rows
        ]

    def recorded(self, person_id: UUID) -> None:
        """The log now records the person's erasure: forget that it was pending."""
        with self.db.transaction() as c:
            c.execute(
                delete(pending_erasures).where(pending_erasures.c.person_id == str(person_id))
            )
        self._purge()

    def _purge(self) -> None:
        """Make the database drop deleted rows' bytes now."""
        self.db.reclaim(person_keys, pending_erasures, self.index.table)

    def close(self) -> None:
        """Release the database (an SQLite file is closed; a shared pool is left open)."""
        if isinstance(self.db, SQLiteDatabase):
            self.db.close()


SQLiteKeyStore = KeyStore
"""The key store's former name (it now also keeps its keys in PostgreSQL)."""
