"""Sample report inputs, relative to a clock, for tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from services.application.context import RequestContext
    from services.bootstrap import Runtime


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


def report_due_within_the_hour(rt: Runtime, ctx: RequestContext) -> UUID:
    """Report and assess a portal leak whose 72-hour authority deadline is 30 minutes after
    the runtime's clock (aware 71.5 hours ago): its 1-hour ladder step is due now. The id."""
    from tests.support.facts import PORTAL_LEAK

    now = rt.app.core.clock.now()
    incident = rt.app.incidents.report_incident(
        report_input(
            now,
            occurred_at=now - timedelta(hours=80),
            discovered_at=now - timedelta(hours=72),
            aware_at=now - timedelta(hours=71, minutes=30),
        ),
        ctx,
    )
    rt.app.assessment.assess_impact(incident.id, PORTAL_LEAK, ctx)
    return incident.id
