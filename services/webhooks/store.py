"""The webhook store: what webhooks keep beside the log, in its own SQLite file
(``webhooks.db``) or in tables of the PostgreSQL schema.

- Each subscription's whole URL and signing secret, sealed with AES-GCM under a key derived
  from the vault's master key (the subscription id bound as associated data): the secret
  must be read back to sign, so it cannot be kept as a hash, and the log (exported in audit
  bundles) must not hold it.
- Each subscription's tracked position, moved with the final delivery log rows of the
  deliveries finished meanwhile, in one transaction that first checks the position is still
  the one read. The position only passes events whose delivery is finished; rows of
  deliveries finished beyond it (sent concurrently, ahead of a slower one) are final rows
  too, and a sender resuming from the position skips them.
- The delivery log.
- A lease per subscription: the sender delivering it and until when, so that of several
  senders on one store only one delivers a subscription at a time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, delete, func, select, update

from services.storage.schema import WEBHOOKS, upgrade
from services.storage.sql import Database, chunks, execute_many, upsert
from services.storage.sqlite import SQLiteDatabase
from services.webhooks.tables import (
    webhook_deliveries,
    webhook_leases,
    webhook_positions,
    webhook_secrets,
)

PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"
GONE = "gone"
STATUSES = (PENDING, DELIVERED, DEAD, GONE)
"""A delivery's statuses: being retried, delivered, dead-lettered after the retry window,
dead-lettered because the receiver answered 410 Gone (the subscription disabled)."""


@dataclass(frozen=True)
class Sealed:
    """What a subscription keeps secret: where it delivers and what it signs with."""

    url: str
    secret: str


@dataclass(frozen=True)
class Delivery:
    """A row of the delivery log."""

    delivery_id: str
    subscription_id: str
    position: int
    kind: str
    status: str
    attempts: int
    last_code: int | None
    last_error: str | None
    first_at: str
    last_at: str

    def as_dict(self) -> dict[str, Any]:
        """The row as JSON."""
        return {
            "delivery_id": self.delivery_id,
            "subscription_id": self.subscription_id,
            "position": self.position,
            "kind": self.kind,
            "status": self.status,
            "attempts": self.attempts,
            "last_code": self.last_code,
            "last_error": self.last_error,
            "first_at": self.first_at,
            "last_at": self.last_at,
        }


def sealing_key(master: bytes) -> bytes:
    """The key sealing webhook secrets, derived from the vault's master key."""
    return hmac.new(master, b"breachledger webhook secrets v1", hashlib.sha256).digest()


class WebhookStore:
    """Sealed secrets, tracked positions and the delivery log of every subscription."""

    def __init__(
        self,
        database: Path | Database,
        master_key: bytes,
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.db: Database = (
            SQLiteDatabase(database, secure_delete=True) if isinstance(database, Path) else database
        )
        self._owns = isinstance(database, Path)
        self.now = now
        """Unix seconds, for leases (the machines' clocks: a lease is about processes)."""
        self._key = sealing_key(master_key)
        upgrade(self.db, WEBHOOKS)

    # sealed secrets

    def seal(self, subscription_id: UUID, sealed: Sealed) -> None:
        """Keep a subscription's URL and secret, sealed."""
        nonce = os.urandom(12)
        plaintext = json.dumps({"url": sealed.url, "secret": sealed.secret}).encode()
        blob = nonce + AESGCM(self._key).encrypt(nonce, plaintext, subscription_id.bytes)
        row = {"subscription_id": str(subscription_id), "sealed": base64.b64encode(blob).decode()}
        with self.db.transaction() as c:
            c.execute(webhook_secrets.insert().values(**row))

    def unseal(self, subscription_id: UUID) -> Sealed | None:
        """A subscription's URL and secret (None when it has none here)."""
        rows = self.db.query(
            select(webhook_secrets.c.sealed).where(
                webhook_secrets.c.subscription_id == str(subscription_id)
            )
        )
        if not rows:
            return None
        blob = base64.b64decode(rows[0][0])
        try:
            plain = AESGCM(self._key).decrypt(blob[:12], blob[12:], subscription_id.bytes)
        except InvalidTag:
            msg = f"the sealed secret of webhook {subscription_id} does not authenticate"
            raise ValueError(msg) from None
        found = json.loads(plain)
        return Sealed(url=found["url"], secret=found["secret"])

    def subscription_ids(self) -> list[UUID]:
        """Every subscription with a sealed secret here."""
        rows = self.db.query(
            select(webhook_secrets.c.subscription_id).order_by(webhook_secrets.c.subscription_id)
        )
        return [UUID(r[0]) for r in rows]

    # positions

    def position(self, key: str) -> int | None:
        """The position tracked under ``key`` (None: not tracked yet)."""
        rows = self.db.query(
            select(webhook_positions.c.position).where(webhook_positions.c.tracking_key == key)
        )
        return int(rows[0][0]) if rows else None

    def _move(self, c: Connection, key: str, after: int, to: int) -> bool:
        """Move ``key`` from ``after`` to ``to`` (False when it is no longer at ``after``)."""
        moved = c.execute(
            update(webhook_positions)
            .where(webhook_positions.c.tracking_key == key, webhook_positions.c.position == after)
            .values(position=to)
        )
        if moved.rowcount:
            return True
        there = c.execute(
            select(webhook_positions.c.position).where(webhook_positions.c.tracking_key == key)
        ).first()
        if there is not None:
            return False
        c.execute(webhook_positions.insert().values(tracking_key=key, position=to))
        return True

    def advance(self, key: str, after: int, to: int) -> bool:
        """Move the position past events the subscription did not ask for."""
        with self.db.transaction(lock=f"webhook:{key}") as c:
            return self._move(c, key, after, to)

    def record(self, key: str, after: int, deliveries: Sequence[Delivery], to: int) -> bool:
        """Record deliveries' final rows and move the position from ``after`` to ``to``, in
        one transaction (False, and nothing recorded, when the position moved meanwhile)."""
        with self.db.transaction(lock=f"webhook:{key}") as c:
            if not self._move(c, key, after, to):
                return False
            execute_many(c, _upsert(self.db.kind), [d.as_dict() for d in deliveries])
        return True

    def note(self, delivery: Delivery) -> None:
        """Record the progress of a delivery still being retried."""
        with self.db.transaction() as c:
            _put(self.db.kind, c, delivery)

    # leases

    def lease(self, subscription_id: UUID, holder: str, seconds: float) -> bool:
        """Take or renew the lease of a subscription for ``seconds`` from now: True when
        ``holder`` holds it now (it held it, nobody did, or the last holder's expired)."""
        sub = str(subscription_id)
        until = self.now() + seconds
        with self.db.transaction(lock=f"webhook-lease:{sub}") as c:
            found = c.execute(
                select(webhook_leases.c.holder, webhook_leases.c.expires_at).where(
                    webhook_leases.c.subscription_id == sub
                )
            ).first()
            if found is None:
                c.execute(
                    webhook_leases.insert().values(
                        subscription_id=sub, holder=holder, expires_at=until
                    )
                )
                return True
            if found[0] != holder and found[1] > self.now():
                return False
            c.execute(
                update(webhook_leases)
                .where(webhook_leases.c.subscription_id == sub)
                .values(holder=holder, expires_at=until)
            )
        return True

    def release(self, subscription_id: UUID, holder: str) -> None:
        """Give up a lease ``holder`` holds (nothing when another holds it)."""
        with self.db.transaction(lock=f"webhook-lease:{subscription_id}") as c:
            c.execute(
                delete(webhook_leases).where(
                    webhook_leases.c.subscription_id == str(subscription_id),
                    webhook_leases.c.holder == holder,
                )
            )

    def holder(self, subscription_id: UUID) -> str | None:
        """Who holds a subscription's lease now (None: nobody, or it expired)."""
        rows = self.db.query(
            select(webhook_leases.c.holder, webhook_leases.c.expires_at).where(
                webhook_leases.c.subscription_id == str(subscription_id)
            )
        )
        if not rows or rows[0][1] <= self.now():
            return None
        return str(rows[0][0])

    # the delivery log

    def rows_of(self, delivery_ids: Sequence[UUID]) -> dict[str, Delivery]:
        """The delivery log's rows of these deliveries, by delivery id (those with none are
        left out)."""
        out: dict[str, Delivery] = {}
        for part in chunks([str(d) for d in delivery_ids]):
            rows = self.db.query(
                select(*webhook_deliveries.c).where(webhook_deliveries.c.delivery_id.in_(part))
            )
            for r in rows:
                found = Delivery(*r)
                out[found.delivery_id] = found
        return out

    def delivery(self, delivery_id: UUID) -> Delivery | None:
        """One row of the delivery log."""
        rows = self.db.query(
            select(*webhook_deliveries.c).where(
                webhook_deliveries.c.delivery_id == str(delivery_id)
            )
        )
        return Delivery(*rows[0]) if rows else None

    def deliveries(
        self, subscription_id: UUID, *, limit: int = 100, status: str | None = None
    ) -> list[Delivery]:
        """A subscription's deliveries, latest first."""
        query = select(*webhook_deliveries.c).where(
            webhook_deliveries.c.subscription_id == str(subscription_id)
        )
        if status is not None:
            query = query.where(webhook_deliveries.c.status == status)
        rows = self.db.query(query.order_by(webhook_deliveries.c.position.desc()).limit(limit))
        return [Delivery(*r) for r in rows]

    def latest(self, subscription_ids: Sequence[UUID]) -> dict[UUID, Delivery]:
        """The latest delivery of each of ``subscription_ids`` that has one (by position)."""
        if not subscription_ids:
            return {}
        wanted = [str(i) for i in subscription_ids]
        last = (
            select(
                webhook_deliveries.c.subscription_id,
                func.max(webhook_deliveries.c.position).label("position"),
            )
            .where(webhook_deliveries.c.subscription_id.in_(wanted))
            .group_by(webhook_deliveries.c.subscription_id)
            .subquery()
        )
        rows = self.db.query(
            select(*webhook_deliveries.c).join(
                last,
                (webhook_deliveries.c.subscription_id == last.c.subscription_id)
                & (webhook_deliveries.c.position == last.c.position),
            )
        )
        found = [Delivery(*r) for r in rows]
        return {UUID(d.subscription_id): d for d in found}

    def counts(self, subscription_id: UUID | None = None) -> dict[str, int]:
        """Deliveries by status, over every subscription or of one."""
        query = select(webhook_deliveries.c.status, func.count())
        if subscription_id is not None:
            query = query.where(webhook_deliveries.c.subscription_id == str(subscription_id))
        rows = self.db.query(query.group_by(webhook_deliveries.c.status))
        return {str(s): int(n) for s, n in rows}

    def oldest_pending(self) -> datetime | None:
        """When the oldest delivery still being retried was first tried."""
        rows = self.db.query(
            select(func.min(webhook_deliveries.c.first_at)).where(
                webhook_deliveries.c.status == PENDING
            )
        )
        value = rows[0][0] if rows else None
        return None if value is None else datetime.fromisoformat(value)

    def close(self) -> None:
        """Close the SQLite file (a PostgreSQL pool is closed by its owner)."""
        if self._owns:
            self.db.close()


def _upsert(kind: str) -> Any:
    """Insert a delivery log row, or replace the row of the same delivery."""
    statement = upsert(kind, webhook_deliveries)
    return statement.on_conflict_do_update(
        index_elements=[webhook_deliveries.c.delivery_id],
        set_={
            c.name: statement.excluded[c.name]
            for c in webhook_deliveries.c
            if c.name != "delivery_id"
        },
    )


def _put(kind: str, c: Connection, delivery: Delivery) -> None:
    c.execute(_upsert(kind), delivery.as_dict())


def rows(found: Sequence[Delivery]) -> list[dict[str, Any]]:
    """Delivery log rows as JSON."""
    return [d.as_dict() for d in found]
