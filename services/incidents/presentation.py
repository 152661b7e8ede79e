"""Documents describing an incident for people and scripts."""

from __future__ import annotations

from typing import Any

from events.incident import Incident


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
