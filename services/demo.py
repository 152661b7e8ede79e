"""A scripted, realistic incident that shows the ledger at work on an empty store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from events.incident import Incident
from services.access import actors
from services.application.context import RequestContext
from services.ledger import BreachLedger

DEMO_TITLE = "Job-application portal: resumes downloadable without login"
DEMO_FACTS: dict[str, Any] = {
    "summary": "CVs of 2,300 applicants downloaded by an unknown party",
    "data_categories": ["resume_cv", "contact", "identity"],
    "people": {"count": 2300, "confirmed": True},
    "people_by_jurisdiction": {"DE": 900, "FR": 400, "GB": 600, "CN": 400},
    "breach_types": ["confidentiality"],
    "encryption": "none",
    "recipients": "unknown_or_public",
    "intent": "malicious",
    "adjustments": {"volume": True},
    "establishments": ["DE"],
}


def run_demo(app: BreachLedger) -> Incident:
    """Report, correct, triage, annotate and assess a job-application portal leak."""
    now = app.core.clock.now().replace(second=0, microsecond=0)
    analyst = RequestContext(actor=actors.demo("soc.analyst"))
    lead = RequestContext(actor=actors.demo("ir.lead"))
    dpo = RequestContext(actor=actors.demo("dpo"))
    incident = app.incidents.report_incident(
        {
            "title": DEMO_TITLE,
            "description": (
                "WAF alert: bulk GET requests to /api/applications/{id}/cv from one "
                "foreign IP range. The endpoint answers without a session cookie."
            ),
            "reporter": "SIEM rule web-bulk-download",
            "source": "siem",
            "incident_type": "web_application_exfiltration",
            "occurred_at": now - timedelta(days=3, hours=2),
            "discovered_at": now - timedelta(hours=20),
        },
        analyst,
    )
    app.incidents.amend_facts(
        incident.id,
        {
            "reason": "access-log review confirmed 2,300 CV files were downloaded",
            "aware_at": now - timedelta(hours=6),
            "determined_at": now - timedelta(hours=5),
        },
        lead,
    )
    app.incidents.triage_incident(
        incident.id,
        {
            "severity": "high",
            "personal_data_breach": "yes",
            "incident_type": "web_application_exfiltration",
        },
        dpo,
    )
    app.incidents.add_note(
        incident.id,
        {"text": "Endpoint disabled at the load balancer; WAF rule blocks the IP range."},
        lead,
    )
    return app.assessment.assess_impact(incident.id, DEMO_FACTS, dpo)
