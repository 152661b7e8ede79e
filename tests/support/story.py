"""A breach told over two days on a hand-moved clock: reported hours after it occurred,
assessed, triaged (its playbook's tasks), contained task by task, its awareness corrected
(the deadlines move), a note, people imported and told, the authority notified in time.
Pictures of the dashboard and tests of what they draw use it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from events.containment import TaskStatus
from services.application.context import RequestContext
from services.bootstrap import Runtime
from services.notifications.mailbox import CaptureServer
from services.smtp_target import SmtpTarget
from tests.support.campaigns import ZH_CN
from tests.support.clocks import ManualClock
from tests.support.facts import PORTAL_LEAK
from tests.support.identity import dpo_of
from tests.support.people import person, write_csv

STORY_START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
"""When the story's incident is reported."""
RITA, DORA = RequestContext(actor="rita"), RequestContext(actor="dora")


def send_all(rt: Runtime) -> None:
    """Send every due notice to a local capture server."""
    rt.settle()
    mailbox = rt.mailbox()
    server = CaptureServer(mailbox).start()
    try:
        asyncio.run(rt.dispatcher(SmtpTarget("127.0.0.1", server.port)).run())
    finally:
        server.stop()
        mailbox.close()
    rt.settle()


def record_story(rt: Runtime, clock: ManualClock, work: Path) -> UUID:
    """Record the story on ``rt`` (whose clock is ``clock``, at :data:`STORY_START`); the
    clock ends on the second day, the incident still open. Returns the incident's id."""
    t0 = clock.current
    clock.current = t0 - timedelta(days=2)
    laptop = rt.app.incidents.report_incident(
        {
            "title": "Laptop stolen from a car at the airport (encrypted, remote wipe confirmed)",
            "reporter": "it-helpdesk",
            "incident_type": "lost_or_stolen_device",
            "discovered_at": clock.current - timedelta(hours=3),
        },
        RITA,
    ).id
    rt.app.incidents.triage_incident(
        laptop, {"severity": "low", "personal_data_breach": "no"}, RITA
    )
    clock.advance(hours=5)
    rt.app.incidents.close_incident(laptop, {"resolution": "Disk encrypted; wiped remotely"}, RITA)
    clock.current = t0
    incident = rt.app.incidents.report_incident(
        {
            "title": "Careers portal leak",
            "reporter": "soc",
            "incident_type": "web_application_exfiltration",
            "occurred_at": t0 - timedelta(hours=9),
            "discovered_at": t0 - timedelta(hours=4),
            "aware_at": t0 - timedelta(hours=1),
        },
        RITA,
    ).id
    clock.advance(minutes=40)
    rt.app.assessment.assess_impact(incident, PORTAL_LEAK, dpo_of(rt, DORA))
    rt.app.incidents.triage_incident(
        incident, {"severity": "high", "personal_data_breach": "yes"}, RITA
    )
    rt.settle()
    tasks = sorted(
        (r for r in rt.tasks.rows(clock.current, incident_id=incident) if r["mandatory"]),
        key=lambda r: r["due_at"],
    )
    for hours, row in zip((2, 3, 5, 9), tasks, strict=False):
        clock.current = t0 + timedelta(hours=hours)
        if row["status"] != TaskStatus.DONE.value:
            rt.app.containment.complete_task(UUID(row["task_id"]), {"outcome": "done"}, RITA)
    clock.current = t0 + timedelta(hours=10)
    rt.app.incidents.add_note(
        incident, {"text": "Vendor confirms the export endpoint is closed"}, RITA
    )
    clock.current = t0 + timedelta(hours=12)
    rt.app.incidents.report_incident(
        {
            "title": "Payroll export emailed to the wrong customer's shared mailbox",
            "reporter": "payroll",
            "incident_type": "misdirected_communication",
            "discovered_at": clock.current - timedelta(hours=1),
            "aware_at": clock.current - timedelta(minutes=30),
        },
        RITA,
    )
    clock.current = t0 + timedelta(hours=20)
    rt.app.incidents.amend_facts(
        incident,
        {"aware_at": t0 - timedelta(hours=3), "reason": "the SOC ticket shows an earlier alert"},
        RITA,
    )
    clock.current = t0 + timedelta(hours=24)
    rt.app.people.import_people(
        incident, write_csv(work / "people.csv", [person(i) for i in range(40)]), RITA
    )
    campaign = rt.app.notifications.draft_campaign(
        incident,
        {
            "audience": "people",
            "nature": "CVs were downloaded from our careers portal.",
            "consequences": "Targeted phishing is possible.",
            "measures": "The endpoint is closed.",
            "translations": {"zh-CN": ZH_CN},
        },
        RITA,
    )
    rt.app.notifications.preview_campaign(campaign.id, DORA)
    clock.current = t0 + timedelta(hours=26)
    rt.app.notifications.approve_campaign(campaign.id, DORA)
    rt.app.notifications.start_dispatch(campaign.id, RITA)
    send_all(rt)
    clock.current = t0 + timedelta(hours=30)
    rt.app.assessment.decide_obligation(
        incident,
        {
            "obligation": "eu_gdpr/supervisory_authority",
            "decision": "notified",
            "reason": "filed through the authority's portal",
            "notified_at": clock.current,
            "reference": "BfDI-2026-4411",
        },
        DORA,
    )
    rt.settle()
    clock.current = t0 + timedelta(hours=34)
    return incident
