"""The hash chain over the stored events, and signed checkpoints.

Each stored event, in log order, gets a link: ``link[n] = SHA-256(link[n-1] || event[n])``
where ``event[n]`` is a canonical encoding of the stored event (position, aggregate id and
version, topic, and the SHA-256 of its stored bytes). Links live apart from the events (their
own SQLite file, or their own tables in PostgreSQL); checkpoints sign a link with an HMAC key
kept outside both databases. An edited, deleted, inserted or reordered stored event changes
every link from its position on, and nobody without the key can forge a checkpoint to match.

Each run of the linker ends with a checkpoint; a busy server links after nearly every
write. Of the checkpoints made within one minute only the first and the last are kept (the
newest of all signs the whole chain): two a minute are enough for an auditor's bundle to be
covered soon after its last event, where one a write would store each link twice.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import structlog
from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.engine import Connection

from services.audit.tables import checkpoints, links
from services.clock import Clock
from services.feeds.base import Feed
from services.feeds.processor import Outcome, Runner, drive
from services.feeds.progress import RunnerProgress, runner_key
from services.storage.event_reads import RawEvent
from services.storage.schema import AUDIT, upgrade
from services.storage.sql import Database, Prepared, upsert
from services.storage.sqlite import SQLiteDatabase

log = structlog.get_logger()
CHECKPOINT = (checkpoints.c.position, checkpoints.c.link, checkpoints.c.signature, checkpoints.c.at)

GENESIS = "0" * 64
ABSENT = "0" * 64
"""The digest linked for a position no event holds (a number the log's sequence skipped)."""


class RawLog(Protocol):
    """Reads stored events in log order, undecoded."""

    def read_rows(self, after: int, limit: int) -> Sequence[RawEvent]:
        """Stored events after ``after``, in log order, as plain tuples, read from the store
        (what verifying reads)."""
        ...

    def read_new_rows(self, after: int, limit: int) -> Sequence[RawEvent]:
        """The same for linking new events (it may answer with what this process read
        of the log a moment ago)."""
        ...

    def head(self) -> int:
        """The last position."""
        ...


def event_digest(
    position: int, originator_id: Any, version: int, topic: str, state: bytes | str
) -> str:
    """SHA-256 of the canonical encoding of one stored event."""
    if type(originator_id) is str:
        oid = originator_id
    else:
        oid = originator_id.hex if hasattr(originator_id, "hex") else str(originator_id)
    if type(state) is not bytes:
        state = state.encode() if isinstance(state, str) else bytes(state)
    raw = state
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

    @property
    def minute(self) -> datetime:
        """The minute it was made in (UTC)."""
        return datetime.fromisoformat(self.at).astimezone(UTC).replace(second=0, microsecond=0)


class ChainStore:
    """Links and checkpoints in their own database (an SQLite file, or tables of the
    PostgreSQL schema).

    ``allow_gaps`` says the log's positions may skip numbers that no event will ever hold
    (on PostgreSQL a sequence numbers the events, and a write that fails after drawing a
    number leaves it unused): such positions are linked as :data:`ABSENT` and must stay
    empty. Without it (SQLite numbers events with no gaps) a missing position is a deleted
    event.
    """

    def __init__(self, database: Path | Database, *, allow_gaps: bool = False) -> None:
        self.allow_gaps = allow_gaps
        self.db: Database = SQLiteDatabase(database) if isinstance(database, Path) else database
        upgrade(self.db, AUDIT)
        self._end = Prepared(select(func.max(links.c.position)))
        self._insert = Prepared(insert(links))
        self._between = Prepared(
            select(links.c.position, links.c.digest, links.c.link)
            .where(links.c.position.between(bindparam("start"), bindparam("stop")))
            .order_by(links.c.position)
        )
        self._newest = Prepared(
            select(*CHECKPOINT).order_by(checkpoints.c.position.desc()).limit(2)
        )
        self._drop = Prepared(
            delete(checkpoints).where(checkpoints.c.position == bindparam("position"))
        )
        signed = upsert(self.db.kind, checkpoints).values(
            {c.name: bindparam(c.name) for c in CHECKPOINT}
        )
        self._checkpoint = Prepared(
            signed.on_conflict_do_update(
                index_elements=[checkpoints.c.position],
                set_={
                    "link": signed.excluded.link,
                    "signature": signed.excluded.signature,
                    "at": signed.excluded.at,
                },
            )
        )

    def last(self) -> tuple[int, str]:
        """The last linked position and its link (0 and the genesis link when empty)."""
        rows = self.db.query(
            select(links.c.position, links.c.link).order_by(links.c.position.desc()).limit(1)
        )
        return (int(rows[0][0]), rows[0][1]) if rows else (0, GENESIS)

    def append(
        self, after: int, rows: Sequence[tuple[int, str, str]], checkpoint: Checkpoint | None
    ) -> bool:
        """Add links (position, digest, link) if the chain still ends at ``after`` (two
        linkers racing: the one that finds the chain moved adds nothing)."""
        # The chain is derived from the log: links lost with their commit in a power
        # failure are linked again, the same, from the log, which waits for the disk.
        with self.db.transaction(lock="chain", durable=False) as c:
            end = self._end.run(c).scalar()
            if (end or 0) != after:
                return False
            if rows:
                self._insert.many(
                    c, [{"position": p, "digest": d, "link": lk} for p, d, lk in rows]
                )
            if checkpoint is not None:
                self._thin(c, checkpoint)
                self._checkpoint.run(
                    c,
                    {
                        "position": checkpoint.position,
                        "link": checkpoint.link,
                        "signature": checkpoint.signature,
                        "at": checkpoint.at,
                    },
                )
        return True

    def _thin(self, c: Connection, new: Checkpoint) -> None:
        """Before ``new`` is added: drop the newest checkpoint when it and the one before it
        were made in ``new``'s minute (the first and the last of a minute are kept)."""
        rows = self._newest.run(c).all()
        if len(rows) < 2:
            return
        newest, before = (Checkpoint(int(r[0]), r[1], r[2], r[3]) for r in rows)
        if newest.position < new.position and newest.minute == before.minute == new.minute:
            self._drop.run(c, {"position": newest.position})

    def links(self, start: int, stop: int) -> list[tuple[int, str, str]]:
        """Links with start <= position <= stop."""
        return [
            (int(p), d, lk)
            for p, d, lk in self.db.query(self._between, {"start": start, "stop": stop})
        ]

    def link_at(self, position: int) -> str | None:
        """The link at a position (the genesis link at 0)."""
        if position == 0:
            return GENESIS
        rows = self.db.query(select(links.c.link).where(links.c.position == position))
        return str(rows[0][0]) if rows else None

    def checkpoints(self) -> list[Checkpoint]:
        """Every checkpoint, oldest first."""
        rows = self.db.query(select(*CHECKPOINT).order_by(checkpoints.c.position))
        return [Checkpoint(int(r[0]), r[1], r[2], r[3]) for r in rows]

    def covering(self, position: int) -> Checkpoint | None:
        """The first checkpoint at or after ``position``."""
        rows = self.db.query(
            select(*CHECKPOINT)
            .where(checkpoints.c.position >= position)
            .order_by(checkpoints.c.position)
            .limit(1)
        )
        return Checkpoint(int(rows[0][0]), rows[0][1], rows[0][2], rows[0][3]) if rows else None

    def close(self) -> None:
        """Release the database (an SQLite file is closed; a shared pool is left open)."""
        if isinstance(self.db, SQLiteDatabase):
            self.db.close()


class ChainProcessor:
    """A :class:`~services.feeds.processor.Processor` extending the chain over stored events
    (undecoded notifications), each batch of links in one transaction that finds the chain
    still ending where it was read; the last batch of a run ends with a signed checkpoint.

    When the store allows gaps, a position missing below a present one is linked as
    :data:`ABSENT`; otherwise a missing position stops the chain. ``batch`` is the size of
    the batches read (a full batch with more in the log is not checkpointed); ``clock``
    dates the checkpoints.
    """

    kind = "chain"
    name = "chain"
    labels: dict[str, Any] = {}

    def __init__(
        self, log: RawLog, store: ChainStore, key: bytes, batch: int, *, clock: Clock
    ) -> None:
        self.log = log
        self.store = store
        self.key = key
        self.batch = batch
        self.clock = clock
        self._end: tuple[int, str] = (0, GENESIS)
        self._known = False

    def position(self, stream: str = "") -> int:
        """The last linked position (the chain has one stream: the store's log), as this
        processor last linked it, or as the store tells when it does not know (at first,
        and after another linker moved the chain)."""
        if not self._known:
            self._end = self.store.last()
            self._known = True
        return self._end[0]

    def process(self, items: Sequence[RawEvent], after: int, stream: str = "") -> Outcome:
        """Link the notifications after ``after``."""
        start, link = self._end if self._known and self._end[0] == after else self.store.last()
        if start != after:
            self._known = False
            return Outcome(0, start, raced=True)
        position = start
        rows = []
        for at, originator_id, version, topic, state in items:
            if at != position + 1 and not self.store.allow_gaps:
                msg = f"the log has a gap: position {position + 1} is missing (found {at})"
                raise ChainBroken(position + 1, msg)
            for missing in range(position + 1, at):
                link = next_link(link, ABSENT)
                rows.append((missing, ABSENT, link))
            digest = event_digest(at, originator_id, version, topic, state)
            link = next_link(link, digest)
            position = at
            rows.append((position, digest, link))
        more = len(items) == self.batch and self.log.head() > position
        checkpoint = None
        if not more:
            checkpoint = Checkpoint(
                position, link, sign(self.key, position, link), self.clock.now().isoformat()
            )
        if not self.store.append(start, rows, checkpoint):
            self._known = False
            return Outcome(0, start, raced=True)
        self._end = (position, link)
        self._known = True
        return Outcome(len(items), position)


CHAIN_KEY = runner_key(ChainProcessor.kind, ChainProcessor.name)
"""The key the chain's runner reports its progress under."""


class ChainWorker:
    """Extends the chain to the head of the log, ending each run with a signed checkpoint
    (see :class:`ChainProcessor`)."""

    def __init__(
        self, log: RawLog, store: ChainStore, key: bytes, batch: int = 2000, *, clock: Clock
    ) -> None:
        self.log = log
        self.store = store
        self.processor = ChainProcessor(log, store, key, batch, clock=clock)

    def runner(self, feed: Feed) -> Runner[Any]:
        """The chain kept at the head of ``feed``, read in batches from the log."""
        return Runner(
            self.processor, feed, read=self.log.read_new_rows, batch_size=self.processor.batch
        )

    def run(
        self,
        stop: threading.Event,
        feed: Feed,
        *,
        interval: float = 2.0,
        progress: RunnerProgress | None = None,
    ) -> None:
        """Keep the chain at the head of ``feed`` until ``stop`` is set (the chain is kept
        in the store, so one linker at a time does the work and a second finds nothing);
        each save wakes it, ``interval`` is how long it waits when none does, and
        ``progress`` is told the position each pass linked up to."""

        def linked(events: int) -> None:
            if events:
                log.info("chain.linked", events=events)

        self.runner(feed).run(stop, interval, after_pass=linked, progress=progress)

    def catch_up(self) -> int:
        """Link every new event; return how many were linked."""
        return drive(
            self.processor, lambda after: self.log.read_new_rows(after, self.processor.batch)
        )


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
    signed checkpoints; name the first position where they disagree.

    A position linked as :data:`ABSENT` must still be empty; any other linked position must
    hold the very event that was linked."""
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
    check = _Recomputed(checkpoints)
    last_linked, _ = store.last()
    for notifications, stored in _batches(log, store, last_linked):
        for at, originator_id, version, topic, state in notifications:
            if at <= check.position:
                return check.fail(at, f"position {at} appears out of order")
            for missing in range(check.position + 1, at):
                if missing > last_linked:
                    if store.allow_gaps:
                        break
                    return check.fail(
                        missing, f"position {missing} is missing from the log (deleted event)"
                    )
                stored_digest, stored_link = stored.get(missing, ("", ""))
                if stored_digest != ABSENT:
                    return check.fail(
                        missing, f"position {missing} is missing from the log (deleted event)"
                    )
                failure = check.step(missing, ABSENT, stored_link)
                if failure is not None:
                    return failure
            if at > last_linked:
                return Verdict(
                    True, check.checked, len(checkpoints), unverified_tail=log.head() - last_linked
                )
            digest = event_digest(at, originator_id, version, topic, state)
            stored_digest, stored_link = stored.get(at, ("", ""))
            if stored_digest != digest:
                reason = (
                    "an event appeared where the log had none when it was linked (inserted)"
                    if stored_digest == ABSENT
                    else "the stored event differs from the one that was linked "
                    "(edited, inserted or reordered)"
                )
                return check.fail(at, reason)
            failure = check.step(at, digest, stored_link)
            if failure is not None:
                return failure
            check.checked += 1
    if check.position < last_linked:
        return check.fail(
            check.position + 1,
            f"the log ends at {check.position} but {last_linked} positions were linked "
            "(events deleted from the end)",
        )
    return Verdict(True, check.checked, len(checkpoints))


VERIFY_BATCH = 2000
"""How many stored events a verification reads at once."""


def _batches(
    log: RawLog, store: ChainStore, last_linked: int
) -> Iterator[tuple[Sequence[RawEvent], dict[int, tuple[str, str]]]]:
    """The log in batches, each with the stored links of its positions."""
    after = 0
    while notifications := log.read_rows(after, VERIFY_BATCH):
        top = min(notifications[-1][0], last_linked)
        yield notifications, {p: (d, lk) for p, d, lk in store.links(after + 1, top)}
        after = notifications[-1][0]


class _Recomputed:
    """The chain recomputed so far during a verification."""

    def __init__(self, checkpoints: dict[int, Checkpoint]) -> None:
        self.checkpoints = checkpoints
        self.position = 0
        self.link = GENESIS
        self.checked = 0

    def fail(self, position: int, reason: str) -> Verdict:
        """A failed verdict at ``position``."""
        return Verdict(False, self.checked, len(self.checkpoints), position, reason)

    def step(self, position: int, digest: str, stored_link: str) -> Verdict | None:
        """Extend the recomputed chain by one position; a failed verdict when the stored link
        or a signed checkpoint disagrees."""
        self.link = next_link(self.link, digest)
        self.position = position
        if stored_link != self.link:
            return self.fail(position, "the chain's link differs from the recomputed one")
        signed = self.checkpoints.get(position)
        if signed is not None and signed.link != self.link:
            return self.fail(position, "the chain differs from the signed checkpoint")
        return None
