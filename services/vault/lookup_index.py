"""The lookup index: which person an email address or an external reference names on an
incident, found by keyed hash (HMAC) and kept beside the per-person keys, never in the log.

One row per person and address (``person_emails``, unique per incident and address, so an
import adds nobody twice) and one per person and reference (``person_references``). Erasing
a person deletes their rows with their keys, in one transaction of the key store: after
that, nothing the application holds can tell that the address was ever affected.

Writers take the named lock ``lookups`` (SQLite: every write transaction serialises anyway;
PostgreSQL: an advisory lock), so a correction moving a person and an erasure removing them
never interleave.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from uuid import UUID

from services.storage.sql import Cursor, Database, chunks, marks

EMAILS = "person_emails"
REFERENCES = "person_references"
META = "lookup_index_meta"
LOCK = "lookups"


class AddressTaken(Exception):
    """Another person of the incident already has this address."""


class LookupIndex:
    """Keyed lookups of addresses and references, mapped to person ids per incident."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.emails = db.table(EMAILS)
        self.references = db.table(REFERENCES)
        self.meta = db.table(META)

    def create_tables(self, c: Cursor) -> None:
        """Create the index's tables (inside the caller's transaction)."""
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {self.emails} (lookup TEXT NOT NULL, "
            "incident_id TEXT NOT NULL, person_id TEXT NOT NULL, "
            "PRIMARY KEY (lookup, incident_id))"
        )
        c.execute(f"CREATE INDEX IF NOT EXISTS {EMAILS}_by_person ON {self.emails} (person_id)")
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {self.references} (lookup TEXT NOT NULL, "
            "incident_id TEXT NOT NULL, person_id TEXT NOT NULL, "
            "PRIMARY KEY (lookup, incident_id, person_id))"
        )
        c.execute(
            f"CREATE INDEX IF NOT EXISTS {REFERENCES}_by_person ON {self.references} (person_id)"
        )
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {self.meta} (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )

    def claim(self, incident_id: UUID, candidates: Mapping[str, UUID]) -> dict[str, UUID]:
        """For each email lookup, record the candidate person id unless the incident already
        has a person at that address; return the id that holds each lookup now (the
        candidate, or whoever was there first)."""
        if not candidates:
            return {}
        incident = str(incident_id)
        owners: dict[str, UUID] = {}
        with self.db.transaction(lock=LOCK) as c:
            c.executemany(
                f"INSERT INTO {self.emails} (lookup, incident_id, person_id) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [(lookup, incident, str(pid)) for lookup, pid in candidates.items()],
            )
            for chunk in chunks(list(candidates)):
                c.execute(
                    f"SELECT lookup, person_id FROM {self.emails} "
                    f"WHERE incident_id = ? AND lookup IN ({marks(len(chunk))})",
                    [incident, *chunk],
                )
                owners.update((lookup, UUID(pid)) for lookup, pid in c.fetchall())
        return owners

    def set_references(self, rows: Sequence[tuple[UUID, UUID, str | None]]) -> None:
        """Give each person (id, incident, reference lookup or None) exactly that reference."""
        if not rows:
            return
        with self.db.transaction(lock=LOCK) as c:
            self._set_references(c, rows)

    def _set_references(self, c: Cursor, rows: Sequence[tuple[UUID, UUID, str | None]]) -> None:
        for chunk in chunks([str(pid) for pid, _, _ in rows]):
            c.execute(
                f"DELETE FROM {self.references} WHERE person_id IN ({marks(len(chunk))})", chunk
            )
        c.executemany(
            f"INSERT INTO {self.references} (lookup, incident_id, person_id) VALUES (?, ?, ?)",
            [(lookup, str(incident), str(pid)) for pid, incident, lookup in rows if lookup],
        )

    def move(
        self, c: Cursor, person_id: UUID, incident_id: UUID, email: str, reference: str | None
    ) -> None:
        """Make the person's address and reference lookups these (a correction), inside the
        caller's transaction (holding the ``lookups`` lock). Raises :class:`AddressTaken`
        when another person of the incident has the address."""
        pid, incident = str(person_id), str(incident_id)
        c.execute(
            f"SELECT person_id FROM {self.emails} WHERE lookup = ? AND incident_id = ?",
            [email, incident],
        )
        holder = c.fetchone()
        if holder is not None and holder[0] != pid:
            raise AddressTaken
        c.execute(f"DELETE FROM {self.emails} WHERE person_id = ?", [pid])
        c.execute(
            f"INSERT INTO {self.emails} (lookup, incident_id, person_id) VALUES (?, ?, ?)",
            [email, incident, pid],
        )
        self._set_references(c, [(person_id, incident_id, reference)])

    def restore(self, c: Cursor, rows: Sequence[tuple[UUID, UUID, str, str | None]]) -> None:
        """Write rows (person, incident, email lookup, reference lookup) inside the caller's
        transaction; an address another person of the incident holds keeps its holder."""
        c.executemany(
            f"INSERT INTO {self.emails} (lookup, incident_id, person_id) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            [(email, str(incident), str(pid)) for pid, incident, email, _ in rows],
        )
        self._set_references(c, [(pid, incident, ref) for pid, incident, _, ref in rows])

    def by_email(self, lookup: str) -> list[tuple[UUID, UUID]]:
        """(person id, incident id) of every person at this address, on every incident."""
        rows = self.db.fetch(
            f"SELECT person_id, incident_id FROM {self.emails} WHERE lookup = ?", [lookup]
        )
        return [(UUID(p), UUID(i)) for p, i in rows]

    def by_reference(self, lookup: str) -> list[tuple[UUID, UUID]]:
        """(person id, incident id) of every person with this reference."""
        rows = self.db.fetch(
            f"SELECT person_id, incident_id FROM {self.references} WHERE lookup = ?", [lookup]
        )
        return [(UUID(p), UUID(i)) for p, i in rows]

    def forget(self, c: Cursor, person_id: UUID) -> None:
        """Delete every row of the person (inside the caller's transaction)."""
        for table in (self.emails, self.references):
            c.execute(f"DELETE FROM {table} WHERE person_id = ?", [str(person_id)])

    def tables(self) -> tuple[str, str]:
        """The tables holding lookups (to reclaim after deletions)."""
        return self.emails, self.references

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
