"""The notifications view: campaigns with their status, and every notice with its state.

Progress counts, rate and time left are computed when read (they depend on the clock); the
rows only hold what the log says. Per person: what they were sent and when. The same tables
serve readers (:class:`Notifications`) and the dispatcher's queue (:class:`NoticeQueueView`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from events.base import DomainEvent
from events.notifications import (
    CampaignApproved,
    CampaignCancelled,
    CampaignCompleted,
    CampaignDrafted,
    CampaignEvent,
    CampaignRedrafted,
    DispatchPaused,
    DispatchResumed,
    DispatchStarted,
    Notice,
    NoticeDeferred,
    NoticeEvent,
    NoticeFailed,
    NoticeQueued,
    NoticeRequeued,
    NoticeSending,
    NoticeSent,
    NoticesQueued,
    NoticeState,
    NoticeStatus,
    NoticeSuppressed,
    NoticeUncertain,
)
from services.notifications.queue import StaleNotice
from services.projections.prefixes import resolve_prefix
from services.projections.schema import Row, Table, ViewTransaction, db_time, from_db_time
from services.projections.store import ViewStore
from services.storage.sql import WIDE_CHUNK, chunks, marks

CAMPAIGNS = Table(
    name="campaigns",
    columns={
        "campaign_id": "TEXT NOT NULL",
        "incident_id": "TEXT NOT NULL",
        "audience": "TEXT NOT NULL",
        "status": "TEXT NOT NULL",
        "template_version": "TEXT NOT NULL",
        "drafted_by": "TEXT NOT NULL",
        "approved_by": "TEXT",
        "approved_hash": "TEXT",
        "started_at": "TEXT",
        "completed_at": "TEXT",
        "queued": "INTEGER",
        "created_at": "TEXT NOT NULL",
        "last_change_at": "TEXT NOT NULL",
    },
    key=("campaign_id",),
    indexes=(("incident_id",), ("status",)),
)
NOTICES = Table(
    name="notices",
    columns={
        "notice_id": "TEXT NOT NULL",
        "campaign_id": "TEXT NOT NULL",
        "incident_id": "TEXT NOT NULL",
        "person_id": "TEXT",
        "recipient_index": "INTEGER",
        "language": "TEXT NOT NULL",
        "fallback": "INTEGER NOT NULL",
        "status": "TEXT NOT NULL",
        "attempts": "INTEGER NOT NULL",
        "message_id": "TEXT",
        "next_attempt_at": "TEXT",
        "sending_at": "TEXT",
        "sent_at": "TEXT",
        "reason": "TEXT",
        "content_hash": "TEXT",
        "version": "INTEGER NOT NULL",
        "last_change_at": "TEXT",
    },
    key=("notice_id",),
    indexes=(
        ("campaign_id", "status", "last_change_at"),
        ("status", "next_attempt_at"),
        ("person_id",),
    ),
)
NOTICE_MOVES = Table(
    name="notice_moves",
    columns={
        "campaign_id": "TEXT NOT NULL",
        "slot": "INTEGER NOT NULL",
        "status": "TEXT NOT NULL",
        "delta": "INTEGER NOT NULL",
        "first_position": "INTEGER NOT NULL",
        "last_position": "INTEGER NOT NULL",
    },
    key=("campaign_id", "slot", "status"),
    merge=(("delta", "sum"), ("first_position", "min"), ("last_position", "max")),
)
"""How many of a campaign's notices entered (positive) or left (negative) each status in
each tenth of a second, as the events record their time, with the log positions of those
events. Summed up to a moment, they are the campaign's counts as of that moment (see
:mod:`services.audit.replay`); each status change adds to them, in any order, so
views kept per partition of the log hold the same rows."""

SLOT = timedelta(milliseconds=100)
"""The span of time one row of :data:`NOTICE_MOVES` sums."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def slot_of(moment: datetime) -> int:
    """The :data:`SLOT` a moment falls in (counted from the Unix epoch, in whole numbers:
    exact for any moment a datetime holds)."""
    since = moment - _EPOCH
    return since.days * 864_000 + since.seconds * 10 + since.microseconds // 100_000


def slot_start(slot: int) -> datetime:
    """The first moment of a slot."""
    return _EPOCH + slot * SLOT


OPEN = ("queued", "sending", "deferred", "uncertain")


@dataclass(frozen=True)
class NoticeTotals:
    """Notices by status with the send attempts of all, and campaigns by status (a status
    nothing has is left out)."""

    notices: dict[str, int]
    attempts: int
    campaigns: dict[str, int]


class NotificationsProjection:
    """Keeps campaigns and notices in step with their events."""

    name = "notifications"
    version = 3
    tables: Sequence[Table] = (CAMPAIGNS, NOTICES, NOTICE_MOVES)
    handles: tuple[type[DomainEvent], ...] = (
        CampaignDrafted,
        CampaignEvent,
        NoticeQueued,
        NoticeEvent,
    )

    def prepare(self, events: Sequence[DomainEvent], tx: ViewTransaction) -> None:
        """Read at once the notices a batch moves (their campaign and status)."""
        ids = [str(e.originator_id) for e in events if isinstance(e, NoticeEvent)]
        if ids:
            tx.prefetch(NOTICES.name, ids, ("campaign_id", "status"))

    def process(self, event: DomainEvent, position: int, tx: ViewTransaction) -> None:
        """Apply one event."""
        at = db_time(event.timestamp)
        if isinstance(event, CampaignDrafted):
            tx.upsert(
                CAMPAIGNS.name,
                {
                    "campaign_id": str(event.originator_id),
                    "incident_id": str(event.incident_id),
                    "audience": event.audience.value,
                    "status": "draft",
                    "template_version": event.template_version,
                    "drafted_by": event.actor,
                    "approved_by": None,
                    "approved_hash": None,
                    "started_at": None,
                    "completed_at": None,
                    "queued": None,
                    "created_at": at,
                    "last_change_at": at,
                },
            )
            return
        campaign = {"campaign_id": str(event.originator_id)}
        campaign_changes: dict[str, Any] | None = None
        if isinstance(event, CampaignRedrafted):
            campaign_changes = {
                "status": "draft",
                "template_version": event.template_version,
                "approved_by": None,
                "approved_hash": None,
                "drafted_by": event.actor,
            }
        elif isinstance(event, CampaignApproved):
            campaign_changes = {
                "status": "approved",
                "approved_by": event.actor,
                "approved_hash": event.content_hash,
            }
        elif isinstance(event, DispatchStarted):
            campaign_changes = {"status": "dispatching", "started_at": at}
        elif isinstance(event, NoticesQueued):
            campaign_changes = {"queued": event.count}
        elif isinstance(event, DispatchPaused):
            campaign_changes = {"status": "paused"}
        elif isinstance(event, DispatchResumed):
            campaign_changes = {"status": "dispatching"}
        elif isinstance(event, CampaignCompleted):
            campaign_changes = {"status": "completed", "completed_at": at}
        elif isinstance(event, CampaignCancelled):
            campaign_changes = {"status": "cancelled", "completed_at": at}
        if campaign_changes is not None:
            tx.update(CAMPAIGNS.name, campaign, {**campaign_changes, "last_change_at": at})
            return
        self._notice(event, position, at, tx)

    def _notice(
        self, event: DomainEvent, position: int, at: str | None, tx: ViewTransaction
    ) -> None:
        key = {"notice_id": str(event.originator_id)}
        if isinstance(event, NoticeQueued):
            _moved(tx, str(event.campaign_id), event, position, None, NoticeStatus.QUEUED.value)
            tx.upsert(
                NOTICES.name,
                {
                    **key,
                    "campaign_id": str(event.campaign_id),
                    "incident_id": str(event.incident_id),
                    "person_id": str(event.person_id) if event.person_id else None,
                    "recipient_index": event.recipient_index,
                    "language": event.language,
                    "fallback": int(event.fallback),
                    "status": NoticeStatus.QUEUED.value,
                    "attempts": 0,
                    "message_id": None,
                    "next_attempt_at": None,
                    "sending_at": None,
                    "sent_at": None,
                    "reason": None,
                    "content_hash": None,
                    "version": event.originator_version,
                    "last_change_at": at,
                },
            )
            return
        changes: dict[str, Any]
        if isinstance(event, NoticeSending):
            changes = {
                "status": "sending",
                "attempts": event.attempt,
                "message_id": event.message_id,
                "sending_at": at,
            }
        elif isinstance(event, NoticeSent):
            changes = {
                "status": "sent",
                "sent_at": at,
                "content_hash": event.content_hash,
                "reason": event.reply,
            }
        elif isinstance(event, NoticeDeferred):
            changes = {
                "status": "deferred",
                "next_attempt_at": db_time(event.next_attempt_at),
                "reason": event.reason,
            }
        elif isinstance(event, NoticeFailed):
            changes = {"status": "failed", "reason": event.reason}
        elif isinstance(event, NoticeSuppressed):
            changes = {"status": "suppressed", "reason": event.reason}
        elif isinstance(event, NoticeUncertain):
            changes = {"status": "uncertain", "reason": event.reason}
        elif isinstance(event, NoticeRequeued):
            changes = {"status": "queued", "reason": event.reason, "next_attempt_at": None}
        else:
            return
        row = tx.get(NOTICES.name, key, ("campaign_id", "status"))
        if row is None:
            return
        _moved(tx, row["campaign_id"], event, position, row["status"], changes["status"])
        tx.update(
            NOTICES.name,
            key,
            {**changes, "version": event.originator_version, "last_change_at": at},
        )


def _moved(
    tx: ViewTransaction,
    campaign_id: str,
    event: DomainEvent,
    position: int,
    before: str | None,
    after: str,
) -> None:
    """Count a notice's move from status ``before`` (None: it was just queued) to
    ``after`` in the slot of the event's time."""
    if before == after:
        return
    slot = slot_of(event.timestamp)
    for status, delta in ((before, -1), (after, 1)):
        if status is not None:
            tx.merge(
                NOTICE_MOVES.name,
                {
                    "campaign_id": campaign_id,
                    "slot": slot,
                    "status": status,
                    "delta": delta,
                    "first_position": position,
                    "last_position": position,
                },
            )


STALLED_AFTER = timedelta(minutes=1)
"""A campaign whose notices have not moved for this long is stalled: its rate and time left
are not estimated (nothing may be sending it)."""


class Notifications:
    """Reads campaigns and notices. ``sending_lease`` is the dispatcher's: a notice claimed
    for sending is resolved (sent, requeued or uncertain) at the latest when the lease after
    its claim ends, which progress reports for the notices in flight."""

    def __init__(self, store: ViewStore, sending_lease: timedelta = timedelta(seconds=120)) -> None:
        self.store = store
        self.sending_lease = sending_lease

    def campaigns(self, incident_id: UUID | None = None) -> list[Row]:
        """Campaigns, newest first."""
        sql = "SELECT * FROM campaigns"
        params: list[Any] = []
        if incident_id is not None:
            sql += " WHERE incident_id = ?"
            params.append(str(incident_id))
        return self.store.query(sql + " ORDER BY created_at DESC", params)

    def page(
        self,
        *,
        after: tuple[str, str] | None = None,
        limit: int = 50,
        incident_id: UUID | None = None,
        status: str | None = None,
    ) -> list[Row]:
        """One page of campaigns, newest first, after the row keyed ``after``
        (created_at, campaign_id)."""
        clauses: list[str] = []
        params: list[Any] = []
        if incident_id is not None:
            clauses.append("incident_id = ?")
            params.append(str(incident_id))
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        if after is not None:
            clauses.append("(created_at < ? OR (created_at = ? AND campaign_id > ?))")
            params.extend([after[0], after[0], after[1]])
        sql = "SELECT * FROM campaigns"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        params.append(limit)
        return self.store.query(sql + " ORDER BY created_at DESC, campaign_id LIMIT ?", params)

    def counts(self, campaign_id: UUID) -> dict[str, int]:
        """Notices of a campaign by status."""
        return _counts(self.store, campaign_id)

    def moves_before(self, campaign_id: UUID, slot: int) -> dict[str, int]:
        """A campaign's notices by status as of the start of ``slot``: every move of its
        notices recorded in an earlier slot, summed (a status nobody had is left out)."""
        rows = self.store.query(
            "SELECT status, SUM(delta) AS n FROM notice_moves "
            "WHERE campaign_id = ? AND slot < ? GROUP BY status",
            [str(campaign_id), slot],
        )
        return {str(r["status"]): int(r["n"]) for r in rows if r["n"]}

    def positions_in(self, campaign_id: UUID, slot: int) -> tuple[int, int] | None:
        """The first and last log positions of the moves of a campaign's notices in
        ``slot`` (None: none moved then)."""
        rows = self.store.query(
            "SELECT MIN(first_position) AS first, MAX(last_position) AS last "
            "FROM notice_moves WHERE campaign_id = ? AND slot = ?",
            [str(campaign_id), slot],
        )
        if not rows or rows[0]["first"] is None:
            return None
        return int(rows[0]["first"]), int(rows[0]["last"])

    def notice_ids(self, campaign_id: UUID) -> list[UUID]:
        """The notices of a campaign the view holds, in id order."""
        rows = self.store.query(
            "SELECT notice_id FROM notices WHERE campaign_id = ? ORDER BY notice_id",
            [str(campaign_id)],
        )
        return [UUID(r["notice_id"]) for r in rows]

    def totals(self) -> NoticeTotals:
        """Notices by status with the send attempts of all, and campaigns by status."""
        notices: dict[str, int] = {}
        attempts = 0
        for row in self.store.query(
            "SELECT status, COUNT(*) AS n, COALESCE(SUM(attempts), 0) AS attempts "
            "FROM notices GROUP BY status"
        ):
            notices[str(row["status"])] = int(row["n"])
            attempts += int(row["attempts"])
        campaigns = {
            str(row["status"]): int(row["n"])
            for row in self.store.query(
                "SELECT status, COUNT(*) AS n FROM campaigns GROUP BY status"
            )
        }
        return NoticeTotals(notices=notices, attempts=attempts, campaigns=campaigns)

    def campaign(self, campaign_id: UUID) -> Row | None:
        """One campaign's row, if the view has it."""
        found = self.store.query(
            "SELECT * FROM campaigns WHERE campaign_id = ?", [str(campaign_id)]
        )
        return found[0] if found else None

    def progress(self, campaign_id: UUID, now: datetime) -> dict[str, Any]:
        """Counts, sending rate and estimated time left of a campaign; the notices in flight
        (claimed for sending, no answer recorded) and when the lease resolves them at the
        latest (``in_flight_resolved_by``); when its notices last moved, and since when it
        is stalled (no move for :data:`STALLED_AFTER`; then no rate or time left)."""
        out = _progress(campaign_id, self.campaign(campaign_id), self.counts(campaign_id), now)
        [flight] = self.store.query(
            "SELECT COUNT(*) AS n, MAX(sending_at) AS latest FROM notices "
            "WHERE campaign_id = ? AND status = 'sending'",
            [str(campaign_id)],
        )
        [moved] = self.store.query(
            "SELECT MAX(slot) AS slot FROM notice_moves WHERE campaign_id = ?", [str(campaign_id)]
        )
        latest = from_db_time(flight["latest"])
        last_moved = slot_start(moved["slot"] + 1) if moved["slot"] is not None else None
        stalled = (
            last_moved is not None
            and out["done"] < out["total"]
            and now - last_moved >= STALLED_AFTER
        )
        out["in_flight_resolved_by"] = latest + self.sending_lease if latest else None
        out["last_moved_at"] = last_moved
        out["stalled_since"] = last_moved if stalled else None
        if stalled:
            out["rate_per_second"] = out["seconds_left"] = None
        return out

    def with_progress(self, rows: Sequence[Row], now: datetime) -> list[dict[str, Any]]:
        """Campaign rows, each with its ``progress`` (the notices counted in one query per
        500 campaigns, not one per campaign); when the notices in flight are resolved, and
        whether a campaign is stalled, :meth:`progress` gives for one campaign."""
        ids = [str(r["campaign_id"]) for r in rows]
        counts = _counts_of(self.store, ids)
        return [
            {**r, "progress": _progress(UUID(str(r["campaign_id"])), r, counts[i], now)}
            for r, i in zip(rows, ids, strict=True)
        ]

    def of_incidents(self, incident_ids: Sequence[str]) -> list[Row]:
        """The campaigns of the incidents given (id, incident, audience, status, completion)
        with their notices by status."""
        rows: list[Row] = []
        for part in chunks(incident_ids, WIDE_CHUNK):
            rows.extend(
                self.store.query(
                    "SELECT campaign_id, incident_id, audience, status, completed_at "
                    f"FROM campaigns WHERE incident_id IN ({marks(len(part))})",
                    list(part),
                )
            )
        ids = [str(r["campaign_id"]) for r in rows]
        counts = _counts_of(self.store, ids)
        return [{**r, "notices": counts[i]} for r, i in zip(rows, ids, strict=True)]

    def for_person(self, person_id: UUID) -> list[Row]:
        """What a person was sent, and when."""
        return self.store.query(
            "SELECT n.*, c.audience FROM notices n JOIN campaigns c "
            "ON c.campaign_id = n.campaign_id WHERE n.person_id = ? ORDER BY n.sent_at",
            [str(person_id)],
        )

    def message_ids_of(self, person_id: UUID, domain: str) -> list[str]:
        """Every Message-ID a notice to the person was or would be sent under: the one each
        attempt recorded, and the one it gets under ``domain`` (for notices not sent yet)."""
        rows = self.store.query(
            "SELECT notice_id, message_id FROM notices WHERE person_id = ?", [str(person_id)]
        )
        found = [r["message_id"] for r in rows if r["message_id"]]
        found.extend(f"<{r['notice_id']}@{domain}>" for r in rows)
        return list(dict.fromkeys(found))

    def open_for_incident(self, incident_id: UUID) -> int:
        """How many notices of an incident are not final yet (queued, sending, deferred or
        uncertain)."""
        marks = ", ".join("?" for _ in OPEN)
        [row] = self.store.query(
            f"SELECT COUNT(*) AS n FROM notices WHERE incident_id = ? AND status IN ({marks})",
            [str(incident_id), *OPEN],
        )
        return int(row["n"])

    def uncertain_ids(self, campaign_id: UUID) -> list[UUID]:
        """The notices of a campaign whose delivery a crash made uncertain."""
        rows = self.store.query(
            "SELECT notice_id FROM notices WHERE campaign_id = ? AND status = 'uncertain' "
            "ORDER BY notice_id",
            [str(campaign_id)],
        )
        return [UUID(r["notice_id"]) for r in rows]

    def next_attempt_of(self, campaign_id: UUID) -> datetime | None:
        """When the earliest deferred notice of a campaign is tried again (None: none)."""
        [row] = self.store.query(
            "SELECT MIN(next_attempt_at) AS next FROM notices "
            "WHERE campaign_id = ? AND status = 'deferred'",
            [str(campaign_id)],
        )
        return from_db_time(row["next"])

    def uncertain(self) -> list[Row]:
        """Notices whose delivery a crash made uncertain."""
        return self.store.query("SELECT * FROM notices WHERE status = 'uncertain'")

    def uncertain_page(self, *, after: str | None = None, limit: int = 50) -> list[Row]:
        """One page of the uncertain notices, in id order after the notice ``after``."""
        return self.store.query(
            "SELECT * FROM notices WHERE status = 'uncertain' AND notice_id > ? "
            "ORDER BY notice_id LIMIT ?",
            [after or "", limit],
        )

    def audiences_of_messages(self, message_ids: Sequence[str]) -> dict[str, str]:
        """The audience of the campaign each of these Message-IDs was sent for (ids no
        notice carries are left out)."""
        out: dict[str, str] = {}
        ids = list(dict.fromkeys(message_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" for _ in chunk)
            for row in self.store.query(
                "SELECT n.message_id, c.audience FROM notices n JOIN campaigns c "
                f"ON c.campaign_id = n.campaign_id WHERE n.message_id IN ({marks})",
                chunk,
            ):
                out[row["message_id"]] = row["audience"]
        return out

    def resolve_campaign(self, text: str) -> UUID:
        """The campaign whose id starts with ``text``."""
        return resolve_prefix(
            self.store, "campaigns", "campaign_id", text, field="campaign", noun="campaign"
        )

    def resolve_notice(self, text: str) -> UUID:
        """The notice whose id starts with ``text``."""
        return resolve_prefix(
            self.store, "notices", "notice_id", text, field="notice", noun="notice"
        )


class NoticeQueueView:
    """The notifications view as the dispatcher's :class:`NoticeQueue`."""

    def __init__(self, store: ViewStore) -> None:
        self.store = store

    def due(self, now: datetime, limit: int, after: str = "") -> list[Notice]:
        """Notices to send now (queued, or deferred and due, of dispatching campaigns), in
        id order after ``after`` (so a pass can page through them without revisiting), each
        at the version the view last saw.

        The notices are walked in id order from ``after`` (``CROSS JOIN`` keeps them the
        outer table on SQLite, and the status is hidden from its indexes): a page costs
        the rows it passes, where finding every queued notice to sort them would cost the
        whole campaign's, each page."""
        rows = self.store.query(
            "SELECT n.* FROM notices n CROSS JOIN campaigns c "
            "WHERE c.campaign_id = n.campaign_id AND c.status = 'dispatching' "
            "AND n.notice_id > ? AND ((n.status || '') = 'queued' OR "
            "((n.status || '') = 'deferred' AND n.next_attempt_at <= ?)) "
            "ORDER BY n.notice_id LIMIT ?",
            [after, db_time(now), limit],
        )
        return [self.restore(row, now) for row in rows]

    @staticmethod
    def restore(row: Row, now: datetime) -> Notice:
        """The notice a row describes, at the row's version (see :meth:`Notice.restore`),
        last changed when it started sending (or ``now``, if it has not).

        The row's values are typed here, so the state is built without re-validation."""
        state = NoticeState.model_construct(
            campaign_id=UUID(row["campaign_id"]),
            incident_id=UUID(row["incident_id"]),
            person_id=UUID(row["person_id"]) if row["person_id"] else None,
            recipient_index=row["recipient_index"],
            language=row["language"],
            fallback=bool(row["fallback"]),
            status=NoticeStatus(row["status"]),
            attempts=row["attempts"],
            message_id=row["message_id"],
            next_attempt_at=from_db_time(row["next_attempt_at"]),
            reason=row["reason"],
            sent_at=from_db_time(row["sent_at"]),
        )
        changed = from_db_time(row["sending_at"]) or now
        return Notice.restore(UUID(row["notice_id"]), row["version"], changed, state)

    def next_attempt(self) -> datetime | None:
        """The earliest deferred attempt of a dispatching campaign."""
        rows = self.store.query(
            "SELECT MIN(n.next_attempt_at) AS at FROM notices n JOIN campaigns c "
            "ON c.campaign_id = n.campaign_id WHERE c.status = 'dispatching' "
            "AND n.status = 'deferred'"
        )
        return from_db_time(rows[0]["at"]) if rows and rows[0]["at"] else None

    def stale_sending(self, before: datetime) -> list[StaleNotice]:
        """Notices marked sending before ``before`` with no outcome: a crash left them."""
        rows = self.store.query(
            "SELECT notice_id, message_id FROM notices WHERE status = 'sending' "
            "AND sending_at <= ?",
            [db_time(before)],
        )
        return [StaleNotice(UUID(r["notice_id"]), r["message_id"]) for r in rows]

    def finished_campaigns(self) -> list[UUID]:
        """Dispatching campaigns, all queued, with no notice left open (every queued notice
        present in the view: a notice's events may reach the view after its campaign's)."""
        marks = ", ".join("?" for _ in OPEN)
        rows = self.store.query(
            "SELECT c.campaign_id FROM campaigns c WHERE c.status IN ('dispatching', 'paused') "
            "AND c.queued IS NOT NULL AND NOT EXISTS (SELECT 1 FROM notices n "
            f"WHERE n.campaign_id = c.campaign_id AND n.status IN ({marks})) "
            "AND (SELECT COUNT(*) FROM notices n WHERE n.campaign_id = c.campaign_id) >= c.queued",
            list(OPEN),
        )
        return [UUID(r["campaign_id"]) for r in rows]

    def counts(self, campaign_id: UUID) -> dict[str, int]:
        """Notices of a campaign by status."""
        return _counts(self.store, campaign_id)


def _counts(store: ViewStore, campaign_id: UUID) -> dict[str, int]:
    """Notices of a campaign by status (every status named)."""
    return _counts_of(store, [str(campaign_id)])[str(campaign_id)]


def _counts_of(store: ViewStore, ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """Notices of each campaign by status (every status named), as the moves of its notices
    sum up: a row per tenth of a second of a campaign, not one per notice; one query per
    500 campaigns."""
    counts = {i: {s.value: 0 for s in NoticeStatus} for i in ids}
    for part in chunks(ids):
        found = store.query(
            "SELECT campaign_id, status, SUM(delta) AS n FROM notice_moves "
            f"WHERE campaign_id IN ({marks(len(part))}) GROUP BY campaign_id, status",
            list(part),
        )
        for r in found:
            counts[str(r["campaign_id"])][str(r["status"])] = int(r["n"])
    return counts


def _progress(
    campaign_id: UUID, campaign: Row | None, counts: dict[str, int], now: datetime
) -> dict[str, Any]:
    """A campaign's progress from its row and its notices' counts by status."""
    total = sum(counts.values())
    done = counts["sent"] + counts["failed"] + counts["suppressed"]
    rate = None
    eta = None
    started = from_db_time(campaign["started_at"]) if campaign else None
    if campaign is not None and started is not None and counts["sent"]:
        end = from_db_time(campaign["completed_at"]) or now
        elapsed = max((end - started).total_seconds(), 1e-3)
        rate = counts["sent"] / elapsed
        remaining = total - done
        eta = remaining / rate if remaining else 0.0
    return {
        "campaign_id": str(campaign_id),
        "status": campaign["status"] if campaign else None,
        "total": total,
        "done": done,
        **counts,
        "rate_per_second": rate,
        "seconds_left": eta,
        "in_flight": counts["sending"],
        "in_flight_resolved_by": None,
        "last_moved_at": None,
        "stalled_since": None,
    }
