"""The local capture server (embedded default): a real SMTP server on loopback that keeps
every message it receives under the data directory, so notices can be read and counted.

Erasing a person reaches this copy too: :meth:`Mailbox.withhold` deletes the messages
sent to them (their files and index rows) and keeps their Message-IDs, so that a message
still on its way when they were erased is not kept when it arrives. The index is an SQLite
file with ``secure_delete`` on, its write-ahead log truncated after each removal.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import ColumnElement, delete, func, insert, select, update

from services.clock import Clock, SystemClock
from services.notifications.mailbox_tables import messages, withheld
from services.storage.schema import MAILBOX, upgrade
from services.storage.sql import chunks, upsert
from services.storage.sqlite import SQLiteDatabase

_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)
_m = messages.c
_COLUMNS = (_m.message_id, _m.received_at, _m.recipient, _m.size, _m.file, _m.seq)


@dataclass(frozen=True)
class Stored:
    """A message in the mailbox."""

    message_id: str
    received_at: str
    recipient: str
    size: int
    path: Path
    seq: int = 0
    """Its sequence number in the mailbox (1 for the first message received)."""


class Mailbox:
    """Messages on disk (one .eml file each) with an index in ``index.db``; ``clock`` dates
    the messages received (the system's clock when not given: a mailbox opened only to
    withhold messages dates none)."""

    def __init__(self, directory: Path, clock: Clock | None = None) -> None:
        self.directory = directory
        self.clock = clock or SystemClock()
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._db = SQLiteDatabase(directory / "index.db", secure_delete=True)
        upgrade(self._db, MAILBOX)

    def _stored(self, row: Sequence[Any]) -> Stored:
        return Stored(row[0], row[1], row[2], row[3], self.directory / row[4], row[5])

    def store(self, content: bytes, recipients: list[str]) -> str:
        """Keep a received message (unless its Message-ID is withheld); return its
        Message-ID (or a placeholder)."""
        found = _MESSAGE_ID.search(content.split(b"\r\n\r\n", 1)[0])
        message_id = found.group(1).decode() if found else "<none>"
        with self._db.transaction() as c:
            held = select(withheld.c.message_id).where(withheld.c.message_id == message_id)
            if c.execute(held).first() is not None:
                return message_id
            added = c.execute(
                insert(messages).values(
                    message_id=message_id,
                    received_at=self.clock.now().isoformat(),
                    recipient=",".join(recipients),
                    size=len(content),
                    file="",
                )
            )
            seq = added.lastrowid
            name = f"{seq:08d}.eml"
            (self.directory / name).write_bytes(content)
            c.execute(update(messages).where(_m.seq == seq).values(file=name))
        return message_id

    def withhold(self, message_ids: Sequence[str]) -> int:
        """Delete the messages with these Message-IDs (files, then index rows, in one
        transaction: a crash in between leaves rows whose files are gone, which the next
        call removes) and keep none that arrive with them later; return how many went."""
        ids = list(dict.fromkeys(message_ids))
        if not ids:
            return 0
        removed = 0
        with self._db.transaction() as c:
            c.execute(
                upsert(self._db.kind, withheld).on_conflict_do_nothing(),
                [{"message_id": m} for m in ids],
            )
            for chunk in chunks(ids):
                found = c.execute(select(_m.seq, _m.file).where(_m.message_id.in_(chunk))).all()
                for _, name in found:
                    if name:
                        (self.directory / name).unlink(missing_ok=True)
                if found:
                    c.execute(delete(messages).where(_m.seq.in_([seq for seq, _ in found])))
                removed += len(found)
        if removed:
            self._db.reclaim(messages)
        return removed

    def has(self, message_id: str) -> bool:
        """Whether a message with this Message-ID was received (and is still kept)."""
        return bool(self._db.query(select(_m.seq).where(_m.message_id == message_id).limit(1)))

    def list(self, limit: int = 50) -> builtins.list[Stored]:
        """The most recent messages, newest first."""
        return self.page(limit=limit)

    def page(self, *, before: int | None = None, limit: int = 50) -> builtins.list[Stored]:
        """The messages received before sequence number ``before`` (default: all), newest
        first, with their sequence numbers."""
        rows = self._db.query(
            select(*_COLUMNS)
            .where(_m.seq < (before if before is not None else 2**62))
            .order_by(_m.seq.desc())
            .limit(limit)
        )
        return [self._stored(r) for r in rows]

    def find(self, *, seq: int | None = None, message_id: str | None = None) -> Stored | None:
        """The message with this sequence number, or the newest with this Message-ID."""
        where: ColumnElement[bool]
        if seq is not None:
            where = _m.seq == seq
        elif message_id is not None:
            where = _m.message_id == message_id
        else:
            return None
        rows = self._db.query(select(*_COLUMNS).where(where).order_by(_m.seq.desc()).limit(1))
        if not rows:
            return None
        stored = self._stored(rows[0])
        return stored if stored.path.is_file() else None

    @staticmethod
    def parse(stored: Stored) -> Any:
        """The parsed message a :class:`Stored` entry names."""
        return message_from_bytes(stored.path.read_bytes(), policy=policy.default)

    def count(self) -> int:
        """How many messages are kept."""
        return int(self._db.query(select(func.count()).select_from(messages))[0][0])

    def read(self, message_id: str) -> Any:
        """The parsed message with this Message-ID (the newest, if received twice)."""
        stored = self.find(message_id=message_id)
        if stored is None:
            return None
        try:
            return self.parse(stored)
        except FileNotFoundError:
            return None

    def close(self) -> None:
        """Close the index."""
        self._db.close()


class _Handler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        content = envelope.original_content or envelope.content
        message_id = self.mailbox.store(bytes(content), list(envelope.rcpt_tos))
        return f"250 2.0.0 OK stored {message_id}"


class MailboxCheck:
    """Delivery check against the local mailbox: did the capture server receive it?"""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    def delivered(self, message_id: str) -> bool | None:
        """Whether the capture server received the message."""
        return self.mailbox.has(message_id)


class CaptureServer:
    """An SMTP server on 127.0.0.1 that stores what it receives in a :class:`Mailbox`."""

    def __init__(self, mailbox: Mailbox, port: int = 0) -> None:
        self.mailbox = mailbox
        self._controller = Controller(
            _Handler(mailbox), hostname="127.0.0.1", port=port or _free_port(), decode_data=False
        )

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._controller.port)

    def start(self) -> CaptureServer:
        """Start listening (in a background thread)."""
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        self._controller.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
