"""The escalation ladder of the distributed mode, driven from the test process: an incident
with GDPR and UK GDPR obligations, an owner and a DPO on duty, two
alarm-clock processes (each with its alert mailer) and two webhook senders, the time of
every process moved through each step of the ladder by a shared clock file (``BREACH_CLOCK_FILE``).

:meth:`LadderRun.walk` moves the clock to each step's moment in turn (one alarm clock killed
with SIGKILL and started again before each step, the webhook receiver down from the 6-hour
step until after the overdue one, UK GDPR decided after its 6-hour step); the ``check_*``
methods then prove what the store and the receiver hold.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

from events.alerts import AlertRaised, SubjectKind
from events.users import Role
from services.access import actors
from services.alerts.mailer import message_id
from services.application.context import RequestContext
from services.bootstrap import Runtime
from services.clock import OffsetFileClock
from services.projections.schema import from_db_time
from services.server.distributed import pipeline
from services.webhooks.payloads import kind_of
from services.webhooks.signing import delivery_id
from tests.support.broker import WorkerProcess
from tests.support.cluster import Cluster
from tests.support.facts import PORTAL_LEAK
from tests.support.reports import report_input
from tests.support.smtp import SinkProcess
from tests.support.webhook_receiver import Receiver

GDPR = "eu_gdpr/supervisory_authority"
UK = "uk_gdpr/ico"
STEPS = {"due_24h": 24, "due_6h": 6, "due_1h": 1, "overdue": 0}
"""The obligation ladder's steps and their hours before the deadline."""
DECIDED_AFTER = "due_6h"
"""UK GDPR is decided once this step was raised for it: its ladder stops there."""
RECEIVER_DOWN = ("due_6h", "overdue")
"""The receiver is stopped before the first of these steps and started after the last."""
KINDS = ["alert.raised", "incident.triaged", "obligation.decided", "assessment.recorded"]
WORKERS = (
    "relay",
    "projections",
    "policies",
    "alerts",
    "alerts",
    "webhooks",
    "webhooks",
)
SCAN = 0.5
"""Seconds between an alarm clock's scans."""
PAST_MOMENT = timedelta(seconds=0.3)
"""How far past a step's moment the clock is moved."""
OPERATOR = RequestContext(actor=actors.operating_system_user(), correlation_id="ladder-op")
RESPONDER = RequestContext(actor="olga", correlation_id="ladder-responder")
DPO = RequestContext(actor="dora", correlation_id="ladder-dpo")
ENV = {
    "BREACH_ALERT_SCAN_SECONDS": str(SCAN),
    "BREACH_WEBHOOK_ALLOW_LOOPBACK": "true",
    "BREACH_WEBHOOK_TIMEOUT": "2",
    "BREACH_WEBHOOK_BACKOFF_SECONDS": "0.1",
    "BREACH_WEBHOOK_BACKOFF_MAX_SECONDS": "0.5",
    # Far beyond the hours the clock moves while the receiver is down: nothing dead-letters.
    "BREACH_WEBHOOK_GIVE_UP_HOURS": "1000",
}
"""What every worker process is given besides the store: short scans and retry pauses."""


@dataclass(frozen=True)
class Raised:
    """One AlertRaised event of the log."""

    position: int
    alert_id: UUID
    subject_kind: str
    subject_id: str
    deadline: datetime
    step: str
    recipients: tuple[str, ...]


@dataclass
class LadderRun:
    """One walk of the ladder against a cluster of worker processes."""

    rt: Runtime
    cluster: Cluster
    receiver: Receiver
    sink: SinkProcess
    clock_file: Path
    timeout: float = 60.0
    """Seconds any one wait may take before the run fails."""
    incident: UUID | None = None
    deadline: datetime | None = None
    subscription: UUID | None = None
    received_while_down: int = -1
    """Requests the receiver had when it was stopped (none may arrive until it is back)."""
    outage_head: int = 0
    """The head of the log just after the receiver was stopped: what was stored after it
    could only arrive once the receiver was back."""
    uk_decided: bool = False
    kills: list[tuple[str, int, int]] = field(default_factory=list)
    """(step about to come, pid killed, pid started) for each alarm clock killed."""
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.cluster.env.update(ENV)
        self.cluster.env["BREACH_CLOCK_FILE"] = str(self.clock_file)
        self.receiver.now = lambda: self.now().timestamp()

    def now(self) -> datetime:
        """The moment every process of the run sees."""
        return self.rt.app.core.clock.now()

    def move_to(self, moment: datetime) -> None:
        """Move the clock of every process so that it now reads ``moment``."""
        ahead = (moment - datetime.now(UTC)).total_seconds()
        OffsetFileClock.write(self.clock_file, ahead)

    def wait(self, condition: Any, what: str) -> None:
        """Poll ``condition()`` until it is true; fail after the run's timeout."""
        deadline = time.monotonic() + self.timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.05)

    def caught_up(self) -> None:
        """Wait until the policies, then the views, handled everything stored so far."""
        progress = pipeline(self.rt)
        progress.wait_policies(self.rt.feed.head(), timeout=self.timeout)
        progress.wait_views(self.rt.feed.head(), timeout=self.timeout)

    def start(self) -> None:
        """Start the workers, subscribe the receiver, and record the incident: reported 12
        hours after awareness, triaged as a breach, assessed (GDPR and UK GDPR, 72 hours
        from awareness), owned by olga, with dora on the DPO duty rota and ada an admin."""
        began = time.monotonic()
        for kind in WORKERS:
            self.cluster.start(kind)
        app = self.rt.app
        for user, role in (("olga", Role.RESPONDER), ("dora", Role.DPO), ("ada", Role.ADMIN)):
            app.users.add_user(user, [role], OPERATOR)
            app.users.set_contact(
                user, {"email": f"{user}@staff.example.org"}, RequestContext(actor=user)
            )
        subscription, secret = app.webhooks.add_webhook(self.receiver.url, KINDS, OPERATOR)
        self.receiver.secret = secret
        self.subscription = subscription.id
        now = self.now()
        aware = now - timedelta(hours=12)
        self.incident = app.incidents.report_incident(
            report_input(
                now,
                occurred_at=aware - timedelta(days=1),
                discovered_at=aware - timedelta(hours=1),
                aware_at=aware,
            ),
            RESPONDER,
        ).id
        app.incidents.triage_incident(
            self.incident, {"severity": "high", "personal_data_breach": "yes"}, RESPONDER
        )
        app.assessment.assess_impact(self.incident, PORTAL_LEAK, DPO)
        app.incidents.assign_owner(self.incident, {"owner": "olga"}, RESPONDER)
        app.alerts.schedule_duty(
            {"user": "dora", "starts_at": now - timedelta(days=1), "ends_at": now + timedelta(30)},
            OPERATOR,
        )
        for alarm in self.cluster.of("alerts"):
            self.started(alarm)
        self.caught_up()
        rows = self.rt.obligations.rows(incident_id=str(self.incident))
        deadlines = {r["obligation_id"]: from_db_time(r["deadline"]) for r in rows if r["deadline"]}
        assert set(deadlines) == {GDPR, UK}, deadlines
        assert deadlines[GDPR] == deadlines[UK] == aware + timedelta(hours=72)
        self.deadline = deadlines[GDPR]
        self.timings["started"] = round(time.monotonic() - began, 2)

    def started(self, worker: WorkerProcess) -> None:
        """Wait until an alarm-clock process logged its start (it scans at once)."""
        self.wait(lambda: worker.lines("alarm_clock.started"), f"alarm clock {worker.log.name}")

    def walk(self) -> None:
        """Move the clock through every step (see the module)."""
        assert self.incident is not None
        assert self.deadline is not None
        for step, hours in STEPS.items():
            began = time.monotonic()
            if step == RECEIVER_DOWN[0]:
                self.stop_receiver()
            self.restart_an_alarm_clock(step)
            self.move_to(self.deadline - timedelta(hours=hours) + PAST_MOMENT)
            self.wait(partial(self.raised_for_open, step), f"the {step} step")
            # Let both alarm clocks scan a few more times at this moment: a second raise of
            # the step, were one possible, would happen now.
            time.sleep(4 * SCAN)
            if step == DECIDED_AFTER:
                self.decide_uk()
            self.timings[step] = round(time.monotonic() - began, 2)
        self.start_receiver()

    def raised_for_open(self, step: str) -> bool:
        """Whether ``step`` was raised for every obligation still open."""
        open_ones = [GDPR] if self.uk_decided else [GDPR, UK]
        return all(step in self.steps_of(o) for o in open_ones)

    def restart_an_alarm_clock(self, step: str) -> None:
        """SIGKILL the longest-running alarm-clock process and start another."""
        victim = self.cluster.of("alerts")[0]
        self.cluster.kill(victim)
        restarted = self.cluster.start("alerts")
        self.started(restarted)
        self.kills.append((step, victim.process.pid, restarted.process.pid))

    def decide_uk(self) -> None:
        """Record that the ICO was notified (UK GDPR's ladder stops); wait until the views
        show it, so no alarm clock still sees the obligation open."""
        assert self.incident is not None
        self.rt.app.assessment.decide_obligation(
            self.incident,
            {
                "obligation": UK,
                "decision": "notified",
                "reason": "Filed with the ICO",
                "notified_at": self.now(),
                "reference": "ICO-1",
            },
            DPO,
        )
        self.uk_decided = True
        self.caught_up()

    def stop_receiver(self) -> None:
        """Take the receiver down (connections refused), once what it was sent arrived."""
        self.wait(lambda: self.expected() == self.arrived(), "the deliveries before the outage")
        self.receiver.stop()
        self.outage_head = self.rt.feed.head()
        with self.receiver.lock:
            self.received_while_down = len(self.receiver.received)

    def start_receiver(self) -> None:
        """Bring the receiver back (nothing reached it while it was down)."""
        with self.receiver.lock:
            assert len(self.receiver.received) == self.received_while_down
        self.receiver.start()

    def alerts(self) -> list[Raised]:
        """Every AlertRaised event of the log, in log order."""
        out = []
        for item in self.rt.feed.read(0, 1_000_000):
            e = item.event
            if isinstance(e, AlertRaised):
                out.append(
                    Raised(
                        item.position,
                        e.originator_id,
                        e.subject_kind.value,
                        e.subject_id,
                        e.deadline,
                        e.step,
                        e.recipients,
                    )
                )
        return out

    def steps_of(self, obligation: str) -> list[str]:
        """The steps raised for an obligation of the incident, in log order."""
        return [
            a.step
            for a in self.alerts()
            if a.subject_kind == SubjectKind.OBLIGATION.value and a.subject_id == obligation
        ]

    def expected(self) -> list[str]:
        """The delivery ids the subscription owes so far, in log order."""
        assert self.subscription is not None
        start = self.rt.app.core.stored_events_of([self.subscription])[0].id
        return [
            str(delivery_id(self.subscription, item.position))
            for item in self.rt.feed.read(start, 1_000_000)
            if kind_of(item.event, lambda k: k.value in KINDS) is not None
        ]

    def arrived(self) -> list[str]:
        """The distinct delivery ids the receiver accepted, in order of first arrival."""
        return [r.delivery_id for r in self.receiver.unique()]

    def check_alerts(self) -> dict[str, Any]:
        """Each step raised once per (subject, deadline): GDPR walked every step, UK GDPR
        stopped at its decision, each for the step's recipients; return what was found."""
        raised = self.alerts()
        per_step = Counter((a.subject_kind, a.subject_id, a.deadline, a.step) for a in raised)
        twice = {k: n for k, n in per_step.items() if n != 1}
        assert not twice, f"steps raised more than once: {twice}"
        assert len({a.alert_id for a in raised}) == len(raised)
        assert self.steps_of(GDPR) == list(STEPS)
        assert self.steps_of(UK) == list(STEPS)[: list(STEPS).index(DECIDED_AFTER) + 1]
        gdpr = {a.step: a.recipients for a in raised if a.subject_id == GDPR}
        assert gdpr == {
            "due_24h": ("olga", "dora"),
            "due_6h": ("olga", "dora"),
            "due_1h": ("olga", "dora"),
            "overdue": ("olga", "dora", "ada"),
        }
        by_process = {
            w.log.name: len(w.lines("alert.raised"))
            for w in self.cluster.started
            if w.kind == "alerts"
        }
        views = self.rt.views.store
        written_here = {n: views.position(n, "") for n in ("obligations", "tasks")}
        assert set(written_here.values()) == {0}, f"views built beside the workers: {written_here}"
        # A process killed between its save and its log line raised one it does not log.
        assert sum(by_process.values()) <= len(raised), by_process
        return {
            "alerts": len(raised),
            "by_kind": dict(Counter(a.subject_kind for a in raised)),
            "raised_by_process": by_process,
        }

    def check_deliveries(self) -> dict[str, Any]:
        """Everything the subscription owes arrived after the outage: the distinct delivery
        ids are exactly the expected ones, first arrivals in log order, every request signed
        (repeats of a delivery id are allowed: delivery is at least once)."""
        expected = self.expected()
        self.wait(lambda: len(self.arrived()) >= len(expected), "every delivery")
        time.sleep(1.0)  # anything more (a delivery of nothing owed) would show now
        assert self.arrived() == expected
        with self.receiver.lock:
            requests = list(self.receiver.received)
        assert all(r.signed for r in requests), [r.answered for r in requests]
        documents = [r.document for r in self.receiver.unique()]
        positions = [d["position"] for d in documents]
        assert positions == sorted(positions)
        assert {d["incident_id"] for d in documents} == {str(self.incident)}
        steps = [
            (d["data"].get("obligation_id") or d["data"].get("task_id"), d["data"]["step"])
            for d in documents
            if d["kind"] == "alert.raised"
        ]
        assert steps == [(a.subject_id, a.step) for a in self.alerts()]
        after = [d for d in documents if d["position"] > self.outage_head]
        kinds = Counter(d["data"].get("step", d["kind"]) for d in after)
        obligations = {"due_6h": 2, "obligation.decided": 1, "due_1h": 1, "overdue": 1}
        assert all(kinds[k] >= n for k, n in obligations.items()), kinds
        return {
            "deliveries": len(expected),
            "requests": len(requests),
            "repeats": len(requests) - len(expected),
            "kinds": dict(Counter(d["kind"] for d in documents)),
            "after_outage": dict(kinds),
        }

    def expected_mail(self) -> dict[str, list[str]]:
        """The alerts each recipient is owed by email, as ``<subject>:<step>`` in log order:
        every obligation alert raised, to each of its recipients."""
        owed: dict[str, list[str]] = {}
        for a in self.alerts():
            if a.subject_kind != SubjectKind.OBLIGATION.value:
                continue
            for user in a.recipients:
                owed.setdefault(user, []).append(f"{a.subject_id}:{a.step}")
        return owed

    def check_mail(self) -> dict[str, Any]:
        """Every recipient of every alert got its email at the SMTP server exactly once
        (by the Message-ID of (alert, user)), and the server got nothing else."""
        domain = self.rt.settings.message_id_domain
        wanted = {
            message_id(a.alert_id, user, domain) for a in self.alerts() for user in a.recipients
        }

        def arrived() -> bool:
            return wanted <= set(self.sink.state().get("ids", []))

        self.wait(arrived, "the alert emails at the SMTP server")
        time.sleep(4 * SCAN)
        state = self.sink.state()
        assert state["duplicates"] == {}, state["duplicates"]
        assert set(state["ids"]) == wanted
        return {"emails": len(wanted), "seen": state["seen"]}
