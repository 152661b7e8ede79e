"""Looking at a store the way an auditor (or an intruder) would: straight at its tables, in
the SQLite files of a data directory or in the PostgreSQL schema the settings name."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from services.config import Settings
from tests.support import postgres


@dataclass(frozen=True)
class Store:
    """Which store a test runs on (and its schema, on PostgreSQL)."""

    kind: str
    schema: str = "public"

    @property
    def postgres(self) -> bool:
        """Whether the test runs on PostgreSQL."""
        return self.kind == "postgres"

    def settings(self, data_dir: Path, **values: object) -> Settings:
        """Settings of this store, with ``values`` set too (password hashing made cheap, as
        the tests check no password strength)."""
        values = {"password_hash_memory_kib": 64, **values}
        if self.postgres:
            values = {
                "database_url": postgres.URL,
                "database_schema": self.schema,
                **postgres.SECRETS,
                **values,
            }
        return Settings(data_dir=data_dir, **values)  # type: ignore[arg-type]

    def env(self, **values: str) -> dict[str, str]:
        """The process environment of a ``breach`` command or a script on this store."""
        env = {**os.environ, **values}
        if self.postgres:
            env["BREACH_DATABASE_URL"] = postgres.URL
            env["BREACH_DATABASE_SCHEMA"] = self.schema
            env.update({f"BREACH_{k.upper()}": v for k, v in postgres.SECRETS.items()})
        return env


def count_events(where: Path | Settings) -> int:
    """How many events are stored (0 when there is no store yet): under a data directory,
    or wherever the settings put the store."""
    if isinstance(where, Settings):
        return RawStore(where).count_events()
    path = Path(where) / "events.db"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        try:
            return int(db.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


class RawStore:
    """The tables of a store, reached without the application (statements take ``?``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.postgres = settings.database_url is not None
        self.schema = settings.database_schema
        self.events = "breachledger_events" if self.postgres else "stored_events"
        self.position = "notification_id" if self.postgres else "rowid"
        self.tracking = "breachledger_tracking" if self.postgres else "tracking"

    def run(self, part: str, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run a statement against the ``events``, ``audit`` or ``views`` part of the store."""
        if self.postgres:
            if not postgres.schema_exists(self.schema):
                return []
            return postgres.rows(self.schema, statement, params)
        files = {"events": "events.db", "audit": "audit.db", "keys": "keys.db"}
        path = self.settings.data_dir / files.get(part, "views.db")
        with sqlite3.connect(path) as db:
            return db.execute(statement, list(params)).fetchall()

    def count_events(self, topic: str | None = None) -> int:
        """How many events are stored (of one topic, if given)."""
        if not self.postgres and not (self.settings.data_dir / "events.db").exists():
            return 0
        where, params = ("WHERE topic = ?", [topic]) if topic else ("", [])
        try:
            found = self.run("events", f"SELECT COUNT(*) FROM {self.events} {where}", params)
        except (sqlite3.OperationalError, psycopg.errors.UndefinedTable):
            return 0
        return int(found[0][0]) if found else 0

    def files(self, pattern: str = "*") -> bytes:
        """Every byte of the files under the data directory matching ``pattern``."""
        paths = sorted(self.settings.data_dir.rglob(pattern))
        return b"".join(p.read_bytes() for p in paths if p.is_file())

    def tables(self, *names: str) -> bytes:
        """Every value of every row of the schema's tables (of those named, if any), the
        bytes of binary columns as they are (PostgreSQL only)."""
        assert self.postgres
        found = self.run(
            "events",
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
            [self.schema],
        )
        chosen = [t for (t,) in found if not names or t in names]
        out = bytearray()
        for table in sorted(chosen):
            for row in self.run("events", f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        out += bytes(value)
                    elif value is not None:
                        out += str(value).encode()
                    out += b"\x00"
        return bytes(out)

    def everything(self) -> bytes:
        """Every byte the store keeps: the files under the data directory, and on
        PostgreSQL every table of the schema."""
        return self.files() + (self.tables() if self.postgres else b"")

    def event_bytes(self) -> bytes:
        """Every byte of the event log as stored (files, or the events table's rows)."""
        return self.tables(self.events) if self.postgres else self.files("events.db*")

    def states(self) -> list[bytes]:
        """Every stored event's bytes, in log order."""
        found = self.run("events", f"SELECT state FROM {self.events} ORDER BY {self.position}")
        return [r[0].encode() if isinstance(r[0], str) else bytes(r[0]) for r in found]

    def stored(self) -> list[tuple[int, Any, int, str, bytes]]:
        """(position, aggregate id, version, topic, bytes) of every event, in log order."""
        found = self.run(
            "events",
            f"SELECT {self.position}, originator_id, originator_version, topic, state "
            f"FROM {self.events} ORDER BY {self.position}",
        )
        return [
            (int(p), o, int(v), t, s.encode() if isinstance(s, str) else bytes(s))
            for p, o, v, t, s in found
        ]

    def add_event(self, originator_id: Any, version: int, topic: str, state: bytes) -> None:
        """Write an event behind the application's back (at the next position)."""
        oid = originator_id if self.postgres else originator_id.hex
        self.run(
            "events",
            f"INSERT INTO {self.events} (originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?)",
            [oid, version, topic, state],
        )

    def edit_event(self, position: int, old: str, new: str) -> None:
        """Replace text in the stored bytes of the event at ``position``."""
        state = (
            "convert_to(replace(convert_from(state, 'UTF8'), ?, ?), 'UTF8')"
            if self.postgres
            else "replace(state, ?, ?)"
        )
        self.run(
            "events",
            f"UPDATE {self.events} SET state = {state} WHERE {self.position} = ?",
            [old, new, position],
        )

    def delete_event(self, position: int) -> None:
        """Delete the event at ``position``."""
        self.run("events", f"DELETE FROM {self.events} WHERE {self.position} = ?", [position])

    def shift_events(self, start: int, by: int) -> None:
        """Move every event at or after ``start`` by ``by`` positions."""
        self.run(
            "events",
            f"UPDATE {self.events} SET {self.position} = {self.position} + ? "
            f"WHERE {self.position} >= ?",
            [by, start],
        )

    def move_event(self, position: int, to: int) -> None:
        """Give the event at ``position`` the position ``to``."""
        self.run(
            "events",
            f"UPDATE {self.events} SET {self.position} = ? WHERE {self.position} = ?",
            [to, position],
        )

    def copy_event(self, position: int, to: int, version: int) -> None:
        """Insert at ``to`` a copy of the event at ``position``, under another version."""
        self.run(
            "events",
            f"INSERT INTO {self.events} ({self.position}, originator_id, originator_version, "
            f"topic, state) SELECT ?, originator_id, ?, topic, state FROM {self.events} "
            f"WHERE {self.position} = ?",
            [to, version, position],
        )

    def forget_tracking(self, name: str) -> None:
        """Delete a policy's tracking record from the event store."""
        self.run("events", f"DELETE FROM {self.tracking} WHERE application_name = ?", [name])
