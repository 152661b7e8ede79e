"""The incident board: one row per incident with its headline facts, and queries on it.

The board reads only its own tables. Containment progress comes from the task events (one
``board_tasks`` row per mandatory task, counted when read: each row is written from one
task's events, so workers applying different parts of the log never contend for a count);
the next open regulatory deadline comes from the incident's obligation evaluations and
decisions, kept on the incident's row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from events.assessment import DecisionKind
from events.base import DomainEvent
from events.containment import (
    TaskBlocked,
    TaskCancelled,
    TaskCompleted,
    TaskEvent,
    TaskOpened,
    TaskReopened,
    TaskStarted,
    TaskStatus,
    TaskUnblocked,
)
from events.incident import (
    ContainmentLost,
    ContainmentReached,
    ImpactAssessed,
    IncidentClosed,
    IncidentEvent,
    IncidentFactsAmended,
    IncidentOwnerAssigned,
    IncidentReopened,
    IncidentReported,
    IncidentTriaged,
    ObligationDecided,
    ObligationsEvaluated,
)
from events.values import (
    IncidentStatus,
    Severity,
    SeveritySource,
    severity_of_band,
    shown_severity,
)
from services.projections.prefixes import resolve_prefix
from services.projections.schema import Row, Table, ViewTransaction, db_time
from services.projections.store import ViewStore

BOARD = Table(
    name="board",
    columns={
        "incident_id": "TEXT NOT NULL",
        "title": "TEXT NOT NULL",
        "incident_type": "TEXT NOT NULL",
        "severity": "TEXT",
        "initial_severity": "TEXT",
        "severity_source": "TEXT",
        "personal_data_breach": "TEXT NOT NULL",
        "status": "TEXT NOT NULL",
        "reported_at": "TEXT NOT NULL",
        "occurred_at": "TEXT",
        "discovered_at": "TEXT NOT NULL",
        "aware_at": "TEXT",
        "last_change_at": "TEXT NOT NULL",
        "version": "INTEGER NOT NULL",
        "containment_reached_at": "TEXT",
        "time_to_contain_seconds": "REAL",
        "reported_by": "TEXT NOT NULL",
        "owner": "TEXT",
        "next_deadline": "TEXT",
        "next_deadline_regime": "TEXT",
    },
    key=("incident_id",),
    indexes=(
        ("reported_at", "incident_id"),
        ("status", "reported_at", "incident_id"),
        ("reported_by", "reported_at", "incident_id"),
        ("severity", "reported_at", "incident_id"),
    ),
)
BOARD_TASKS = Table(
    name="board_tasks",
    columns={
        "task_id": "TEXT NOT NULL",
        "incident_id": "TEXT NOT NULL",
        "status": "TEXT NOT NULL",
    },
    key=("task_id",),
    indexes=(("incident_id", "status"),),
)
"""Every mandatory containment task with its status (what the progress counts)."""
BOARD_OBLIGATIONS = Table(
    name="board_obligations",
    columns={
        "incident_id": "TEXT NOT NULL",
        "obligation_id": "TEXT NOT NULL",
        "regime_name": "TEXT",
        "deadline": "TEXT",
        "settled": "INTEGER NOT NULL",
    },
    key=("incident_id", "obligation_id"),
)
"""Per incident, the obligations of its current evaluation that are triggered, not exempt
and have a deadline (``deadline`` set), and those a decision settled (``settled``: notified,
or not notifying), whether evaluated now or not: a decision outlives a re-evaluation."""

_SHOWN = tuple(c for c in BOARD.columns if c not in ("next_deadline", "next_deadline_regime"))
"""The board columns :meth:`Board.rows` returns (the next deadline is shown by pages)."""
_SETTLING = (DecisionKind.NOTIFIED, DecisionKind.DO_NOT_NOTIFY)
_TASK_STATUS: dict[type[TaskEvent], TaskStatus] = {
    TaskStarted: TaskStatus.IN_PROGRESS,
    TaskBlocked: TaskStatus.BLOCKED,
    TaskCompleted: TaskStatus.DONE,
    TaskReopened: TaskStatus.OPEN,
    TaskCancelled: TaskStatus.CANCELLED,
}


def severity_columns(initial: Severity | None, assessed: Severity | None) -> dict[str, Any]:
    """The board's severity columns: the one severity people see (by
    :func:`events.values.shown_severity`), where it comes from, and the triage estimate."""
    shown, source = shown_severity(initial, assessed)
    return {
        "severity": shown.value if shown else None,
        "severity_source": source.value if source else None,
        "initial_severity": initial.value if initial else None,
    }


def _row_severities(row: Row | None) -> tuple[Severity | None, Severity | None]:
    """The triage estimate and the assessed severity a board row holds."""
    if row is None:
        return None, None
    initial = Severity(row["initial_severity"]) if row["initial_severity"] else None
    assessed = (
        Severity(row["severity"])
        if row["severity_source"] == SeveritySource.ASSESSMENT.value
        else None
    )
    return initial, assessed


def _task_status(event: TaskEvent) -> str | None:
    """The status a task event leaves its task in (None: the event does not change it)."""
    if isinstance(event, TaskUnblocked):
        return event.resume_status.value
    status = _TASK_STATUS.get(type(event))
    return status.value if status is not None else None


def _next_deadline(incident: str, tx: ViewTransaction) -> dict[str, Any]:
    """The board's next-deadline columns: the earliest deadline of an open obligation
    (triggered, not exempt, not settled by a decision) and its regime."""
    open_ = [
        (r["deadline"], r["regime_name"])
        for r in tx.select(BOARD_OBLIGATIONS.name, {"incident_id": incident})
        if r["deadline"] is not None and not r["settled"]
    ]
    deadline, regime = min(open_) if open_ else (None, None)
    return {"next_deadline": deadline, "next_deadline_regime": regime}


def _evaluated(incident: str, event: ObligationsEvaluated, tx: ViewTransaction) -> None:
    """Replace the incident's evaluated obligations, keeping the decisions recorded."""
    settled: dict[str, int] = {}
    for row in tx.select(BOARD_OBLIGATIONS.name, {"incident_id": incident}):
        key = {"incident_id": incident, "obligation_id": row["obligation_id"]}
        if row["settled"]:
            settled[row["obligation_id"]] = 1
            tx.update(BOARD_OBLIGATIONS.name, key, {"regime_name": None, "deadline": None})
        else:
            tx.delete(BOARD_OBLIGATIONS.name, key)
    for o in event.evaluation.obligations:
        if not o.triggered or o.exemption is not None or o.deadline is None:
            continue
        tx.upsert(
            BOARD_OBLIGATIONS.name,
            {
                "incident_id": incident,
                "obligation_id": o.id,
                "regime_name": o.regime_name,
                "deadline": db_time(o.deadline),
                "settled": settled.get(o.id, 0),
            },
        )


def _decided(incident: str, event: ObligationDecided, tx: ViewTransaction) -> None:
    """Record whether the latest decision on an obligation settles it (a decision to
    notify leaves it open, as no decision does)."""
    key = {"incident_id": incident, "obligation_id": event.obligation_id}
    settled = int(event.decision in _SETTLING)
    if tx.get(BOARD_OBLIGATIONS.name, key) is not None:
        tx.update(BOARD_OBLIGATIONS.name, key, {"settled": settled})
    elif settled:
        tx.upsert(
            BOARD_OBLIGATIONS.name, {**key, "regime_name": None, "deadline": None, "settled": 1}
        )


class IncidentBoardProjection:
    """Keeps the ``board`` table in step with incident events, and the board's own record
    of mandatory tasks and open obligations in step with task and obligation events."""

    name = "board"
    version = 7
    tables: Sequence[Table] = (BOARD, BOARD_TASKS, BOARD_OBLIGATIONS)
    handles: tuple[type[DomainEvent], ...] = (
        IncidentReported,
        IncidentEvent,
        TaskOpened,
        TaskEvent,
    )

    def process(self, event: DomainEvent, position: int, tx: ViewTransaction) -> None:
        """Apply one incident event to its board row, or one task event to its task."""
        if isinstance(event, TaskOpened):
            if event.mandatory:
                tx.upsert(
                    BOARD_TASKS.name,
                    {
                        "task_id": str(event.originator_id),
                        "incident_id": str(event.incident_id),
                        "status": TaskStatus.OPEN.value,
                    },
                )
            return
        if isinstance(event, TaskEvent):
            status = _task_status(event)
            if status is not None:
                tx.update(
                    BOARD_TASKS.name, {"task_id": str(event.originator_id)}, {"status": status}
                )
            return
        key = {"incident_id": str(event.originator_id)}
        common = {"last_change_at": db_time(event.timestamp), "version": event.originator_version}
        if isinstance(event, IncidentReported):
            tx.upsert(
                BOARD.name,
                {
                    **key,
                    **common,
                    "title": event.title,
                    "incident_type": event.incident_type.value,
                    **severity_columns(None, None),
                    "personal_data_breach": "undetermined",
                    "status": IncidentStatus.OPEN.value,
                    "reported_at": db_time(event.timestamp),
                    "occurred_at": db_time(event.occurred_at),
                    "discovered_at": db_time(event.discovered_at),
                    "aware_at": db_time(event.aware_at),
                    "containment_reached_at": None,
                    "time_to_contain_seconds": None,
                    "reported_by": event.actor,
                    "owner": None,
                    "next_deadline": None,
                    "next_deadline_regime": None,
                },
            )
            return
        changes: dict[str, Any] = {}
        if isinstance(event, IncidentFactsAmended):
            amended = {a.value for a in event.amended}
            if "title" in amended:
                changes["title"] = event.title
            for moment in ("occurred_at", "discovered_at", "aware_at"):
                if moment in amended:
                    changes[moment] = db_time(getattr(event, moment))
        elif isinstance(event, IncidentTriaged):
            _, assessed = _row_severities(tx.get(BOARD.name, key))
            changes = {
                **severity_columns(event.severity, assessed),
                "personal_data_breach": event.personal_data_breach.value,
                "incident_type": event.incident_type.value,
            }
        elif isinstance(event, ImpactAssessed):
            initial, _ = _row_severities(tx.get(BOARD.name, key))
            changes = severity_columns(initial, severity_of_band(event.severity.band))
        elif isinstance(event, IncidentOwnerAssigned):
            changes = {"owner": event.owner}
        elif isinstance(event, IncidentClosed):
            changes = {"status": IncidentStatus.CLOSED.value}
        elif isinstance(event, IncidentReopened):
            changes = {"status": IncidentStatus.OPEN.value}
        elif isinstance(event, ContainmentReached):
            changes = {
                "containment_reached_at": db_time(event.reached_at),
                "time_to_contain_seconds": event.time_to_contain_seconds,
            }
        elif isinstance(event, ContainmentLost):
            changes = {"containment_reached_at": None, "time_to_contain_seconds": None}
        elif isinstance(event, ObligationsEvaluated):
            _evaluated(key["incident_id"], event, tx)
            changes = _next_deadline(key["incident_id"], tx)
        elif isinstance(event, ObligationDecided):
            _decided(key["incident_id"], event, tx)
            changes = _next_deadline(key["incident_id"], tx)
        elif not isinstance(event, IncidentEvent):
            return
        tx.update(BOARD.name, key, {**changes, **common})


_PROGRESS_SQL = (
    "SELECT incident_id, SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END) AS done, "
    "SUM(CASE WHEN status != 'cancelled' THEN 1 ELSE 0 END) AS total FROM board_tasks"
)
"""Mandatory tasks done, and not cancelled, per incident (add a WHERE and GROUP BY)."""


class Board:
    """Reads the incident board."""

    def __init__(self, store: ViewStore) -> None:
        self.store = store

    def rows(
        self,
        *,
        status: str | None = None,
        severity: str | None = None,
        incident_type: str | None = None,
        limit: int | None = None,
        reported_by: str | None = None,
    ) -> list[Row]:
        """Board rows matching the filters, newest report first, with containment progress
        (mandatory tasks done and in all, cancelled ones left out)."""
        where = {
            "status": status,
            "severity": severity,
            "incident_type": incident_type,
            "reported_by": reported_by,
        }
        given = {k: v for k, v in where.items() if v is not None}
        columns = ", ".join(f"b.{c}" for c in _SHOWN)
        sql = (
            f"SELECT {columns}, COALESCE(p.done, 0) AS mandatory_done, "
            "COALESCE(p.total, 0) AS mandatory_total FROM board b LEFT JOIN ("
            f"{_PROGRESS_SQL} GROUP BY incident_id) p ON p.incident_id = b.incident_id"
        )
        if given:
            sql += " WHERE " + " AND ".join(f"b.{k} = ?" for k in given)
        sql += " ORDER BY b.reported_at DESC, b.incident_id"
        params: list[Any] = list(given.values())
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return self.store.query(sql, params)

    def reported_between(self, start: datetime, end: datetime) -> list[Row]:
        """The incidents reported from ``start`` up to (not including) ``end``, with the
        moments and figures team statistics are made of (no titles)."""
        return self.store.query(
            "SELECT incident_id, incident_type, severity, status, reported_at, occurred_at, "
            "discovered_at, aware_at, containment_reached_at, time_to_contain_seconds "
            "FROM board WHERE reported_at >= ? AND reported_at < ? ORDER BY reported_at",
            [db_time(start), db_time(end)],
        )

    def page(
        self,
        *,
        after: tuple[str, str] | None = None,
        limit: int = 50,
        status: str | None = None,
        severity: str | None = None,
        incident_type: str | None = None,
        reported_by: str | None = None,
    ) -> list[Row]:
        """One page of the board, newest report first (ties: higher id first), after the
        row keyed ``after`` (reported_at, incident_id). Each row carries its containment
        progress and its next open regulatory deadline (``next_deadline``,
        ``next_deadline_regime``)."""
        where = {
            "status": status,
            "severity": severity,
            "incident_type": incident_type,
            "reported_by": reported_by,
        }
        given = {k: v for k, v in where.items() if v is not None}
        clauses = [f"b.{k} = ?" for k in given]
        params: list[Any] = list(given.values())
        if after is not None:
            clauses.append("(b.reported_at, b.incident_id) < (?, ?)")
            params.extend(after)
        sql = "SELECT b.* FROM board b"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY b.reported_at DESC, b.incident_id DESC LIMIT ?"
        params.append(limit)
        rows = self.store.query(sql, params)
        if not rows:
            return rows
        ids = [r["incident_id"] for r in rows]
        marks = ",".join("?" for _ in ids)
        progress = {
            r["incident_id"]: r
            for r in self.store.query(
                f"{_PROGRESS_SQL} WHERE incident_id IN ({marks}) GROUP BY incident_id", ids
            )
        }
        out = []
        for row in rows:
            p = progress.get(row["incident_id"], {})
            shown = {c: row[c] for c in _SHOWN}
            out.append(
                {
                    **shown,
                    "mandatory_done": p.get("done") or 0,
                    "mandatory_total": p.get("total") or 0,
                    "next_deadline": row["next_deadline"],
                    "next_deadline_regime": row["next_deadline_regime"],
                }
            )
        return out

    def count(self, *, reported_by: str | None = None) -> int:
        """How many incidents the board holds (those reported by one actor, if given)."""
        if reported_by is None:
            rows = self.store.query("SELECT COUNT(*) AS n FROM board")
        else:
            rows = self.store.query(
                "SELECT COUNT(*) AS n FROM board WHERE reported_by = ?", [reported_by]
            )
        return int(rows[0]["n"])

    def reporter_of(self, incident_id: UUID) -> str | None:
        """Who reported an incident (the actor of its report), or None when unknown."""
        rows = self.store.query(
            "SELECT reported_by FROM board WHERE incident_id = ?", [str(incident_id)]
        )
        return str(rows[0]["reported_by"]) if rows else None

    def owner_of(self, incident_id: UUID) -> str | None:
        """An incident's owner (None: none, or the incident is unknown)."""
        rows = self.store.query("SELECT owner FROM board WHERE incident_id = ?", [str(incident_id)])
        return None if not rows or rows[0]["owner"] is None else str(rows[0]["owner"])

    def resolve(self, text: str) -> UUID:
        """The incident whose id is ``text`` or starts with it; refuse ambiguity."""
        return resolve_prefix(self.store, "board", "incident_id", text, field="id", noun="incident")

    def signature(self) -> Sequence[tuple[Any, ...]]:
        """Every row of the board in key order, for comparing two builds."""
        rows = self.store.query("SELECT * FROM board ORDER BY incident_id")
        return [tuple(r.values()) for r in rows]
