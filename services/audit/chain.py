"""The hash chain over the stored events, and signed checkpoints.

Each stored event, in log order, gets a link: ``link[n] = SHA-256(link[n-1] || event[n])``
where ``event[n]`` is a canonical encoding of the stored event (position, aggregate id and
version, topic, and the SHA-256 of its stored bytes). Links live in their own file, apart
from the events; checkpoints sign a link with an HMAC key kept outside both databases. An
edited, deleted, inserted or reordered stored event changes every link from its position on,
and nobody without the key can forge a checkpoint to match.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

GENESIS = "0" * 64


class RawLog(Protocol):
    """Reads stored events in log order, undecoded."""

    def read_raw(self, after: int, limit: int) -> Sequence[Any]:
        """Notifications (id, originator_id, originator_version, topic, state)."""
        ...

    def head(self) -> int:
        """The last position."""
        ...


def event_digest(
    position: int, originator_id: Any, version: int, topic: str, state: bytes | str
) -> str:
    """SHA-256 of the canonical encoding of one stored event."""
    oid = originator_id.hex if hasattr(originator_id, "hex") else str(originator_id)
    raw = state.encode() if isinstance(state, str) else bytes(state)
    body = hashlib.sha256(raw).hexdigest()
    canonical = f"{position}|{oid}|{version}|{topic}|{body}".encode()
    return hashlib.sha256(canonical).hexdigest()


def next_link(previous: str, digest: str) -> str:
    """The link that follows ``previous`` for an event with ``digest``."""
    return hashlib.sha256(bytes.fromhex(previous) + bytes.fromhex(digest)).hexdigest()


def sign(key: bytes, position: int, link: str) -> str:
    """The HMAC signature of a checkpoint."""
    return hmac.new(key, f"{position}|{link}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that the chain up to ``position`` ends in ``link``."""

    position: int
    link: str
    signature: str
    at: str


class ChainStore:
    """Links and checkpoints in their own SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS links (position INTEGER PRIMARY KEY, "
            "digest TEXT NOT NULL, link TEXT NOT NULL)"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS checkpoints (position INTEGER PRIMARY KEY, "
            "link TEXT NOT NULL, signature TEXT NOT NULL, at TEXT NOT NULL)"
        )

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def last(self) -> tuple[int, str]:
        """The last linked position and its link (0 and the genesis link when empty)."""
        with self._lock:
            row = self._db.execute(
                "SELECT position, link FROM links ORDER BY position DESC LIMIT 1"
            ).fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    def append(
        self, after: int, rows: Sequence[tuple[int, str, str]], checkpoint: Checkpoint | None
    ) -> bool:
        """Add links (position, digest, link) if the chain still ends at ``after``."""
        with self._tx() as db:
            row = db.execute("SELECT MAX(position) FROM links").fetchone()
            if (row[0] or 0) != after:
                return False
            db.executemany("INSERT INTO links VALUES (?, ?, ?)", rows)
            if checkpoint is not None:
                db.execute(
                    "INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?, ?)",
                    (checkpoint.position, checkpoint.link, checkpoint.signature, checkpoint.at),
                )
        return True

    def links(self, start: int, stop: int) -> list[tuple[int, str, str]]:
        """Links with start <= position <= stop."""
        with self._lock:
            return list(
                self._db.execute(
                    "SELECT position, digest, link FROM links WHERE position BETWEEN ? AND ? "
                    "ORDER BY position",
                    (start, stop),
                )
            )

    def link_at(self, position: int) -> str | None:
        """The link at a position (the genesis link at 0)."""
        if position == 0:
            return GENESIS
        with self._lock:
            row = self._db.execute(
                "SELECT link FROM links WHERE position = ?", (position,)
            ).fetchone()
        return row[0] if row else None

    def checkpoints(self) -> list[Checkpoint]:
        """Every checkpoint, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT position, link, signature, at FROM checkpoints ORDER BY position"
            ).fetchall()
        return [Checkpoint(*r) for r in rows]

    def covering(self, position: int) -> Checkpoint | None:
        """The first checkpoint at or after ``position``."""
        with self._lock:
            row = self._db.execute(
                "SELECT position, link, signature, at FROM checkpoints WHERE position >= ? "
                "ORDER BY position LIMIT 1",
                (position,),
            ).fetchone()
        return Checkpoint(*row) if row else None

    def close(self) -> None:
        """Close the file."""
        self._db.close()


class ChainWorker:
    """Extends the chain to the head of the log, ending each run with a signed checkpoint."""

    def __init__(self, log: RawLog, store: ChainStore, key: bytes, batch: int = 2000) -> None:
        self.log = log
        self.store = store
        self.key = key
        self.batch = batch

    def catch_up(self) -> int:
        """Link every new event; return how many were linked."""
        linked = 0
        while True:
            position, link = self.store.last()
            notifications = self.log.read_raw(position, self.batch)
            if not notifications:
                return linked
            rows = []
            for n in notifications:
                if n.id != position + 1:
                    msg = f"the log has a gap: position {position + 1} is missing (found {n.id})"
                    raise ChainBroken(position + 1, msg)
                digest = event_digest(n.id, n.originator_id, n.originator_version, n.topic, n.state)
                link = next_link(link, digest)
                position = n.id
                rows.append((position, digest, link))
            more = len(notifications) == self.batch
            checkpoint = None
            if not more:
                checkpoint = Checkpoint(
                    position, link, sign(self.key, position, link), datetime.now(UTC).isoformat()
                )
            if self.store.append(rows[0][0] - 1, rows, checkpoint):
                linked += len(rows)


class ChainBroken(Exception):
    """The chain cannot be extended or verified from ``position`` on."""

    def __init__(self, position: int, reason: str) -> None:
        super().__init__(reason)
        self.position = position
        self.reason = reason


@dataclass(frozen=True)
class Verdict:
    """The result of a verification."""

    ok: bool
    checked: int
    checkpoints: int
    first_bad_position: int | None = None
    reason: str = ""
    unverified_tail: int = 0


def verify(log: RawLog, store: ChainStore, key: bytes) -> Verdict:
    """Recompute the chain over the live log and compare it with the stored links and the
    signed checkpoints; name the first position where they disagree."""
    checkpoints = {c.position: c for c in store.checkpoints()}
    for c in checkpoints.values():
        if not hmac.compare_digest(c.signature, sign(key, c.position, c.link)):
            return Verdict(
                False,
                0,
                0,
                c.position,
                "a checkpoint's signature does not match "
                "(wrong key, or the checkpoint was altered)",
            )
    position, link = 0, GENESIS
    checked = 0
    last_linked, _ = store.last()
    while True:
        notifications = log.read_raw(position, 2000)
        stored = {p: (d, lk) for p, d, lk in store.links(position + 1, position + 2000)}
        if not notifications:
            break
        for n in notifications:
            expected = position + 1
            if n.id != expected:
                reason = f"position {expected} is missing from the log (deleted event)"
                if n.id < expected:
                    reason = f"position {n.id} appears out of order"
                return Verdict(False, checked, len(checkpoints), expected, reason)
            digest = event_digest(n.id, n.originator_id, n.originator_version, n.topic, n.state)
            link = next_link(link, digest)
            position = n.id
            if position > last_linked:
                return Verdict(
                    True, checked, len(checkpoints), unverified_tail=log.head() - last_linked
                )
            stored_digest, stored_link = stored.get(position, ("", ""))
            if stored_digest != digest:
                return Verdict(
                    False,
                    checked,
                    len(checkpoints),
                    position,
                    "the stored event differs from the one that was linked "
                    "(edited, inserted or reordered)",
                )
            if stored_link != link:
                return Verdict(
                    False,
                    checked,
                    len(checkpoints),
                    position,
                    "the chain's link differs from the recomputed one",
                )
            signed = checkpoints.get(position)
            if signed is not None and signed.link != link:
                return Verdict(
                    False,
                    checked,
                    len(checkpoints),
                    position,
                    "the chain differs from the signed checkpoint",
                )
            checked += 1
    if position < last_linked:
        return Verdict(
            False,
            checked,
            len(checkpoints),
            position + 1,
            f"the log ends at {position} but {last_linked} events were linked "
            "(events deleted from the end)",
        )
    return Verdict(True, checked, len(checkpoints))
