"""Upgrading a store whose people were recorded before the lookup index existed: their keyed
lookups are in their old events (``PersonRecorded.lookup`` and ``reference_lookup``,
``PersonCorrected``); the index rows are built from those once, at the first start.

The person events are read in log order (by topic), so a correction moves a person's rows
and an erasure leaves none. Done in one transaction of the key store holding the index's
lock, and marked done there: every later start only reads the mark, and processes starting
together build it once.
"""

from __future__ import annotations

from uuid import UUID

import structlog
from eventsourcing.utils import get_topic

from events.people import PersonCorrected, PersonErased, PersonRecorded
from services.people.handlers import PeopleHandlers
from services.vault.lookup_index import LOCK

log = structlog.get_logger()

MARK = "built_from_log"
BATCH = 1000

Former = dict[UUID, tuple[UUID, str, str | None] | None]
"""Per person: (incident, email lookup, reference lookup), or None once erased."""


def build_lookup_index(app: PeopleHandlers) -> int:
    """Build the index rows of people whose events carry lookups, unless done before;
    return how many people were indexed."""
    index = app.vault.index
    if index.marked(MARK):
        return 0
    with index.db.transaction(lock=LOCK) as c:
        if index.mark(c, MARK) is not None:
            return 0
        people, position = former_lookups(app)
        rows = [(pid, *found) for pid, found in people.items() if found is not None]
        index.restore(c, rows)
        index.set_mark(c, MARK, str(position))
    if rows:
        log.info("people.lookups_indexed", people=len(rows), position=position)
    return len(rows)


def former_lookups(app: PeopleHandlers) -> tuple[Former, int]:
    """Every person's lookups as their old events left them, and the log position read to."""
    topics = [get_topic(t) for t in (PersonRecorded, PersonCorrected, PersonErased)]
    people: Former = {}
    position = 0
    while True:
        notes = app.core.recorder.select_notifications(
            start=position, limit=BATCH, topics=topics, inclusive_of_start=False
        )
        if not notes:
            return people, position
        for note in notes:
            event = app.core.mapper.to_domain_event(note)
            pid = event.originator_id
            if isinstance(event, PersonRecorded) and event.lookup is not None:
                people[pid] = (event.incident_id, event.lookup, event.reference_lookup)
            elif isinstance(event, PersonCorrected) and event.lookup is not None:
                found = people.get(pid)
                if found is not None:
                    people[pid] = (found[0], event.lookup, event.reference_lookup)
            elif isinstance(event, PersonErased):
                people[pid] = None
        position = notes[-1].id
