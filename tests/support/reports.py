"""Sample report inputs, relative to a clock, for tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any


def report_input(now: datetime, **overrides: Any) -> dict[str, Any]:
    """A valid report of a web application exfiltration discovered a day before ``now``."""
    data: dict[str, Any] = {
        "title": "Resumes downloadable without login",
        "description": "Bulk downloads of CVs from the careers portal.",
        "reporter": "soc.analyst",
        "source": "siem",
        "incident_type": "web_application_exfiltration",
        "occurred_at": now - timedelta(days=2),
        "discovered_at": now - timedelta(days=1),
    }
    data.update(overrides)
    return data
