"""The obligations view: every obligation of every assessed incident, with its decision.

Rows hold only what the log says (deadlines, decisions, statuses); how much time is left is
computed when the view is read, against the clock, so a rebuild always gives equal rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from events.assessment import DecisionKind, Obligation
from events.base import DomainEvent
from events.incident import (
    IncidentFactsAmended,
    IncidentReported,
    ObligationDecided,
    ObligationsEvaluated,
)
from services.projections.schema import Row, Table, ViewTransaction, db_time, from_db_time
from services.projections.store import ViewStore
from services.storage.sql import WIDE_CHUNK, chunks, marks

OBLIGATIONS = Table(
    name="obligations",
    columns={
        "incident_id": "TEXT NOT NULL",
        "obligation_id": "TEXT NOT NULL",
        "incident_title": "TEXT NOT NULL",
        "regime": "TEXT NOT NULL",
        "regime_name": "TEXT NOT NULL",
        "party": "TEXT NOT NULL",
        "audience": "TEXT NOT NULL",
        "jurisdictions": "TEXT NOT NULL",
        "people": "INTEGER NOT NULL",
        "triggered": "INTEGER NOT NULL",
        "exemption": "TEXT",
        "condition": "TEXT NOT NULL",
        "clock": "TEXT",
        "clock_start": "TEXT",
        "deadline": "TEXT",
        "deadline_text": "TEXT NOT NULL",
        "provisional": "TEXT",
        "pending": "TEXT",
        "verified": "TEXT NOT NULL",
        "rule_set": "TEXT NOT NULL",
        "status": "TEXT NOT NULL",
        "decision": "TEXT",
        "decision_reason": "TEXT",
        "decided_by": "TEXT",
        "decided_at": "TEXT",
        "notified_at": "TEXT",
        "reference": "TEXT",
    },
    key=("incident_id", "obligation_id"),
    indexes=(("status", "deadline"),),
)
DECISIONS = Table(
    name="obligation_decisions",
    columns={
        "incident_id": "TEXT NOT NULL",
        "obligation_id": "TEXT NOT NULL",
        "decision": "TEXT NOT NULL",
        "decision_reason": "TEXT NOT NULL",
        "decided_by": "TEXT NOT NULL",
        "decided_at": "TEXT NOT NULL",
        "notified_at": "TEXT",
        "reference": "TEXT",
    },
    key=("incident_id", "obligation_id"),
)
TITLES = Table(
    name="obligation_incidents",
    columns={"incident_id": "TEXT NOT NULL", "title": "TEXT NOT NULL"},
    key=("incident_id",),
)

OPEN_STATUSES = ("open", "to_notify")


def status_of(
    triggered: bool, exemption: str | None, decision: Row | None, deadline: str | None
) -> str:
    """The recorded status of an obligation (independent of the current time)."""
    if not triggered:
        return "not_triggered"
    if exemption is not None:
        return "exempt"
    if decision is None:
        return "open"
    kind = decision["decision"]
    if kind == DecisionKind.NOTIFIED.value:
        late = deadline is not None and decision["notified_at"] > deadline
        return "notified_late" if late else "notified"
    if kind == DecisionKind.DO_NOT_NOTIFY.value:
        return "not_notifying"
    return "to_notify"


class ObligationsProjection:
    """Keeps the obligations of every incident in step with evaluations and decisions."""

    name = "obligations"
    version = 1
    tables: Sequence[Table] = (OBLIGATIONS, DECISIONS, TITLES)
    handles: tuple[type[DomainEvent], ...] = (
        IncidentReported,
        IncidentFactsAmended,
        ObligationsEvaluated,
        ObligationDecided,
    )

    def process(self, event: DomainEvent, position: int, tx: ViewTransaction) -> None:
        """Apply one event."""
        incident = str(event.originator_id)
        if isinstance(event, IncidentReported):
            tx.upsert(TITLES.name, {"incident_id": incident, "title": event.title})
        elif isinstance(event, IncidentFactsAmended) and event.title is not None:
            tx.upsert(TITLES.name, {"incident_id": incident, "title": event.title})
            for row in tx.select(OBLIGATIONS.name, {"incident_id": incident}):
                key = {"incident_id": incident, "obligation_id": row["obligation_id"]}
                tx.update(OBLIGATIONS.name, key, {"incident_title": event.title})
        elif isinstance(event, ObligationsEvaluated):
            self._replace(incident, event, tx)
        elif isinstance(event, ObligationDecided):
            self._decide(incident, event, tx)

    def _replace(self, incident: str, event: ObligationsEvaluated, tx: ViewTransaction) -> None:
        for row in tx.select(OBLIGATIONS.name, {"incident_id": incident}):
            tx.delete(
                OBLIGATIONS.name, {"incident_id": incident, "obligation_id": row["obligation_id"]}
            )
        title_row = tx.get(TITLES.name, {"incident_id": incident})
        title = title_row["title"] if title_row else ""
        for o in event.evaluation.obligations:
            decision = tx.get(DECISIONS.name, {"incident_id": incident, "obligation_id": o.id})
            tx.upsert(
                OBLIGATIONS.name, _row(incident, title, event.evaluation.rule_set, o, decision)
            )

    def _decide(self, incident: str, event: ObligationDecided, tx: ViewTransaction) -> None:
        key = {"incident_id": incident, "obligation_id": event.obligation_id}
        decision = {
            **key,
            "decision": event.decision.value,
            "decision_reason": event.reason,
            "decided_by": event.actor,
            "decided_at": db_time(event.timestamp),
            "notified_at": db_time(event.notified_at),
            "reference": event.reference,
        }
        tx.upsert(DECISIONS.name, decision)
        row = tx.get(OBLIGATIONS.name, key)
        if row is not None:
            status = status_of(bool(row["triggered"]), row["exemption"], decision, row["deadline"])
            tx.update(
                OBLIGATIONS.name,
                key,
                {k: v for k, v in decision.items() if k not in key} | {"status": status},
            )


def _row(incident: str, title: str, rule_set: str, o: Obligation, decision: Row | None) -> Row:
    deadline = db_time(o.deadline)
    return {
        "incident_id": incident,
        "obligation_id": o.id,
        "incident_title": title,
        "regime": o.regime,
        "regime_name": o.regime_name,
        "party": o.party,
        "audience": o.audience.value,
        "jurisdictions": ",".join(o.jurisdictions),
        "people": o.people,
        "triggered": int(o.triggered),
        "exemption": o.exemption,
        "condition": o.condition,
        "clock": o.clock,
        "clock_start": db_time(o.clock_start),
        "deadline": deadline,
        "deadline_text": o.deadline_text,
        "provisional": o.provisional,
        "pending": o.pending,
        "verified": o.verified,
        "rule_set": rule_set,
        "status": status_of(o.triggered, o.exemption, decision, deadline),
        "decision": decision["decision"] if decision else None,
        "decision_reason": decision["decision_reason"] if decision else None,
        "decided_by": decision["decided_by"] if decision else None,
        "decided_at": decision["decided_at"] if decision else None,
        "notified_at": decision["notified_at"] if decision else None,
        "reference": decision["reference"] if decision else None,
    }


@dataclass(frozen=True)
class Urgency:
    """How pressing an open obligation is at a given moment."""

    state: str
    seconds_left: float | None


def urgency(row: Row, now: datetime, due_soon: timedelta) -> Urgency:
    """overdue, due_soon, on_track, waiting (clock not started) or no_deadline for open
    obligations; done for decided ones; n/a for those not triggered or exempt."""
    if row["status"] in ("not_triggered", "exempt"):
        return Urgency("n/a", None)
    if row["status"] not in OPEN_STATUSES:
        return Urgency("done", None)
    deadline = from_db_time(row["deadline"])
    if deadline is None:
        return Urgency("waiting" if row["pending"] else "no_deadline", None)
    left = (deadline - now).total_seconds()
    if left < 0:
        return Urgency("overdue", left)
    if left <= due_soon.total_seconds():
        return Urgency("due_soon", left)
    return Urgency("on_track", left)


_ORDER = {
    "overdue": 0,
    "due_soon": 1,
    "on_track": 2,
    "waiting": 3,
    "no_deadline": 4,
    "done": 5,
    "n/a": 6,
}


class Obligations:
    """Reads the obligations view."""

    def __init__(self, store: ViewStore, due_soon: timedelta = timedelta(hours=24)) -> None:
        self.store = store
        self.due_soon = due_soon

    def rows(self, *, incident_id: str | None = None, open_only: bool = False) -> list[Row]:
        """Obligation rows, of one incident or all, optionally only the open ones."""
        sql = "SELECT * FROM obligations"
        where: list[str] = []
        params: list[Any] = []
        if incident_id is not None:
            where.append("incident_id = ?")
            params.append(incident_id)
        if open_only:
            where.append(f"status IN ({', '.join('?' for _ in OPEN_STATUSES)})")
            params.extend(OPEN_STATUSES)
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self.store.query(sql + " ORDER BY incident_id, obligation_id", params)

    def deadlines_by_regime(self, incident_ids: Sequence[str], now: datetime) -> list[Row]:
        """For the incidents given, each regime's due obligations with a deadline: how many
        were notified in time (``met``), late or not at all by a deadline now past
        (``missed``), and how many are still open before their deadline (``pending``)."""
        late = f"status IN ({', '.join('?' for _ in OPEN_STATUSES)}) AND deadline < ?"
        still = f"status IN ({', '.join('?' for _ in OPEN_STATUSES)}) AND deadline >= ?"
        moment = db_time(now)
        totals: dict[tuple[str, str], dict[str, Any]] = {}
        for part in chunks(incident_ids, WIDE_CHUNK):
            rows = self.store.query(
                "SELECT regime, regime_name, "
                "SUM(CASE WHEN status = 'notified' THEN 1 ELSE 0 END) AS met, "
                f"SUM(CASE WHEN status = 'notified_late' OR ({late}) THEN 1 ELSE 0 END) AS missed, "
                f"SUM(CASE WHEN {still} THEN 1 ELSE 0 END) AS pending "
                "FROM obligations WHERE triggered = 1 AND deadline IS NOT NULL "
                f"AND incident_id IN ({marks(len(part))}) GROUP BY regime, regime_name",
                [*OPEN_STATUSES, moment, *OPEN_STATUSES, moment, *part],
            )
            for r in rows:
                held = totals.setdefault(
                    (r["regime"], r["regime_name"]),
                    {
                        "regime": r["regime"],
                        "regime_name": r["regime_name"],
                        "met": 0,
                        "missed": 0,
                        "pending": 0,
                    },
                )
                for column in ("met", "missed", "pending"):
                    held[column] += int(r[column] or 0)
        return [totals[k] for k in sorted(totals)]

    def first_notified(self, incident_ids: Sequence[str], audience: str) -> dict[str, datetime]:
        """For each incident given, when the first of its obligations to ``audience`` was
        recorded as notified (incidents with none are left out)."""
        out: dict[str, datetime] = {}
        for part in chunks(incident_ids, WIDE_CHUNK):
            for r in self.store.query(
                "SELECT incident_id, MIN(notified_at) AS first FROM obligations "
                "WHERE audience = ? AND notified_at IS NOT NULL "
                f"AND incident_id IN ({marks(len(part))}) GROUP BY incident_id",
                [audience, *part],
            ):
                moment = from_db_time(r["first"])
                if moment is not None:
                    out[r["incident_id"]] = moment
        return out

    def by_urgency(self, now: datetime, **filters: Any) -> list[Row]:
        """Rows with their urgency, most pressing first."""
        out = []
        for row in self.rows(**filters):
            u = urgency(row, now, self.due_soon)
            out.append({**row, "urgency": u.state, "seconds_left": u.seconds_left})
        out.sort(
            key=lambda r: (
                _ORDER[r["urgency"]],
                r["deadline"] or "9999",
                not r["triggered"],
                r["obligation_id"],
            )
        )
        return out

    _RANK_SQL = (
        "CASE WHEN status IN ('not_triggered', 'exempt') THEN 6 "
        f"WHEN status NOT IN ({', '.join(repr(s) for s in OPEN_STATUSES)}) THEN 5 "
        "WHEN deadline IS NULL AND COALESCE(pending, '') != '' THEN 3 "
        "WHEN deadline IS NULL THEN 4 ELSE 0 END"
    )
    _KEY = ("_rank", "_deadline", "_untriggered", "obligation_id", "incident_id")

    def page(
        self,
        now: datetime,
        *,
        after: Sequence[Any] | None = None,
        limit: int = 50,
        incident_id: str | None = None,
        open_only: bool = False,
        status: str | None = None,
        regime: str | None = None,
        urgency_state: str | None = None,
    ) -> list[Row]:
        """One page of rows in the order of :meth:`by_urgency`, after the row whose
        :func:`urgency_key` is ``after``, each with its ``urgency`` and ``seconds_left``.

        The order does not depend on the clock (overdue, due soon and on track are one run
        ordered by deadline), so a cursor stays valid while time passes; ``urgency_state``
        filters on the urgency at ``now``."""
        where: list[str] = []
        params: list[Any] = []
        if incident_id is not None:
            where.append("incident_id = ?")
            params.append(incident_id)
        if open_only:
            where.append(f"status IN ({', '.join('?' for _ in OPEN_STATUSES)})")
            params.extend(OPEN_STATUSES)
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if regime is not None:
            where.append("regime = ?")
            params.append(regime)
        inner = (
            f"SELECT *, {self._RANK_SQL} AS _rank, COALESCE(deadline, '9999') AS _deadline, "
            "1 - triggered AS _untriggered FROM obligations"
        )
        if where:
            inner += " WHERE " + " AND ".join(where)
        outer: list[str] = []
        if urgency_state is not None:
            clause, values = self._urgency_clause(urgency_state, now)
            outer.append(clause)
            params.extend(values)
        if after is not None:
            outer.append(f"({', '.join(self._KEY)}) > ({', '.join('?' for _ in self._KEY)})")
            params.extend(after)
        sql = f"SELECT * FROM ({inner}) AS o"
        if outer:
            sql += " WHERE " + " AND ".join(outer)
        sql += f" ORDER BY {', '.join(self._KEY)} LIMIT ?"
        params.append(limit)
        out = []
        for row in self.store.query(sql, params):
            for column in self._KEY[:3]:
                del row[column]
            u = urgency(row, now, self.due_soon)
            out.append({**row, "urgency": u.state, "seconds_left": u.seconds_left})
        return out

    def _urgency_clause(self, state: str, now: datetime) -> tuple[str, list[Any]]:
        moment, soon = db_time(now), db_time(now + self.due_soon)
        clauses: dict[str, tuple[str, list[Any]]] = {
            "overdue": ("_rank = 0 AND deadline < ?", [moment]),
            "due_soon": ("_rank = 0 AND deadline >= ? AND deadline <= ?", [moment, soon]),
            "on_track": ("_rank = 0 AND deadline > ?", [soon]),
            "waiting": ("_rank = 3", []),
            "no_deadline": ("_rank = 4", []),
            "done": ("_rank = 5", []),
            "n/a": ("_rank = 6", []),
        }
        return clauses[state]


def urgency_key(row: Row) -> list[Any]:
    """The position of a row in the urgency order (what :meth:`Obligations.page` continues
    after): overdue, due-soon and on-track rows by deadline, then waiting, no deadline,
    decided, and not triggered or exempt."""
    if row["status"] in ("not_triggered", "exempt"):
        rank = 6
    elif row["status"] not in OPEN_STATUSES:
        rank = 5
    elif row["deadline"] is None:
        rank = 3 if row["pending"] else 4
    else:
        rank = 0
    return [
        rank,
        row["deadline"] or "9999",
        1 - int(row["triggered"]),
        row["obligation_id"],
        row["incident_id"],
    ]


URGENCY_STATES = tuple(_ORDER)
"""Every urgency a row can have, most pressing first."""
