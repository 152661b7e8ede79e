"""The task board: every containment task with its state, and queries per incident and owner.

Overdue and blocked-by-open-tasks are worked out when the view is read (they depend on the
clock and on other rows); the rows themselves only hold what the log says.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from events.base import DomainEvent
from events.containment import (
    FINISHED,
    TaskAssigned,
    TaskBlocked,
    TaskCancelled,
    TaskCompleted,
    TaskDueChanged,
    TaskDueMoved,
    TaskEvent,
    TaskOpened,
    TaskReopened,
    TaskStarted,
    TaskStatus,
    TaskUnblocked,
)
from events.incident import IncidentFactsAmended, IncidentReported
from services.projections.prefixes import resolve_prefix
from services.projections.schema import Row, Table, ViewTransaction, db_time
from services.projections.store import ViewStore

TASKS = Table(
    name="tasks",
    columns={
        "task_id": "TEXT NOT NULL",
        "incident_id": "TEXT NOT NULL",
        "title": "TEXT NOT NULL",
        "owner": "TEXT",
        "priority": "TEXT NOT NULL",
        "due_at": "TEXT NOT NULL",
        "mandatory": "INTEGER NOT NULL",
        "status": "TEXT NOT NULL",
        "blocked_by": "TEXT NOT NULL",
        "blocked_reason": "TEXT",
        "playbook": "TEXT",
        "playbook_version": "INTEGER",
        "step": "TEXT",
        "opened_at": "TEXT NOT NULL",
        "started_at": "TEXT",
        "completed_at": "TEXT",
        "completed_by": "TEXT",
        "outcome": "TEXT",
        "evidence": "TEXT NOT NULL",
        "last_change_at": "TEXT NOT NULL",
        "version": "INTEGER NOT NULL",
    },
    key=("task_id",),
    indexes=(("incident_id", "due_at"), ("owner", "due_at")),
)
TITLES = Table(
    name="task_incidents",
    columns={"incident_id": "TEXT NOT NULL", "title": "TEXT NOT NULL"},
    key=("incident_id",),
)
PRIORITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


class TasksProjection:
    """Keeps the task board in step with task events."""

    name = "tasks"
    version = 1
    tables: Sequence[Table] = (TASKS, TITLES)
    handles: tuple[type[DomainEvent], ...] = (
        IncidentReported,
        IncidentFactsAmended,
        TaskOpened,
        TaskEvent,
    )

    def process(self, event: DomainEvent, position: int, tx: ViewTransaction) -> None:
        """Apply one event."""
        if isinstance(event, IncidentReported):
            tx.upsert(TITLES.name, {"incident_id": str(event.originator_id), "title": event.title})
            return
        if isinstance(event, IncidentFactsAmended) and event.title is not None:
            tx.upsert(TITLES.name, {"incident_id": str(event.originator_id), "title": event.title})
            return
        key = {"task_id": str(event.originator_id)}
        common = {"last_change_at": db_time(event.timestamp), "version": event.originator_version}
        if isinstance(event, TaskOpened):
            origin = event.origin
            tx.upsert(
                TASKS.name,
                {
                    **key,
                    **common,
                    "incident_id": str(event.incident_id),
                    "title": event.title,
                    "owner": event.owner,
                    "priority": event.priority.value,
                    "due_at": db_time(event.due_at),
                    "mandatory": int(event.mandatory),
                    "status": TaskStatus.OPEN.value,
                    "blocked_by": ",".join(str(b) for b in event.blocked_by),
                    "blocked_reason": None,
                    "playbook": origin.playbook if origin else None,
                    "playbook_version": origin.version if origin else None,
                    "step": origin.step if origin else None,
                    "opened_at": db_time(event.timestamp),
                    "started_at": None,
                    "completed_at": None,
                    "completed_by": None,
                    "outcome": None,
                    "evidence": "[]",
                },
            )
            return
        if not isinstance(event, TaskEvent):
            return
        changes: dict[str, Any] = {}
        if isinstance(event, TaskAssigned):
            changes = {"owner": event.owner}
        elif isinstance(event, TaskStarted):
            changes = {
                "status": TaskStatus.IN_PROGRESS.value,
                "started_at": db_time(event.timestamp),
            }
        elif isinstance(event, TaskBlocked):
            changes = {"status": TaskStatus.BLOCKED.value, "blocked_reason": event.reason}
        elif isinstance(event, TaskUnblocked):
            changes = {"status": event.resume_status.value, "blocked_reason": None}
        elif isinstance(event, TaskCompleted):
            changes = {
                "status": TaskStatus.DONE.value,
                "completed_at": db_time(event.timestamp),
                "completed_by": event.actor,
                "outcome": event.outcome,
                "evidence": json.dumps([e.model_dump(mode="json") for e in event.evidence]),
            }
        elif isinstance(event, TaskReopened):
            changes = {
                "status": TaskStatus.OPEN.value,
                "completed_at": None,
                "completed_by": None,
                "outcome": None,
            }
        elif isinstance(event, TaskDueChanged | TaskDueMoved):
            changes = {"due_at": db_time(event.due_at)}
        elif isinstance(event, TaskCancelled):
            changes = {"status": TaskStatus.CANCELLED.value}
        tx.update(TASKS.name, key, {**changes, **common})


class Tasks:
    """Reads the task board."""

    def __init__(self, store: ViewStore) -> None:
        self.store = store

    def rows(
        self,
        now: datetime,
        *,
        incident_id: UUID | None = None,
        owner: str | None = None,
        overdue_only: bool = False,
    ) -> list[Row]:
        """Tasks ordered by due time, each marked ``overdue`` and ``waiting_on`` (the ids of
        unfinished tasks it waits for)."""
        where: list[str] = []
        params: list[Any] = []
        if incident_id is not None:
            where.append("t.incident_id = ?")
            params.append(str(incident_id))
        if owner is not None:
            where.append("t.owner = ?")
            params.append(owner)
        sql = (
            "SELECT t.*, i.title AS incident_title FROM tasks t "
            "LEFT JOIN task_incidents i ON i.incident_id = t.incident_id"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.store.query(sql + " ORDER BY t.due_at, t.task_id", params)
        statuses = self._statuses({b for r in rows for b in _ids(r["blocked_by"])})
        finished = {s.value for s in FINISHED}
        moment = db_time(now)
        out = []
        for row in rows:
            waiting = [b for b in _ids(row["blocked_by"]) if statuses.get(b) not in finished]
            overdue = row["status"] not in finished and row["due_at"] < (moment or "")
            if overdue_only and not overdue:
                continue
            out.append({**row, "waiting_on": waiting, "overdue": overdue})
        return out

    def page(
        self,
        now: datetime,
        *,
        after: tuple[str, str] | None = None,
        limit: int = 50,
        incident_id: UUID | None = None,
        owner: str | None = None,
        overdue_only: bool = False,
    ) -> list[Row]:
        """One page of :meth:`rows` (by due time, then id) after the task keyed ``after``
        (due_at, task_id), filtered in the query so a page is never short."""
        finished = [s.value for s in FINISHED]
        where: list[str] = []
        params: list[Any] = []
        if incident_id is not None:
            where.append("t.incident_id = ?")
            params.append(str(incident_id))
        if owner is not None:
            where.append("t.owner = ?")
            params.append(owner)
        if overdue_only:
            where.append(f"t.status NOT IN ({', '.join('?' for _ in finished)}) AND t.due_at < ?")
            params.extend([*finished, db_time(now)])
        if after is not None:
            where.append("(t.due_at, t.task_id) > (?, ?)")
            params.extend(after)
        sql = (
            "SELECT t.*, i.title AS incident_title FROM tasks t "
            "LEFT JOIN task_incidents i ON i.incident_id = t.incident_id"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.store.query(sql + " ORDER BY t.due_at, t.task_id LIMIT ?", [*params, limit])
        statuses = self._statuses({b for r in rows for b in _ids(r["blocked_by"])})
        moment = db_time(now) or ""
        return [
            {
                **row,
                "waiting_on": [
                    b for b in _ids(row["blocked_by"]) if statuses.get(b) not in finished
                ],
                "overdue": row["status"] not in finished and row["due_at"] < moment,
            }
            for row in rows
        ]

    def _statuses(self, ids: set[str]) -> dict[str, str]:
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        rows = self.store.query(
            f"SELECT task_id, status FROM tasks WHERE task_id IN ({marks})", list(ids)
        )
        return {r["task_id"]: r["status"] for r in rows}

    def progress(self, incident_id: UUID) -> tuple[int, int]:
        """(mandatory tasks done, mandatory tasks not cancelled) of an incident."""
        [row] = self.store.query(
            "SELECT SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END) AS done, "
            "SUM(CASE WHEN status != 'cancelled' THEN 1 ELSE 0 END) AS total "
            "FROM tasks WHERE incident_id = ? AND mandatory = 1",
            [str(incident_id)],
        )
        return int(row["done"] or 0), int(row["total"] or 0)

    def resolve(self, text: str) -> UUID:
        """The task whose id is ``text`` or starts with it; refuse ambiguity."""
        return resolve_prefix(self.store, "tasks", "task_id", text, field="task", noun="task")


def _ids(text: str) -> list[str]:
    return [t for t in text.split(",") if t]
