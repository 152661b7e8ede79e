"""Documents describing an affected person's records, for access requests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from uuid import UUID

from events.people import AffectedPerson, PersonCorrected
from services.people.handlers import PeopleHandlers


class NoticesOfPeople(Protocol):
    """The notices sent to a person (the notifications capability's reader answers)."""

    def for_person(self, person_id: UUID) -> Sequence[Mapping[str, Any]]:
        """The notices sent to ``person_id``, oldest first."""
        ...


def person_record(
    app: PeopleHandlers, notices: NoticesOfPeople, person: AffectedPerson
) -> dict[str, Any]:
    """Everything held about one person on one incident: their data (unsealed), its
    corrections and the notices sent to them."""
    view = app.view_person(person)
    corrections = [
        {"at": e.timestamp.isoformat(), "by": e.actor, "reason": e.reason}
        for e in app.core.events.get(person.id)
        if isinstance(e, PersonCorrected)
    ]
    return {
        "person_id": str(view.person_id),
        "version": person.version,
        "incident_id": str(view.incident_id),
        "incident_title": app.incidents.get_incident(view.incident_id).state.title,
        "status": view.status,
        "recorded_at": view.recorded_at,
        "erased_at": view.erased_at,
        "language": view.language,
        "jurisdiction": view.jurisdiction,
        "data": view.data.model_dump() if view.data else None,
        "corrections": corrections,
        "notices": [
            {
                "campaign_id": n["campaign_id"],
                "audience": n["audience"],
                "status": n["status"],
                "sent_at": n["sent_at"],
                "message_id": n["message_id"],
            }
            for n in notices.for_person(view.person_id)
        ],
    }
