"""Documents describing an incident for people and scripts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from events.incident import Incident
from events.values import SeveritySource


def contained(row: dict[str, Any]) -> str:
    """Containment progress of a board row in words: the time to contain once reached,
    else mandatory tasks done of all."""
    seconds = row.get("time_to_contain_seconds")
    if row.get("containment_reached_at") and seconds is not None:
        return f"yes, {seconds / 3600:.1f} h"
    total = row.get("mandatory_total") or 0
    return f"{row.get('mandatory_done') or 0}/{total} tasks" if total else "-"


def severity_label(values: Mapping[str, Any], *, short: bool = False) -> str:
    """The one severity of an incident (a board row, an incident document or a dumped
    state: ``severity``, ``severity_source``, ``initial_severity``) in words, saying where
    it comes from: "high (assessed; initial estimate medium)", "medium (triage estimate)",
    or "not triaged". ``short`` drops the initial estimate, for tables."""
    severity, source = _text(values.get("severity")), _text(values.get("severity_source"))
    if severity is None:
        return "not triaged"
    if source == SeveritySource.ASSESSMENT.value:
        if short:
            return f"{severity} (assessed)"
        initial = _text(values.get("initial_severity"))
        return f"{severity} (assessed; initial estimate {initial or 'none'})"
    return f"{severity} (triage)" if short else f"{severity} (triage estimate)"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value.value) if hasattr(value, "value") else str(value)


def incident_document(incident: Incident) -> dict[str, Any]:
    """The incident as a JSON-ready mapping: id, version, record times and every fact,
    with the one severity people see (``severity``), where it comes from
    (``severity_source``: assessment or triage) and the triage estimate
    (``initial_severity``)."""
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


def in_words(class_name: str) -> str:
    """An event class name in words: 'IncidentFactsAmended' -> 'incident facts amended'."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", class_name).lower()
