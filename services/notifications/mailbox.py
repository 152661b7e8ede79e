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

from services.clock import Clock, SystemClock
from services.storage.sqlite import SQLiteDatabase

_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)
_COLUMNS = "message_id, received_at, recipient, size, file, seq"


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
        with self._db.transaction() as c:
            c.execute(
                "CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY, message_id TEXT, "
                "received_at TEXT, recipient TEXT, size INTEGER, file TEXT)"
            )
            c.execute("CREATE INDEX IF NOT EXISTS by_id ON messages (message_id)")
            c.execute("CREATE TABLE IF NOT EXISTS withheld (message_id TEXT PRIMARY KEY)")

    def _stored(self, row: Sequence[Any]) -> Stored:
        return Stored(row[0], row[1], row[2], row[3], self.directory / row[4], row[5])

    def store(self, content: bytes, recipients: list[str]) -> str:
        """Keep a received message (unless its Message-ID is withheld); return its
        Message-ID (or a placeholder)."""
        found = _MESSAGE_ID.search(content.split(b"\r\n\r\n", 1)[0])
        message_id = found.group(1).decode() if found else "<none>"
        with self._db.transaction() as c:
            c.execute("SELECT 1 FROM withheld WHERE message_id = ?", [message_id])
            if c.fetchone() is not None:
                return message_id
            c.execute(
                "INSERT INTO messages (message_id, received_at, recipient, size, file) "
                "VALUES (?, ?, ?, ?, '')",
                [message_id, self.clock.now().isoformat(), ",".join(recipients), len(content)],
            )
            seq = c.execute("SELECT last_insert_rowid()").fetchone()[0]
            name = f"{seq:08d}.eml"
            (self.directory / name).write_bytes(content)
            c.execute("UPDATE messages SET file = ? WHERE seq = ?", [name, seq])
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
            c.executemany(
                "INSERT INTO withheld (message_id) VALUES (?) ON CONFLICT DO NOTHING",
                [(m,) for m in ids],
            )
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ", ".join("?" for _ in chunk)
                c.execute(f"SELECT seq, file FROM messages WHERE message_id IN ({marks})", chunk)
                found = c.fetchall()
                for _, name in found:
                    if name:
                        (self.directory / name).unlink(missing_ok=True)
                c.executemany("DELETE FROM messages WHERE seq = ?", [(seq,) for seq, _ in found])
                removed += len(found)
        if removed:
            self._db.reclaim("messages")
        return removed

    def has(self, message_id: str) -> bool:
        """Whether a message with this Message-ID was received (and is still kept)."""
        return bool(
            self._db.fetch("SELECT 1 FROM messages WHERE message_id = ? LIMIT 1", [message_id])
        )

    def list(self, limit: int = 50) -> builtins.list[Stored]:
        """The most recent messages, newest first."""
        return self.page(limit=limit)

    def page(self, *, before: int | None = None, limit: int = 50) -> builtins.list[Stored]:
        """The messages received before sequence number ``before`` (default: all), newest
        first, with their sequence numbers."""
        rows = self._db.fetch(
            f"SELECT {_COLUMNS} FROM messages WHERE seq < ? ORDER BY seq DESC LIMIT ?",
            [before if before is not None else 2**62, limit],
        )
        return [self._stored(r) for r in rows]

    def find(self, *, seq: int | None = None, message_id: str | None = None) -> Stored | None:
        """The message with this sequence number, or the newest with this Message-ID."""
        value: int | str
        if seq is not None:
            where, value = "seq = ?", seq
        elif message_id is not None:
            where, value = "message_id = ?", message_id
        else:
            return None
        rows = self._db.fetch(
            f"SELECT {_COLUMNS} FROM messages WHERE {where} ORDER BY seq DESC LIMIT 1", [value]
        )
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
        return int(self._db.fetch("SELECT COUNT(*) FROM messages")[0][0])

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
