"""The local capture server (embedded default): a real SMTP server on loopback that keeps
every message it receives under the data directory, so notices can be read and counted."""

from __future__ import annotations

import builtins
import re
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


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
    """Messages on disk (one .eml file each) with an index in ``index.db``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(directory / "index.db", check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY, message_id TEXT, "
            "received_at TEXT, recipient TEXT, size INTEGER, file TEXT)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS by_id ON messages (message_id)")

    def store(self, content: bytes, recipients: list[str]) -> str:
        """Keep a received message; return its Message-ID (or a placeholder)."""
        found = _MESSAGE_ID.search(content.split(b"\r\n\r\n", 1)[0])
        message_id = found.group(1).decode() if found else "<none>"
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO messages (message_id, received_at, recipient, size, file) "
                "VALUES (?, ?, ?, ?, '')",
                (message_id, datetime.now(UTC).isoformat(), ",".join(recipients), len(content)),
            )
            seq = cursor.lastrowid
            name = f"{seq:08d}.eml"
            (self.directory / name).write_bytes(content)
            self._db.execute("UPDATE messages SET file = ? WHERE seq = ?", (name, seq))
            self._db.commit()
        return message_id

    def has(self, message_id: str) -> bool:
        """Whether a message with this Message-ID was received."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM messages WHERE message_id = ? LIMIT 1", (message_id,)
            ).fetchone()
        return row is not None

    def list(self, limit: int = 50) -> list[Stored]:
        """The most recent messages, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT message_id, received_at, recipient, size, file FROM messages "
                "ORDER BY seq DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [Stored(r[0], r[1], r[2], r[3], self.directory / r[4]) for r in rows]

    def page(self, *, before: int | None = None, limit: int = 50) -> builtins.list[Stored]:
        """The messages received before sequence number ``before`` (default: all), newest
        first, with their sequence numbers."""
        with self._lock:
            rows = self._db.execute(
                "SELECT message_id, received_at, recipient, size, file, seq FROM messages "
                "WHERE seq < ? ORDER BY seq DESC LIMIT ?",
                (before if before is not None else 2**62, limit),
            ).fetchall()
        return [Stored(r[0], r[1], r[2], r[3], self.directory / r[4], r[5]) for r in rows]

    def find(self, *, seq: int | None = None, message_id: str | None = None) -> Stored | None:
        """The message with this sequence number, or the newest with this Message-ID."""
        value: int | str
        if seq is not None:
            where, value = "seq = ?", seq
        elif message_id is not None:
            where, value = "message_id = ?", message_id
        else:
            return None
        with self._lock:
            r = self._db.execute(
                "SELECT message_id, received_at, recipient, size, file, seq FROM messages "
                f"WHERE {where} ORDER BY seq DESC LIMIT 1",
                (value,),
            ).fetchone()
        return None if r is None else Stored(r[0], r[1], r[2], r[3], self.directory / r[4], r[5])

    @staticmethod
    def parse(stored: Stored) -> Any:
        """The parsed message a :class:`Stored` entry names."""
        return message_from_bytes(stored.path.read_bytes(), policy=policy.default)

    def count(self) -> int:
        """How many messages were received."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM messages").fetchone()[0])

    def read(self, message_id: str) -> Any:
        """The parsed message with this Message-ID (the newest, if received twice)."""
        with self._lock:
            row = self._db.execute(
                "SELECT file FROM messages WHERE message_id = ? ORDER BY seq DESC LIMIT 1",
                (message_id,),
            ).fetchone()
        if row is None:
            return None
        return message_from_bytes((self.directory / row[0]).read_bytes(), policy=policy.default)

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
