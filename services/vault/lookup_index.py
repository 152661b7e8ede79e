"""The lookup index: which person an email address or an external reference names on an
incident, found by keyed hash (HMAC) and kept beside the per-person keys, never in the log.

One row per person (``person_lookups``): their incident, the keyed hash of their address
(unique per incident, so an import adds nobody twice) and of their reference, if any.
Erasing a person deletes their row with their keys, in one transaction of the key store:
after that, nothing the application holds can tell that the address was ever affected.

Writers take the named lock ``lookups`` (SQLite: every write transaction serialises anyway;
PostgreSQL: an advisory lock), so a correction moving a person and an erasure removing them
never interleave.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from uuid import UUID

from services.storage.sql import Cursor, Database, chunks, marks

TABLE = "person_lookups"
META = "lookup_index_meta"
LOCK = "lookups"


class AddressTaken(Exception):
    """Another person of the incident already has this address."""


class LookupIndex:
    """Keyed lookups of addresses and references, mapped to person ids per incident."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.table = db.table(TABLE)
        self.meta = db.table(META)

    def create_tables(self, c: Cursor) -> None:
        """Create the index's tables (inside the caller's transaction)."""
        # On SQLite the rows live in their primary key's tree: one tree fewer to write to
        # at random places on every import.
        clustered = " WITHOUT ROWID" if self.db.kind == "sqlite" else ""
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} (person_id TEXT PRIMARY KEY, "
            "incident_id TEXT NOT NULL, email TEXT NOT NULL, reference TEXT)" + clustered
        )
        c.execute(
            f"CREATE UNIQUE INDEX IF NOT EXISTS {TABLE}_by_email "
            f"ON {self.table} (email, incident_id)"
        )
        c.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_by_reference ON {self.table} (reference)")
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {self.meta} (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )

    def claim(self, incident_id: UUID, candidates: Mapping[str, UUID]) -> dict[str, UUID]:
        """For each email lookup, record the candidate person id unless the incident already
        has a person at that address; return the id that holds each lookup now (the
        candidate, or whoever was there first)."""
        with self.db.transaction(lock=LOCK) as c:
            return self.claim_in(c, incident_id, candidates)

    def claim_in(
        self,
        c: Cursor,
        incident_id: UUID,
        candidates: Mapping[str, UUID],
        references: Mapping[str, str | None] | None = None,
    ) -> dict[str, UUID]:
        """:meth:`claim`, inside the caller's transaction (holding the ``lookups`` lock);
        a candidate that wins takes its reference lookup from ``references``."""
        if not candidates:
            return {}
        incident = str(incident_id)
        refs = references or {}
        c.executemany(
            f"INSERT INTO {self.table} (person_id, incident_id, email, reference) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [(str(pid), incident, lookup, refs.get(lookup)) for lookup, pid in candidates.items()],
        )
        owners: dict[str, UUID] = {}
        for chunk in chunks(list(candidates)):
            c.execute(
                f"SELECT email, person_id FROM {self.table} "
                f"WHERE email IN ({marks(len(chunk))}) AND incident_id = ?",
                [*chunk, incident],
            )
            owners.update((lookup, UUID(pid)) for lookup, pid in c.fetchall())
        return owners

    def set_references(self, c: Cursor, rows: Sequence[tuple[UUID, str | None]]) -> None:
        """Give each claimed person (id, reference lookup or None) exactly that reference,
        inside the caller's transaction."""
        c.executemany(
            f"UPDATE {self.table} SET reference = ? WHERE person_id = ?",
            [(reference, str(pid)) for pid, reference in rows],
        )

    def move(
        self, c: Cursor, person_id: UUID, incident_id: UUID, email: str, reference: str | None
    ) -> None:
        """Make the person's address and reference lookups these (a correction), inside the
        caller's transaction (holding the ``lookups`` lock). Raises :class:`AddressTaken`
        when another person of the incident has the address."""
        pid, incident = str(person_id), str(incident_id)
        c.execute(
            f"SELECT person_id FROM {self.table} WHERE email = ? AND incident_id = ?",
            [email, incident],
        )
        holder = c.fetchone()
        if holder is not None and holder[0] != pid:
            raise AddressTaken
        c.execute(
            f"INSERT INTO {self.table} (person_id, incident_id, email, reference) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (person_id) DO UPDATE "
            "SET email = excluded.email, reference = excluded.reference",
            [pid, incident, email, reference],
        )

    def restore(self, c: Cursor, rows: Sequence[tuple[UUID, UUID, str, str | None]]) -> None:
        """Write rows (person, incident, email lookup, reference lookup) inside the caller's
        transaction; an address another person of the incident holds keeps its holder."""
        c.executemany(
            f"INSERT INTO {self.table} (person_id, incident_id, email, reference) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [(str(pid), str(incident), email, ref) for pid, incident, email, ref in rows],
        )

    def by_email(self, lookup: str) -> list[tuple[UUID, UUID]]:
        """(person id, incident id) of every person at this address, on every incident."""
        rows = self.db.fetch(
            f"SELECT person_id, incident_id FROM {self.table} WHERE email = ?", [lookup]
        )
        return [(UUID(p), UUID(i)) for p, i in rows]

    def by_reference(self, lookup: str) -> list[tuple[UUID, UUID]]:
        """(person id, incident id) of every person with this reference."""
        rows = self.db.fetch(
            f"SELECT person_id, incident_id FROM {self.table} WHERE reference = ?", [lookup]
        )
        return [(UUID(p), UUID(i)) for p, i in rows]

    def forget(self, c: Cursor, person_id: UUID) -> None:
        """Delete the person's row (inside the caller's transaction)."""
        c.execute(f"DELETE FROM {self.table} WHERE person_id = ?", [str(person_id)])

    def mark(self, c: Cursor, name: str) -> str | None:
        """The value of a mark of the index (e.g. an upgrade done), inside a transaction."""
        c.execute(f"SELECT value FROM {self.meta} WHERE name = ?", [name])
        row = c.fetchone()
        return None if row is None else str(row[0])

    def set_mark(self, c: Cursor, name: str, value: str) -> None:
        """Set a mark of the index, inside a transaction."""
        c.execute(
            f"INSERT INTO {self.meta} (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            [name, value],
        )
