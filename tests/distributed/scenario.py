"""The scenario of the distributed mode, driven from the test process while worker processes
do the rest: report an incident, triage it as a breach (its playbook's tasks open), assess
the impact, complete the mandatory tasks while the affected people are imported, have a DPO
approve a campaign to all of them and send it with two dispatchers to a real SMTP server.

:meth:`Scenario.run` plays it; :meth:`Scenario.check` then proves the end state: the views
the Kafka projection workers built equal a rebuild of the log into scratch SQLite views,
every stored position reached every view and policy, each notice reached the SMTP server
exactly once, the replay before the assessment shows the earlier state, and the audit chain
verifies.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from events.notifications import Notice, NoticeSent, NoticeStatus
from services.application.context import RequestContext
from services.audit.replay import replay_incident
from services.bootstrap import Runtime
from services.feeds.kafka import partition_of, stream_of, tracked_name
from services.server.distributed import pipeline
from tests.support.broker import BREACH
from tests.support.campaigns import CONTENT
from tests.support.cluster import Cluster
from tests.support.facts import PORTAL_LEAK
from tests.support.identity import dpo_of
from tests.support.people import person, write_csv
from tests.support.reports import report_input
from tests.support.smtp import SinkProcess

RESPONDER = RequestContext(actor="alice", correlation_id="scenario-responder")
DPO = RequestContext(actor="dpo", correlation_id="scenario-dpo")
WORKERS = ("relay", "projections", "projections", "policies", "dispatcher", "dispatcher", "chain")
PLAYBOOK_TASKS = 5
"""Tasks the web application exfiltration playbook opens (4 of them mandatory)."""


def received(sink: SinkProcess) -> dict[str, Any]:
    """What the SMTP server has accepted so far (its last published counts)."""
    try:
        return dict(json.loads(sink.state_file.read_text()))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


@dataclass
class Scenario:
    """One run of the scenario against a cluster of worker processes."""

    rt: Runtime
    cluster: Cluster
    sink: SinkProcess
    work: Path
    people: int = 5000
    timeout: float = 120.0
    """Seconds any one wait may take before the run fails."""
    phase: str = "not started"
    incident: UUID | None = None
    campaign: UUID | None = None
    before_assessment: datetime | None = None
    settled: Counter[str] = field(default_factory=Counter)
    """Uncertain notices settled by the operator: 'delivered' and 'resent'."""
    timings: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time a step of the run (and name the phase the chaos schedule can see)."""
        self.phase = name
        started = time.monotonic()
        yield
        self.timings[name] = round(time.monotonic() - started, 2)

    def caught_up(self, *, views: bool = True) -> int:
        """Wait until the policies handled everything stored so far, then (with ``views``)
        until the views applied that and the policies' reactions; return the head reached."""
        progress = pipeline(self.rt)
        progress.wait_policies(self.rt.feed.head(), timeout=self.timeout)
        head = self.rt.feed.head()
        if views:
            progress.wait_views(head, timeout=self.timeout)
        return head

    def run(self) -> None:
        """Start the workers and play the scenario until the campaign completed."""
        begun = time.monotonic()
        with self.step("workers started"):
            for kind in WORKERS:
                self.cluster.start(kind)
        with ThreadPoolExecutor(2) as pool:
            people_file = pool.submit(
                write_csv, self.work / "people.csv", [person(i) for i in range(self.people)]
            )
            with self.step("reported and triaged"):
                self.report_and_triage()
            with self.step("assessed"):
                self.assess()
            with self.step("tasks completed and people imported"):
                imported = pool.submit(self.import_people, people_file.result())
                self.complete_mandatory_tasks()
                imported.result()
        with self.step("campaign approved and started"):
            self.start_campaign()
        with self.step("campaign sent"):
            self.wait_until_sent()
        self.phase = "done"
        self.timings["scenario"] = round(time.monotonic() - begun, 2)

    def report_and_triage(self) -> None:
        """Report the incident and triage it as a breach; its playbook's tasks open."""
        app = self.rt.app
        self.incident = app.incidents.report_incident(
            report_input(app.core.clock.now(), title="Careers portal leak"), RESPONDER
        ).id
        app.incidents.triage_incident(
            self.incident, {"severity": "high", "personal_data_breach": "yes"}, RESPONDER
        )
        self.caught_up()
        tasks = self.rt.tasks.rows(app.core.clock.now(), incident_id=self.incident)
        assert len(tasks) == PLAYBOOK_TASKS
        assert {t["status"] for t in tasks} == {"open"}

    def assess(self) -> None:
        """Record the impact assessment (remembering the moment just before it)."""
        assert self.incident is not None
        self.before_assessment = self.rt.app.core.clock.now()
        incident = self.rt.app.assessment.assess_impact(self.incident, PORTAL_LEAK, DPO)
        assert incident.state.assessment is not None

    def complete_mandatory_tasks(self) -> None:
        """Complete every mandatory task, each after the tasks it depends on."""
        assert self.incident is not None
        rows = self.rt.tasks.rows(self.rt.app.core.clock.now(), incident_id=self.incident)
        pending = [r for r in rows if r["mandatory"]]
        done: set[str] = set()
        while pending:
            ready = [r for r in pending if set(filter(None, r["blocked_by"].split(","))) <= done]
            assert ready, "a mandatory task waits on a task that is not mandatory"
            for row in ready:
                self.rt.app.containment.complete_task(
                    UUID(row["task_id"]), {"outcome": f"done: {row['step']}"}, RESPONDER
                )
                done.add(row["task_id"])
                pending.remove(row)

    def import_people(self, path: Path) -> None:
        """Import the affected people."""
        assert self.incident is not None
        report = self.rt.app.people.import_people(self.incident, path, RESPONDER)
        assert (report.imported, report.rejected) == (self.people, 0)

    def start_campaign(self) -> None:
        """Draft (responder), preview, approve (DPO) and start the people campaign."""
        assert self.incident is not None
        app = self.rt.app
        campaign = app.notifications.draft_campaign(
            self.incident, {"audience": "people", **CONTENT}, RESPONDER
        )
        app.notifications.preview_campaign(campaign.id, RESPONDER)
        app.notifications.approve_campaign(campaign.id, dpo_of(self.rt, DPO))
        app.notifications.start_dispatch(campaign.id, RESPONDER)
        self.campaign = campaign.id

    def note(self, text: str) -> None:
        """Add a note to the incident as the responder."""
        assert self.incident is not None
        self.rt.app.incidents.add_note(self.incident, {"text": text}, RESPONDER)

    def progress(self) -> dict[str, Any]:
        """The campaign's progress as the notifications view shows it."""
        assert self.campaign is not None
        return self.rt.notifications.progress(self.campaign, self.rt.app.core.clock.now())

    def wait_until_sent(self) -> None:
        """Wait until the campaign completed, settling uncertain notices as they appear."""
        deadline = time.monotonic() + self.timeout
        while (state := self.progress())["status"] != "completed":
            if state["uncertain"]:
                self.settle_uncertain()
            assert time.monotonic() < deadline, f"the campaign did not complete: {state}"
            time.sleep(0.2)

    def settle_uncertain(self) -> None:
        """Settle what a crash left uncertain the way an operator does: look each Message-ID
        up in the SMTP server's record; confirm the ones it received, send the others again."""
        server = self.sink.state()
        delivered = set(server["ids"])
        for row in self.rt.notifications.uncertain():
            notice_id = UUID(row["notice_id"])
            stored = self.rt.app.core.repository.get(notice_id)
            assert isinstance(stored, Notice)
            if stored.state.status is not NoticeStatus.UNCERTAIN:
                continue  # settled already; the view has not shown it yet
            arrived = row["message_id"] in delivered
            self.rt.app.notifications.resolve_uncertain(
                notice_id,
                delivered=arrived,
                reason="looked the Message-ID up in the SMTP relay's log",
                ctx=DPO,
            )
            self.settled["delivered" if arrived else "resent"] += 1

    def quiet(self) -> int:
        """Wait until policies, views and the audit chain handled the whole log and nothing
        new is stored; return the head."""
        deadline = time.monotonic() + self.timeout
        while True:
            head = self.caught_up()
            while self.rt.chain.last()[0] < head:
                assert time.monotonic() < deadline, "the audit chain did not reach the head"
                time.sleep(0.05)
            if self.rt.feed.head() == head:
                return head

    def breach(self, *args: str) -> dict[str, Any]:
        """Run a ``breach`` command on the cluster's store; its JSON output and exit status."""
        done = subprocess.run(
            [str(BREACH), *args, "--json"],
            env=self.cluster.env,
            capture_output=True,
            text=True,
            timeout=self.timeout,
            check=False,
        )
        assert done.stdout, done.stderr
        return {"exit": done.returncode, **json.loads(done.stdout)}

    def check(self) -> dict[str, Any]:
        """Prove the end state (see the module); return what was found, for the report."""
        assert self.incident is not None
        assert self.campaign is not None
        with self.step("quiet"):
            head = self.quiet()
        with self.step("checked"), ThreadPoolExecutor(2) as pool:
            views = pool.submit(self.breach, "views", "rebuild", "--check")
            audit = pool.submit(self.breach, "audit", "verify")
            found = {"head": head, **self.check_positions(head), **self.check_mail()}
            self.check_replay()
            found["views"] = views.result()
            found["audit"] = audit.result()
        assert found["views"] == {"exit": 0, "equal": True, "differences": {}}, found["views"]
        whole_log = {v: self.rt.views.store.position(v) for v in pipeline(self.rt).views}
        assert set(whole_log.values()) == {0}, f"the check wrote the live views: {whole_log}"
        assert found["audit"]["exit"] == 0, found["audit"]
        assert found["audit"]["ok"], found["audit"]
        assert found["audit"]["checked"] == found["events"]
        assert found["audit"]["unverified_tail"] == 0
        return found

    def check_positions(self, head: int) -> dict[str, Any]:
        """Nothing lost: the relay recorded the head, and every view and policy reached, in
        every partition, the last stored position of that partition."""
        progress = pipeline(self.rt)
        partitions = progress.count
        last: dict[int, int] = {}
        events = 0
        senders: Counter[str] = Counter()
        after = 0
        while batch := self.rt.feed.read_raw(after, 5000):
            for n in batch:
                last[partition_of(n.originator_id, partitions)] = n.id
                events += 1
            after = batch[-1].id
        assert after == head
        assert progress.relay() == head
        assert progress.published() == last
        behind = {
            (name, p): (at, progress.view_position(name, stream_of(p)))
            for name in progress.views
            for p, at in last.items()
            if progress.view_position(name, stream_of(p)) != at
        }
        assert not behind, f"views not at the last position of their partitions: {behind}"
        behind = {
            (name, p): (at, self.rt.app.core.tracked_position(tracked_name(name, p)))
            for name in progress.policies
            for p, at in last.items()
            if self.rt.app.core.tracked_position(tracked_name(name, p)) != at
        }
        assert not behind, f"policies not at the last position of their partitions: {behind}"
        for item in self.rt.feed.read(0, head):
            if isinstance(item.event, NoticeSent) and item.event.actor == "dispatcher":
                senders[item.event.correlation_id] += 1
        return {"events": events, "partitions": partitions, "sent_by_run": dict(senders)}

    def check_mail(self) -> dict[str, Any]:
        """Each notice reached the SMTP server exactly once, under its own Message-ID, and the
        campaign completed with every notice sent."""
        assert self.campaign is not None
        server = self.sink.state()
        assert (server["accepted"], server["unique"], server["duplicates"]) == (
            self.people,
            self.people,
            {},
        )
        notices = self.rt.notifications.store.query(
            "SELECT message_id, status FROM notices WHERE campaign_id = ?", [str(self.campaign)]
        )
        assert {n["status"] for n in notices} == {"sent"}
        assert sorted(n["message_id"] for n in notices) == server["ids"]
        state = self.progress()
        assert (state["status"], state["sent"], state["total"]) == (
            "completed",
            self.people,
            self.people,
        )
        return {"smtp": {k: server[k] for k in ("seen", "accepted", "unique")}}

    def check_replay(self) -> None:
        """The incident replayed as of just before the assessment shows that earlier state
        (triaged, tasks open, no assessment, no campaign); replayed now, the later one."""
        assert self.incident is not None
        assert self.before_assessment is not None
        app, notifications = self.rt.app, self.rt.notifications
        before = replay_incident(app, notifications, self.incident, self.before_assessment)
        assert before.exists
        assert before.state is not None
        assert before.state.assessment is None
        assert before.severity is None
        assert before.evaluation is None
        assert len(before.tasks) == PLAYBOOK_TASKS
        assert {t.status for t in before.tasks} == {"open"}
        assert before.campaigns == []
        now = replay_incident(app, notifications, self.incident, app.core.clock.now())
        assert now.state is not None
        assert now.state.assessment is not None
        assert now.severity is not None
        assert {t.status for t in now.tasks if t.mandatory} == {"done"}
        assert [(c.status, c.notices) for c in now.campaigns] == [
            ("completed", {"sent": self.people})
        ]
