"""The schema history of the tables kept beside the event log, on SQLite and on PostgreSQL: a
store made before the history was kept opens with its rows and is stamped at the baseline;
a fresh one gets every table at its head, exactly as the tables were first created."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import DOUBLE_PRECISION, REAL, create_engine

from services.audit import tables as audit_tables
from services.bootstrap import bootstrap
from services.config import Settings
from services.notifications import mailbox_tables
from services.notifications.mailbox import Mailbox
from services.storage.schema import (
    AUDIT,
    CREDENTIALS,
    HISTORIES,
    KEYS,
    MAILBOX,
    WEBHOOKS,
    config,
)
from services.users import tables as user_tables
from services.vault import tables as vault_tables
from tests.support import postgres
from tests.support.clocks import ManualClock
from tests.support.store import Store

# The statements that created the tables before their history was kept, as the stores ran
# them ({blob}, {integer}: the database's names of the raw-bytes and 64-bit integer types;
# {clustered}: `` WITHOUT ROWID`` on SQLite).
OLD_SCHEMA = {
    "credentials": [
        "CREATE TABLE IF NOT EXISTS passwords (username TEXT PRIMARY KEY, "
        "hash TEXT NOT NULL, must_change INTEGER NOT NULL DEFAULT 0)",
        "CREATE TABLE IF NOT EXISTS tokens (token_id TEXT PRIMARY KEY, "
        "username TEXT NOT NULL, hash TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS sessions (id_hash TEXT PRIMARY KEY, "
        "username TEXT NOT NULL, csrf TEXT NOT NULL, expires TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS sign_in_attempts (id TEXT PRIMARY KEY, "
        "username TEXT, client TEXT NOT NULL, at DOUBLE PRECISION NOT NULL)",
        "CREATE INDEX IF NOT EXISTS sign_in_attempts_username ON sign_in_attempts (username, at)",
        "CREATE INDEX IF NOT EXISTS sign_in_attempts_client ON sign_in_attempts (client, at)",
        "CREATE INDEX IF NOT EXISTS sign_in_attempts_at ON sign_in_attempts (at)",
    ],
    "keys": [
        "CREATE TABLE IF NOT EXISTS person_keys ("
        "key_id TEXT PRIMARY KEY, wrapped {blob} NOT NULL, "
        "created_at TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS pending_erasures (person_id TEXT PRIMARY KEY, "
        "key_ids TEXT NOT NULL, actor TEXT NOT NULL, correlation_id TEXT NOT NULL, "
        "reason TEXT NOT NULL, requested_at TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS person_lookups (person_id TEXT PRIMARY KEY, "
        "incident_id TEXT NOT NULL, email TEXT NOT NULL, reference TEXT){clustered}",
        "CREATE UNIQUE INDEX IF NOT EXISTS person_lookups_by_email "
        "ON person_lookups (email, incident_id)",
        "CREATE INDEX IF NOT EXISTS person_lookups_by_reference ON person_lookups (reference)",
        "CREATE TABLE IF NOT EXISTS lookup_index_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ],
    "audit": [
        "CREATE TABLE IF NOT EXISTS links (position {integer} PRIMARY KEY, "
        "digest TEXT NOT NULL, link TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS checkpoints (position {integer} PRIMARY KEY, "
        "link TEXT NOT NULL, signature TEXT NOT NULL, at TEXT NOT NULL)",
    ],
    "mailbox": [
        "CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY, message_id TEXT, "
        "received_at TEXT, recipient TEXT, size INTEGER, file TEXT)",
        "CREATE INDEX IF NOT EXISTS by_id ON messages (message_id)",
        "CREATE TABLE IF NOT EXISTS withheld (message_id TEXT PRIMARY KEY)",
    ],
}
LATER = {
    "credentials": [
        "CREATE TABLE user_addresses (user_id TEXT NOT NULL PRIMARY KEY, sealed TEXT NOT NULL)"
    ],
}
"""The tables later revisions of a branch add, as plain statements."""
FILES = {"credentials": "credentials.db", "keys": "keys.db", "audit": "audit.db"}
"""The SQLite file of each branch's tables under the data directory."""

OLD_ROWS = {
    "credentials": [
        ("INSERT INTO passwords VALUES (?, ?, ?)", ("olga", "!", 0)),
        ("INSERT INTO tokens VALUES (?, ?, ?)", ("0011223344556677", "olga", "ab" * 32)),
        ("INSERT INTO sessions VALUES (?, ?, ?, ?)", ("cd" * 32, "olga", "c", "2999-01-01")),
        ("INSERT INTO sign_in_attempts VALUES (?, ?, ?, ?)", ("a1", "olga", "ef" * 32, 5.5)),
    ],
    "keys": [
        ("INSERT INTO person_keys VALUES (?, ?, ?)", ("k1", b"\x00wrapped\xff", "2024-01-01")),
        ("INSERT INTO person_lookups VALUES (?, ?, ?, ?)", ("p1", "i1", "e1", "r1")),
        ("INSERT INTO lookup_index_meta VALUES (?, ?)", ("built_from_log", "0")),
    ],
    "audit": [
        ("INSERT INTO links VALUES (?, ?, ?)", (7, "d" * 64, "l" * 64)),
        ("INSERT INTO checkpoints VALUES (?, ?, ?, ?)", (7, "l" * 64, "s" * 64, "2024-01-03")),
    ],
    "mailbox": [
        ("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?)", (3, "<m@x>", "t", "r", 9, "f.eml")),
        ("INSERT INTO withheld VALUES (?)", ("<w@x>",)),
    ],
}
LEGACY = "CREATE TABLE IF NOT EXISTS sign_in_failures (username TEXT, at DOUBLE PRECISION)"
"""The account-only count the sign-in attempts replaced (dropped at the first start since)."""

METADATA = {
    "credentials": user_tables.metadata,
    "keys": vault_tables.metadata,
    "audit": audit_tables.metadata,
    "mailbox": mailbox_tables.metadata,
}


def old_statements(branch: str, kind: str) -> list[str]:
    """The old statements of a branch's tables, with the database's type names."""
    names = (
        {"blob": "BLOB", "integer": "INTEGER", "clustered": " WITHOUT ROWID"}
        if kind == "sqlite"
        else {"blob": "BYTEA", "integer": "BIGINT", "clustered": ""}
    )
    return [s.format(**names) for s in OLD_SCHEMA[branch]]


def make_old_sqlite(path: Path, branch: str, *extra: str) -> None:
    """An SQLite file with the branch's tables as the old code created them, and rows."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        for statement in [*old_statements(branch, "sqlite"), *extra]:
            db.execute(statement)
        for statement, params in OLD_ROWS.get(branch, []):
            db.execute(statement, params)
    path.chmod(0o600)


def make_old_postgres(schema: str, branch: str, *extra: str) -> None:
    """The branch's tables in ``schema`` as the old code created them, and rows."""
    for statement in [*old_statements(branch, "postgres"), *extra]:
        postgres.rows(schema, statement)
    for statement, params in OLD_ROWS[branch]:
        postgres.rows(schema, statement, params)


def table_rows(settings: Settings, branch: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table the branch's old rows went into, by table."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for statement, _ in OLD_ROWS[branch]:
        table = statement.split()[2]
        query = f"SELECT * FROM {table} ORDER BY 1"
        if settings.database_url is not None:
            found = postgres.rows(settings.database_schema, query)
        else:
            with sqlite3.connect(settings.data_dir / FILES[branch]) as db:
                found = db.execute(query).fetchall()
        out[table] = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in found]
    return out


def expected_rows(branch: str) -> dict[str, list[tuple[Any, ...]]]:
    """The old rows, by table."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for statement, params in OLD_ROWS[branch]:
        out.setdefault(statement.split()[2], []).append(params)
    return out


def stamped(settings: Settings, branch: str) -> set[str]:
    """The revisions recorded in the database of ``branch``'s tables."""
    query = "SELECT version_num FROM alembic_version"
    if settings.database_url is not None:
        return {r[0] for r in postgres.rows(settings.database_schema, query)}
    with sqlite3.connect(settings.data_dir / FILES[branch]) as db:
        return {r[0] for r in db.execute(query)}


def sqlite_shape(path: Path) -> dict[str, Any]:
    """Everything SQLite says about the tables and indexes of a file (but the version
    table): columns (name, type, not null, default, key), indexes (name, unique, columns),
    and whether rows live in a rowid tree."""
    shape: dict[str, Any] = {}
    with sqlite3.connect(path) as db:
        tables = [
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'alembic_version'"
            )
        ]
        for table in sorted(tables):
            columns = [tuple(r[1:]) for r in db.execute(f"PRAGMA table_info({table})")]
            indexes = sorted(
                (name, unique, tuple(c[2] for c in db.execute(f"PRAGMA index_info({name})")))
                for _, name, unique, origin, _ in db.execute(f"PRAGMA index_list({table})")
                if origin == "c"
            )
            rowid = db.execute(
                "SELECT sql NOT LIKE '%WITHOUT ROWID%' FROM sqlite_master WHERE name = ?",
                [table],
            ).fetchone()[0]
            shape[table] = (columns, indexes, rowid)
    return shape


PG_COLUMNS = """
SELECT table_name, column_name, data_type, is_nullable, column_default, ordinal_position
FROM information_schema.columns WHERE table_schema = ? AND table_name != 'alembic_version'
ORDER BY table_name, ordinal_position
"""
PG_INDEXES = """
SELECT tablename, indexname, replace(indexdef, ?, 'S') FROM pg_indexes
WHERE schemaname = ? AND tablename != 'alembic_version' ORDER BY tablename, indexname
"""
PG_CONSTRAINTS = """
SELECT table_name, constraint_name, constraint_type FROM information_schema.table_constraints
WHERE table_schema = ? AND table_name != 'alembic_version' AND constraint_type != 'CHECK'
ORDER BY 1, 2
"""


def postgres_shape(schema: str, tables: set[str]) -> list[Any]:
    """Everything PostgreSQL says about the named tables of a schema: columns, indexes (with
    their definitions) and constraints."""
    found = [
        *postgres.rows(schema, PG_COLUMNS, [schema]),
        *postgres.rows(schema, PG_INDEXES, [schema, schema]),
        *postgres.rows(schema, PG_CONSTRAINTS, [schema]),
    ]
    return [r for r in found if r[0] in tables]


def test_an_old_store_opens_with_its_rows_and_is_stamped_at_the_baseline(
    store: Store, settings: Settings, clock: ManualClock
) -> None:
    """Credential, key and chain tables made by the code before the history (rows in each,
    and the sign-in count they replaced) open under a start: every row is there as it was,
    the stores read them, the replaced count is gone, and each database records its
    baseline."""
    branches = ("credentials", "keys", "audit")
    if store.postgres:
        postgres.rows("public", f"CREATE SCHEMA {settings.database_schema}")
        for branch in branches:
            make_old_postgres(settings.database_schema, branch)
        postgres.rows(settings.database_schema, LEGACY)
    else:
        for branch in branches:
            extra = [LEGACY] if branch == "credentials" else []
            make_old_sqlite(settings.data_dir / FILES[branch], branch, *extra)
    rt = bootstrap(settings, clock=clock, configure_logs=False)
    try:
        assert rt.app.credentials is not None
        assert rt.app.credentials.usernames() == ["olga"]
        assert [(c.position, c.at) for c in rt.chain.checkpoints()] == [(7, "2024-01-03")]
        assert rt.chain.last() == (7, "l" * 64)
        assert rt.app.vault is not None
        assert rt.app.vault.index.marked("built_from_log")
    finally:
        rt.close()
    for history in (CREDENTIALS, KEYS, AUDIT):
        assert history.head in stamped(settings, history.branch)
        assert table_rows(settings, history.branch) == expected_rows(history.branch)
    if store.postgres:
        names = postgres.rows(
            settings.database_schema,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
            [settings.database_schema],
        )
        assert ("sign_in_failures",) not in names
        assert stamped(settings, "keys") == {
            CREDENTIALS.head,
            KEYS.head,
            AUDIT.head,
            WEBHOOKS.head,
        }
    else:
        with sqlite3.connect(settings.data_dir / "credentials.db") as db:
            names = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        assert ("sign_in_failures",) not in names
        for name in FILES.values():
            assert (settings.data_dir / name).stat().st_mode & 0o777 == 0o600


@pytest.mark.sqlite_only
def test_an_old_mailbox_index_opens_with_its_rows_and_is_stamped(tmp_path: Path) -> None:
    """A mailbox index made by the code before the history keeps its messages and withheld
    Message-IDs, and records its baseline."""
    directory = tmp_path / "mailbox"
    make_old_sqlite(directory / "index.db", "mailbox")
    (directory / "f.eml").write_bytes(b"Message-ID: <m@x>\r\n\r\nhello")
    mailbox = Mailbox(directory)
    try:
        assert mailbox.count() == 1
        assert [(s.seq, s.message_id, s.size) for s in mailbox.list()] == [(3, "<m@x>", 9)]
        assert mailbox.store(b"Message-ID: <w@x>\r\n\r\nlate", ["a@x"]) == "<w@x>"
        assert mailbox.count() == 1
    finally:
        mailbox.close()
    with sqlite3.connect(directory / "index.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(MAILBOX.head,)]
        assert db.execute("SELECT * FROM messages").fetchall() == [OLD_ROWS["mailbox"][0][1]]


def test_a_fresh_store_gets_every_table_at_its_head_as_first_created(
    store: Store, settings: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    """A first start creates every table beside the log, each database stamped at its head,
    and the tables, columns, types, keys, defaults and indexes are those the statements
    before the history made, then those later revisions add (compared with tables those
    statements create)."""
    bootstrap(settings, clock=clock, configure_logs=False).close()
    Mailbox(settings.data_dir / "mailbox").close()
    for history in (CREDENTIALS, KEYS, AUDIT):
        assert history.head in stamped(settings, history.branch)
    old_dir = tmp_path / "old"
    if store.postgres:
        with postgres.fresh_schema() as old:
            postgres.rows("public", f"CREATE SCHEMA {old}")
            tables: set[str] = set()
            for branch in ("credentials", "keys", "audit"):
                make_old_postgres(old, branch, *LATER.get(branch, []))
                tables |= set(METADATA[branch].tables)
            ours = postgres_shape(settings.database_schema, tables)
            theirs = postgres_shape(old, tables)
        assert ours == theirs
        assert len(ours) > 30
    else:
        for branch, name in FILES.items():
            make_old_sqlite(old_dir / name, branch, *LATER.get(branch, []))
            assert sqlite_shape(settings.data_dir / name) == sqlite_shape(old_dir / name)
        make_old_sqlite(old_dir / "index.db", "mailbox")
        assert sqlite_shape(settings.data_dir / "mailbox" / "index.db") == sqlite_shape(
            old_dir / "index.db"
        )
        for name in [*FILES.values(), "mailbox/index.db"]:
            assert (settings.data_dir / name).stat().st_mode & 0o777 == 0o600


def test_the_table_definitions_are_the_tables_at_head(
    store: Store, settings: Settings, clock: ManualClock
) -> None:
    """The tables the stores' statements are written against are, column for column, type
    for type, key for key and index for index, the tables the migrations made."""
    bootstrap(settings, clock=clock, configure_logs=False).close()
    Mailbox(settings.data_dir / "mailbox").close()
    for branch, metadata in METADATA.items():
        if store.postgres and branch == "mailbox":
            continue
        if store.postgres:
            url = postgres.URL.replace("postgresql://", "postgresql+psycopg://", 1)
            engine = create_engine(
                url, connect_args={"options": f"-c search_path={settings.database_schema}"}
            )
        else:
            name = "mailbox/index.db" if branch == "mailbox" else FILES[branch]
            engine = create_engine(f"sqlite:///{settings.data_dir / name}")

        def ours(name: str | None, kind: str, parent: Any, tables: Any = metadata.tables) -> bool:
            return kind != "table" or name in tables

        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"include_name": ours, "compare_type": same_type}
            )
            diff = [d for d in compare_metadata(context, metadata) if not key_not_null(d, metadata)]
        engine.dispose()
        assert diff == [], (branch, diff)


def same_type(
    context: Any, inspected: Any, metadata: Any, found: Any, declared: Any
) -> bool | None:
    """SQLite reads ``DOUBLE PRECISION`` back as ``REAL`` (one type to it): no difference;
    every other type compared as Alembic does."""
    if isinstance(found, REAL) and isinstance(declared, DOUBLE_PRECISION):
        return False
    return None


def key_not_null(diff: Any, metadata: Any) -> bool:
    """Whether a difference is only the database reading a primary key column back as NOT
    NULL, which it is in effect (PostgreSQL's keys, SQLite's ``WITHOUT ROWID`` keys)
    however it was declared."""
    changes = diff if isinstance(diff, list) else [diff]
    return all(
        c[0] == "modify_nullable" and c[5] is False and metadata.tables[c[2]].c[c[3]].primary_key
        for c in changes
    )


def test_each_history_names_its_branch_head() -> None:
    """The head revision each store checks for at start is its branch's newest migration,
    and every branch has exactly one head."""
    script = ScriptDirectory.from_config(config())
    for history in HISTORIES:
        assert script.get_revisions(f"{history.branch}@head")[0].revision == history.head
    assert len(script.get_heads()) == len(HISTORIES)
