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

from sqlalchemy import Connection, bindparam, delete, select, update

from services.storage.sql import Database, chunks, execute_many, upsert
from services.vault.tables import lookup_index_meta, person_lookups

LOCK = "lookups"

lookups = person_lookups.c


class AddressTaken(Exception):
    """Another person of the incident already has this address."""


class LookupIndex:
    """Keyed lookups of addresses and references, mapped to person ids per incident (its
    tables are created with the key store's)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.table = person_lookups
        self.meta = lookup_index_meta

    def claim(self, incident_id: UUID, candidates: Mapping[str, UUID]) -> dict[str, UUID]:
        """For each email lookup, record the candidate person id unless the incident already
        has a person at that address; return the id that holds each lookup now (the
        candidate, or whoever was there first)."""
        with self.db.transaction(lock=LOCK) as c:
            return self.claim_in(c, incident_id, candidates)

    def claim_in(
        self,
        c: Connection,
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
        execute_many(
            c,
            upsert(self.db.kind, person_lookups).on_conflict_do_nothing(),
            [
                {
                    "person_id": str(pid),
                    "incident_id": incident,
                    "email": lookup,
                    "reference": refs.get(lookup),
                }
                for lookup, pid in candidates.items()
            ],
        )
        owners: dict[str, UUID] = {}
        for chunk in chunks(list(candidates)):
            found = c.execute(
                select(lookups.email, lookups.person_id).where(
                    lookups.email.in_(chunk), lookups.incident_id == incident
                )
            )
            owners.update((lookup, UUID(pid)) for lookup, pid in found)
        return owners

    def set_references(self, c: Connection, rows: Sequence[tuple[UUID, str | None]]) -> None:
        """Give each claimed person (id, reference lookup or None) exactly that reference,
        inside the caller's transaction."""
        if not rows:
            return
        execute_many(
            c,
            update(person_lookups)
            .where(lookups.person_id == bindparam("pid"))
            .values(reference=bindparam("ref")),
            [{"ref": reference, "pid": str(pid)} for pid, reference in rows],
        )

    def move(
        self, c: Connection, person_id: UUID, incident_id: UUID, email: str, reference: str | None
    ) -> None:
        """Make the person's address and reference lookups these (a correction), inside the
        caller's transaction (holding the ``lookups`` lock). Raises :class:`AddressTaken`
        when another person of the incident has the address."""
        pid, incident = str(person_id), str(incident_id)
        holder = c.execute(
            select(lookups.person_id).where(lookups.email == email, lookups.incident_id == incident)
        ).first()
        if holder is not None and holder[0] != pid:
            raise AddressTaken
        statement = upsert(self.db.kind, person_lookups).values(
            person_id=pid, incident_id=incident, email=email, reference=reference
        )
        c.execute(
            statement.on_conflict_do_update(
                index_elements=[lookups.person_id],
                set_={"email": statement.excluded.email, "reference": statement.excluded.reference},
            )
        )

    def restore(self, c: Connection, rows: Sequence[tuple[UUID, UUID, str, str | None]]) -> None:
        """Write rows (person, incident, email lookup, reference lookup) inside the caller's
        transaction; an address another person of the incident holds keeps its holder."""
        if not rows:
            return
        execute_many(
            c,
            upsert(self.db.kind, person_lookups).on_conflict_do_nothing(),
            [
                {
                    "person_id": str(pid),
                    "incident_id": str(incident),
                    "email": email,
                    "reference": ref,
                }
                for pid, incident, email, ref in rows
            ],
        )

    def by_email(self, lookup: str) -> list[tuple[UUID, UUID]]:
        """(person id, incident id) of every person at this address, on every incident."""
        rows = self.db.query(
            select(lookups.person_id, lookups.incident_id).where(lookups.email == lookup)
        )
        return [(UUID(p), UUID(i)) for p, i in rows]

    def by_reference(self, lookup: str) -> list[tuple[UUID, UUID]]:
        """(person id, incident id) of every person with this reference."""
        rows = self.db.query(
            select(lookups.person_id, lookups.incident_id).where(lookups.reference == lookup)
        )
        return [(UUID(p), UUID(i)) for p, i in rows]

    def forget(self, c: Connection, person_id: UUID) -> None:
        """Delete the person's row (inside the caller's transaction)."""
        c.execute(delete(person_lookups).where(lookups.person_id == str(person_id)))

    def marked(self, name: str) -> bool:
        """Whether the index has a mark of this name (outside any transaction)."""
        meta = lookup_index_meta.c
        return bool(self.db.query(select(meta.value).where(meta.name == name)))

    def mark(self, c: Connection, name: str) -> str | None:
        """The value of a mark of the index (e.g. an upgrade done), inside a transaction."""
        meta = lookup_index_meta.c
        return c.execute(select(meta.value).where(meta.name == name)).scalar()

    def set_mark(self, c: Connection, name: str, value: str) -> None:
        """Set a mark of the index, inside a transaction."""
        statement = upsert(self.db.kind, lookup_index_meta).values(name=name, value=value)
        c.execute(
            statement.on_conflict_do_update(
                index_elements=[lookup_index_meta.c.name],
                set_={"value": statement.excluded.value},
            )
        )
