"""The alarm clock: scans the open obligations and unfinished mandatory tasks every few
seconds and raises each ladder step that is due, once.

Once, however many scanners run and however often they restart: an alert's id is derived
from (subject, deadline version, step), and the event store refuses a second aggregate
with the same id, so of two scanners raising the same step one saves and the other's save
fails and is skipped. That uniqueness is the tracking record of this policy: what a
tracking record says for an event-driven policy ("this input was handled, with this
effect, in one transaction"), the alert's first event says for a step (its existence is
the record, written in the same transaction as the effect, and checked by the same unique
constraint). Time, not the log, drives the steps, so a log position would not name them.

A scan saves the due alerts in batches, each batch in one transaction (a storm of thousands
of obligations crossing a step at once costs a few commits, not one per alert); a batch
refused because another scanner saved one of its alerts first is saved again without the
alerts found raised (see :meth:`AlertHandlers.raise_alerts`). Who a step names is resolved
once per scan: the DPO on duty at the scan's moment, the holders of each role, and each
incident's owner.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import structlog

from events.alerts import SubjectKind
from events.users import Role
from services.alerts.handlers import AlertHandlers
from services.alerts.ladder import Firing, Ladder, Subject, due_step, responsible
from services.clock import Clock
from services.projections.schema import from_db_time

log = structlog.get_logger()

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

FINISHED_TASKS = ("done", "cancelled")


def obligation_subjects(rows: Iterable[dict[str, Any]]) -> list[Subject]:
    """Ladder subjects from the obligations view's open rows (those with a deadline)."""
    out = []
    for row in rows:
        deadline = from_db_time(row["deadline"])
        if deadline is None:
            continue
        out.append(
            Subject(
                kind=SubjectKind.OBLIGATION,
                incident_id=UUID(row["incident_id"]),
                subject_id=row["obligation_id"],
                deadline=deadline,
                open=row["status"] in ("open", "to_notify"),
            )
        )
    return out


def task_subjects(rows: Iterable[dict[str, Any]]) -> list[Subject]:
    """Ladder subjects from the task board's mandatory tasks."""
    out = []
    for row in rows:
        due = from_db_time(row["due_at"])
        if not row["mandatory"] or due is None:
            continue
        out.append(
            Subject(
                kind=SubjectKind.TASK,
                incident_id=UUID(row["incident_id"]),
                subject_id=row["task_id"],
                deadline=due,
                open=row["status"] not in FINISHED_TASKS,
                owner=row["owner"],
            )
        )
    return out


@dataclass(frozen=True)
class Directory:
    """Where the alarm clock learns who to tell: an incident's owner, the DPO on duty at a
    moment, and the users holding a role."""

    incident_owner: Callable[[UUID], str | None]
    dpo_on_duty: Callable[[datetime], str | None]
    holders: Callable[[Role], list[str]]


def recipients_of(
    names: Sequence[str],
    subject: Subject,
    now: datetime,
    directory: Directory,
) -> tuple[str, ...]:
    """The users a step names, resolved at ``now``, each once, in the step's order."""
    out: list[str] = []
    dpo = directory.dpo_on_duty(now)
    for name in names:
        if name == "owner":
            owner = subject.owner or directory.incident_owner(subject.incident_id)
            found: list[str | None] = [responsible(subject.owner, owner, dpo)]
        elif name == "dpo_on_duty":
            found = [dpo]
        elif name == "admins":
            found = list(directory.holders(Role.ADMIN))
        else:
            found = list(directory.holders(Role(name.removeprefix("role:"))))
        out.extend(u for u in found if u is not None and u not in out)
    return tuple(out)


def remembering(directory: Directory) -> Directory:
    """The same directory, asking each question once (for one scan: its answers hold for
    the scan's moment)."""
    owners: dict[UUID, str | None] = {}
    duty: dict[datetime, str | None] = {}
    roles: dict[Role, list[str]] = {}
    return Directory(
        incident_owner=_once(owners, directory.incident_owner),
        dpo_on_duty=_once(duty, directory.dpo_on_duty),
        holders=_once(roles, directory.holders),
    )


def _once(memo: dict[K, V], ask: Callable[[K], V]) -> Callable[[K], V]:
    def answer(key: K) -> V:
        if key not in memo:
            memo[key] = ask(key)
        return memo[key]

    return answer


class AlarmClock:
    """Raises the due steps of every open subject's ladder; ``subjects`` reads them from the
    obligations view and the task board (brought up to date by it), at a moment."""

    def __init__(
        self,
        alerts: AlertHandlers,
        subjects: Callable[[datetime], list[Subject]],
        directory: Directory,
        ladder: Ladder,
        clock: Clock,
        *,
        late_after: timedelta,
        batch_size: int = 500,
    ) -> None:
        self.alerts = alerts
        self.subjects = subjects
        self.directory = directory
        self.ladder = ladder
        self.clock = clock
        self.late_after = late_after
        self.batch_size = batch_size

    def due(self, now: datetime) -> list[Firing]:
        """The steps due at ``now`` (raised before or not)."""
        out = []
        for subject in self.subjects(now):
            firing = due_step(self.ladder.steps(subject.kind), subject, now, self.late_after)
            if firing is not None:
                out.append(firing)
        return out

    def scan(self) -> list[UUID]:
        """Raise every due step not raised yet; return the ids of the alerts raised here."""
        now = self.clock.now()
        firings = self.due(now)
        if not firings:
            return []
        done = self.alerts.raised([f.alert_id for f in firings])
        todo = [f for f in firings if f.alert_id not in done]
        directory = remembering(self.directory)
        raised: list[UUID] = []
        for start in range(0, len(todo), self.batch_size):
            batch = todo[start : start + self.batch_size]
            recipients = {
                f.alert_id: recipients_of(f.step.recipients, f.subject, now, directory)
                for f in batch
            }
            saved = set(self.alerts.raise_alerts(batch, recipients, now))
            for firing in batch:
                if firing.alert_id not in saved:
                    log.debug("alert.raised_elsewhere", alert_id=str(firing.alert_id))
                    continue
                raised.append(firing.alert_id)
                log.info(
                    "alert.raised",
                    alert_id=str(firing.alert_id),
                    incident_id=str(firing.subject.incident_id),
                    step=firing.step.step,
                    late=firing.late,
                )
        return raised

    def run(self, stop: threading.Event, interval: float) -> None:
        """Scan at once, then every ``interval`` seconds until ``stop`` is set."""
        log.info("alarm_clock.started", interval=interval)
        while not stop.is_set():
            self.scan()
            stop.wait(interval)
        log.info("alarm_clock.stopped")
