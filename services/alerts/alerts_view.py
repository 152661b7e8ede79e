"""The alerts view: every alert raised, each recipient's acknowledgement of it, and what
became of each recipient's email of it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from events.alerts import AlertAcknowledged, AlertMailEvent, AlertRaised
from events.base import DomainEvent
from services.projections.prefixes import resolve_prefix
from services.projections.schema import Row, Table, ViewTransaction, db_time
from services.projections.store import ViewStore

ALERTS = Table(
    name="alerts",
    columns={
        "alert_id": "TEXT NOT NULL",
        "incident_id": "TEXT NOT NULL",
        "step": "TEXT NOT NULL",
        "subject_kind": "TEXT NOT NULL",
        "subject_id": "TEXT NOT NULL",
        "deadline": "TEXT NOT NULL",
        "due_at": "TEXT NOT NULL",
        "raised_at": "TEXT NOT NULL",
        "recipients": "TEXT NOT NULL",
        "channels": "TEXT NOT NULL",
        "late": "INTEGER NOT NULL",
    },
    key=("alert_id",),
    indexes=(("incident_id", "raised_at"), ("raised_at",)),
)
RECIPIENTS = Table(
    name="alert_recipients",
    columns={
        "alert_id": "TEXT NOT NULL",
        "recipient": "TEXT NOT NULL",
        "raised_at": "TEXT NOT NULL",
        "acknowledged_at": "TEXT",
    },
    key=("alert_id", "recipient"),
    indexes=(("recipient", "raised_at"),),
)

EMAILS = Table(
    name="alert_emails",
    columns={
        "alert_id": "TEXT NOT NULL",
        "recipient": "TEXT NOT NULL",
        "outcome": "TEXT NOT NULL",
        "recorded_at": "TEXT NOT NULL",
    },
    key=("alert_id", "recipient"),
    indexes=(("outcome",),),
)


class AlertsProjection:
    """Keeps the alerts view in step with raised and acknowledged alerts."""

    name = "alerts"
    version = 2
    tables: Sequence[Table] = (ALERTS, RECIPIENTS, EMAILS)
    handles: tuple[type[DomainEvent], ...] = (AlertRaised, AlertAcknowledged, AlertMailEvent)

    def process(self, event: DomainEvent, position: int, tx: ViewTransaction) -> None:
        """Apply one event."""
        alert = str(event.originator_id)
        if isinstance(event, AlertRaised):
            raised = db_time(event.timestamp)
            tx.upsert(
                ALERTS.name,
                {
                    "alert_id": alert,
                    "incident_id": str(event.incident_id),
                    "step": event.step,
                    "subject_kind": event.subject_kind.value,
                    "subject_id": event.subject_id,
                    "deadline": db_time(event.deadline),
                    "due_at": db_time(event.due_at),
                    "raised_at": raised,
                    "recipients": ",".join(event.recipients),
                    "channels": ",".join(event.channels),
                    "late": int(event.late),
                },
            )
            for recipient in event.recipients:
                tx.upsert(
                    RECIPIENTS.name,
                    {
                        "alert_id": alert,
                        "recipient": recipient,
                        "raised_at": raised,
                        "acknowledged_at": None,
                    },
                )
        elif isinstance(event, AlertAcknowledged):
            tx.update(
                RECIPIENTS.name,
                {"alert_id": alert, "recipient": event.actor},
                {"acknowledged_at": db_time(event.timestamp)},
            )
        elif isinstance(event, AlertMailEvent):
            tx.upsert(
                EMAILS.name,
                {
                    "alert_id": alert,
                    "recipient": event.username,
                    "outcome": event.outcome,
                    "recorded_at": db_time(event.timestamp),
                },
            )


def _document(row: Row, acknowledged_at: Any = None) -> Row:
    return {
        **row,
        "recipients": [r for r in row["recipients"].split(",") if r],
        "channels": [c for c in row["channels"].split(",") if c],
        "late": bool(row["late"]),
        "acknowledged_at": acknowledged_at,
    }


class Alerts:
    """Reads the alerts view."""

    def __init__(self, store: ViewStore) -> None:
        self.store = store

    def rows(self, *, limit: int = 200) -> list[Row]:
        """The latest alerts, newest first."""
        found = self.store.query(
            "SELECT * FROM alerts ORDER BY raised_at DESC, alert_id LIMIT ?", [limit]
        )
        return [_document(r) for r in found]

    def of(self, user: str, *, unread_only: bool = False, limit: int = 200) -> list[Row]:
        """The alerts addressed to ``user``, newest first, each with the user's
        ``acknowledged_at`` (None: not yet)."""
        sql = (
            "SELECT a.*, r.acknowledged_at AS mine_acknowledged_at FROM alert_recipients r "
            "JOIN alerts a ON a.alert_id = r.alert_id WHERE r.recipient = ?"
        )
        if unread_only:
            sql += " AND r.acknowledged_at IS NULL"
        sql += " ORDER BY r.raised_at DESC, r.alert_id LIMIT ?"
        out = []
        for row in self.store.query(sql, [user, limit]):
            acknowledged = row.pop("mine_acknowledged_at")
            out.append(_document(row, acknowledged))
        return out

    def unread(self, user: str) -> int:
        """How many alerts addressed to ``user`` they have not acknowledged."""
        [row] = self.store.query(
            "SELECT COUNT(*) AS n FROM alert_recipients "
            "WHERE recipient = ? AND acknowledged_at IS NULL",
            [user],
        )
        return int(row["n"])

    def ids_of_incident(self, incident_id: UUID) -> list[UUID]:
        """The alerts raised about an incident, oldest first."""
        rows = self.store.query(
            "SELECT alert_id FROM alerts WHERE incident_id = ? ORDER BY raised_at, alert_id",
            [str(incident_id)],
        )
        return [UUID(r["alert_id"]) for r in rows]

    def counts_by_step(self) -> dict[str, int]:
        """How many alerts were raised, by step."""
        rows = self.store.query("SELECT step, COUNT(*) AS n FROM alerts GROUP BY step", [])
        return {r["step"]: int(r["n"]) for r in rows}

    def email_counts(self) -> dict[str, int]:
        """How many alert emails were recorded, by outcome (sent, failed, skipped)."""
        rows = self.store.query(
            "SELECT outcome, COUNT(*) AS n FROM alert_emails GROUP BY outcome", []
        )
        return {r["outcome"]: int(r["n"]) for r in rows}

    def resolve(self, text: str) -> UUID:
        """The alert whose id is ``text`` or starts with it; refuse ambiguity."""
        return resolve_prefix(self.store, "alerts", "alert_id", text, field="alert", noun="alert")
