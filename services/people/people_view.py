"""The people view: who is affected by which incident, by status, language and jurisdiction.

No personal data is kept here in clear, nor anything derived from it: only ids, routing
facts, statuses and the sealed (encrypted) data the dispatcher opens. People are found by
address or reference through the key store's lookup index, not here. After an erasure the
row stays (the person is counted as erased) without language, jurisdiction or sealed data.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from events.base import DomainEvent
from events.people import (
    PersonCorrected,
    PersonErased,
    PersonEvent,
    PersonRecorded,
    PersonStatus,
    Sealed,
)
from services.projections.schema import Row, Table, ViewTransaction, db_time, from_db_time
from services.projections.store import ViewStore

PEOPLE = Table(
    name="people",
    columns={
        "person_id": "TEXT NOT NULL",
        "incident_id": "TEXT NOT NULL",
        "language": "TEXT",
        "jurisdiction": "TEXT",
        "status": "TEXT NOT NULL",
        "row": "INTEGER NOT NULL",
        "sealed": "TEXT",
        "recorded_at": "TEXT NOT NULL",
        "corrected_at": "TEXT",
        "erased_at": "TEXT",
        "version": "INTEGER NOT NULL",
    },
    key=("person_id",),
    indexes=(("incident_id", "status"),),
)

PEOPLE_ADDED = Table(
    name="people_added",
    columns={
        "incident_id": "TEXT NOT NULL",
        "source": "TEXT NOT NULL",
        "actor": "TEXT NOT NULL",
        "people": "INTEGER NOT NULL",
        "first_at": "TEXT NOT NULL",
        "last_at": "TEXT NOT NULL",
    },
    key=("incident_id", "source", "actor"),
    merge=(("people", "sum"), ("first_at", "min"), ("last_at", "max")),
)
"""How many people each import (``source``, such as ``import:<correlation id>``) recorded
on an incident, and when its first and last were recorded: the incident's timeline tells
of an import in one line, not a line per person."""


@dataclass(frozen=True)
class PeopleAdded:
    """People recorded on an incident by one source (an import), as the timeline tells it;
    ``timestamp`` is when the last of them was recorded."""

    incident_id: UUID
    source: str
    actor: str
    people: int
    first_at: datetime
    timestamp: datetime

    @property
    def correlation_id(self) -> str:
        """The request that imported them (the source without its ``import:`` prefix)."""
        return self.source.removeprefix("import:")


class PeopleProjection:
    """Keeps the people view in step with person events."""

    name = "people"
    version = 4
    tables: Sequence[Table] = (PEOPLE, PEOPLE_ADDED)
    handles: tuple[type[DomainEvent], ...] = (PersonRecorded, PersonEvent)

    def process(self, event: DomainEvent, position: int, tx: ViewTransaction) -> None:
        """Apply one event."""
        key = {"person_id": str(event.originator_id)}
        if isinstance(event, PersonRecorded):
            tx.upsert(
                PEOPLE.name,
                {
                    **key,
                    "incident_id": str(event.incident_id),
                    "language": event.language,
                    "jurisdiction": event.jurisdiction,
                    "status": PersonStatus.ACTIVE.value,
                    "row": event.row,
                    "sealed": event.sealed.model_dump_json(),
                    "recorded_at": db_time(event.timestamp),
                    "corrected_at": None,
                    "erased_at": None,
                    "version": event.originator_version,
                },
            )
            moment = db_time(event.timestamp)
            tx.merge(
                PEOPLE_ADDED.name,
                {
                    "incident_id": str(event.incident_id),
                    "source": event.source,
                    "actor": event.actor,
                    "people": 1,
                    "first_at": moment,
                    "last_at": moment,
                },
            )
        elif isinstance(event, PersonCorrected):
            tx.update(
                PEOPLE.name,
                key,
                {
                    "language": event.language,
                    "jurisdiction": event.jurisdiction,
                    "sealed": event.sealed.model_dump_json(),
                    "corrected_at": db_time(event.timestamp),
                    "version": event.originator_version,
                },
            )
        elif isinstance(event, PersonErased):
            tx.update(
                PEOPLE.name,
                key,
                {
                    "status": PersonStatus.ERASED.value,
                    "language": None,
                    "jurisdiction": None,
                    "sealed": None,
                    "erased_at": db_time(event.timestamp),
                    "version": event.originator_version,
                },
            )


class People:
    """Reads the people view."""

    def __init__(self, store: ViewStore) -> None:
        self.store = store

    def recipients_of(self, incident_id: UUID, page: int = 5_000) -> Iterator[Row]:
        """The people of an incident as notices need them (``person_id``, ``language``,
        ``status``), in id order, read a page at a time: a campaign to a million people
        holds one page in memory, not the incident. Pages follow the ids from the last one
        read (the incident is hidden from the view's index, which would sort the whole
        incident for each page)."""
        after = ""
        while True:
            rows = self.store.query(
                "SELECT person_id, language, status FROM people "
                "WHERE (incident_id || '') = ? AND person_id > ? ORDER BY person_id LIMIT ?",
                [str(incident_id), after, page],
            )
            yield from rows
            if len(rows) < page:
                return
            after = str(rows[-1]["person_id"])

    def of_incident(self, incident_id: UUID, *, status: str | None = None) -> list[Row]:
        """The people of an incident, in import order."""
        sql = "SELECT * FROM people WHERE incident_id = ?"
        params: list[Any] = [str(incident_id)]
        if status is not None:
            sql += " AND status = ?"
            params.append(status)
        return self.store.query(sql + ' ORDER BY recorded_at, "row"', params)

    def added_to(self, incident_id: UUID) -> list[PeopleAdded]:
        """The imports (and other sources) that recorded people on an incident, oldest first."""
        rows = self.store.query(
            "SELECT * FROM people_added WHERE incident_id = ? ORDER BY last_at, source",
            [str(incident_id)],
        )
        return [
            PeopleAdded(
                incident_id=incident_id,
                source=r["source"],
                actor=r["actor"],
                people=r["people"],
                first_at=_moment(r["first_at"]),
                timestamp=_moment(r["last_at"]),
            )
            for r in rows
        ]

    def languages_of(self, incident_id: UUID) -> dict[str, int]:
        """The incident's people still to be told (not erased), counted by language."""
        rows = self.store.query(
            "SELECT language, COUNT(*) AS n FROM people "
            "WHERE incident_id = ? AND status <> 'erased' GROUP BY language",
            [str(incident_id)],
        )
        return {r["language"] or "en": r["n"] for r in rows}

    def summary(self, incident_id: UUID) -> dict[str, Any]:
        """Counts by status, language and jurisdiction for an incident."""
        rows = self.store.query(
            "SELECT status, language, jurisdiction, COUNT(*) AS n FROM people "
            "WHERE incident_id = ? GROUP BY status, language, jurisdiction",
            [str(incident_id)],
        )
        out: dict[str, Any] = {"total": 0, "status": {}, "language": {}, "jurisdiction": {}}
        for r in rows:
            out["total"] += r["n"]
            for col in ("status", "language", "jurisdiction"):
                if r[col] is not None:
                    out[col][r[col]] = out[col].get(r[col], 0) + r["n"]
        return out

    def sealed(self, person_ids: Sequence[UUID]) -> dict[UUID, Sealed | None]:
        """The sealed data of people (None for the erased), one query per 500."""
        out: dict[UUID, Sealed | None] = {}
        ids = [str(p) for p in person_ids]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" for _ in chunk)
            for row in self.store.query(
                f"SELECT person_id, sealed FROM people WHERE person_id IN ({marks})", chunk
            ):
                sealed = row["sealed"]
                out[UUID(row["person_id"])] = Sealed.model_validate_json(sealed) if sealed else None
        return out


def _moment(text: str) -> datetime:
    moment = from_db_time(text)
    assert moment is not None
    return moment
