"""Documents describing an affected person's records, for access requests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from events.people import AffectedPerson, PersonCorrected

if TYPE_CHECKING:
    from services.bootstrap import Runtime


def person_record(rt: Runtime, person: AffectedPerson) -> dict[str, Any]:
    """Everything held about one person on one incident: their data (unsealed), its
    corrections and the notices sent to them."""
    view = rt.app.view_person(person)
    corrections = [
        {"at": e.timestamp.isoformat(), "by": e.actor, "reason": e.reason}
        for e in rt.app.events.get(person.id)
        if isinstance(e, PersonCorrected)
    ]
    return {
        "person_id": str(view.person_id),
        "version": person.version,
        "incident_id": str(view.incident_id),
        "incident_title": rt.app.get_incident(view.incident_id).state.title,
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
            for n in rt.notifications.for_person(view.person_id)
        ],
    }
