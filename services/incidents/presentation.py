"""Documents describing an incident for people and scripts."""

from __future__ import annotations

from typing import Any

from events.incident import Incident


def contained(row: dict[str, Any]) -> str:
    """Containment progress of a board row in words: the time to contain once reached,
    else mandatory tasks done of all."""
    seconds = row.get("time_to_contain_seconds")
    if row.get("containment_reached_at") and seconds is not None:
        return f"yes, {seconds / 3600:.1f} h"
    total = row.get("mandatory_total") or 0
    return f"{row.get('mandatory_done') or 0}/{total} tasks" if total else "-"


def incident_document(incident: Incident) -> dict[str, Any]:
    """The incident as a JSON-ready mapping: id, version, record times and every fact."""
    state = incident.state.model_dump(mode="json")
    moments = state.pop("moments")
    return {
        "id": str(incident.id),
        "version": incident.version,
        "reported_at": incident.created_on.isoformat(),
        "last_change_at": incident.modified_on.isoformat(),
        **state,
        **moments,
    }
