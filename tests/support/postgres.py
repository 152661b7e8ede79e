"""PostgreSQL for the tests: the server CI provides, and a fresh schema for each test.

``BREACH_TEST_DATABASE_URL`` names the server (default: trust auth as ``postgres`` on
127.0.0.1:5432, database ``test``). Each test gets a schema named uniquely (process id and
random suffix, so parallel runs never share one); breachledger creates it on first start, and
it is dropped after the test. An unreachable server fails the test with a clear message:
PostgreSQL variants never skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

import psycopg
import pytest
from psycopg import sql

from services.storage.postgres import pg_sql

URL = os.environ.get("BREACH_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
SECRETS = {
    "vault_master_key": "dGVzdC12YXVsdC1tYXN0ZXIta2V5LTMyLWJ5dGVzISE=",
    "lookup_secret": "dGVzdC1sb29rdXAtc2VjcmV0LW9mLTMyLWJ5dGVzISE=",
    "audit_key": "dGVzdC1hdWRpdC1rZXktb2YtZXhhY3RseS0zMi1ieXQ=",
}
"""The secrets every process of one distributed store shares (fixed, for tests only)."""


@cache
def _unreachable() -> str | None:
    """Why the server cannot be used (None when it answers); asked once per test run."""
    try:
        with psycopg.connect(URL, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as e:
        return str(e).strip() or type(e).__name__
    return None


def require() -> None:
    """Fail the calling test unless PostgreSQL answers."""
    reason = _unreachable()
    if reason is not None:
        where = URL.rsplit("@", 1)[-1]
        pytest.fail(
            f"PostgreSQL at {where} is unreachable ({reason}); the PostgreSQL variants of the "
            "tests need it: start it, or point BREACH_TEST_DATABASE_URL at one",
            pytrace=False,
        )


def schema_name() -> str:
    """A schema name no other test, here or in a parallel run, will use."""
    return f"t{os.getpid()}_{uuid.uuid4().hex[:16]}"


def connect(schema: str | None = None) -> psycopg.Connection[Any]:
    """An autocommit connection, with ``schema`` first on its search path."""
    options = f"-c search_path={schema}" if schema else ""
    return psycopg.connect(URL, autocommit=True, options=options, connect_timeout=5)


LEFTOVERS = """
SELECT DISTINCT pg_terminate_backend(l.pid) FROM pg_locks l
JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND l.pid <> pg_backend_pid()
"""


def drop(schema: str) -> None:
    """Drop a schema and everything in it, ending sessions a failed test left holding locks
    on its tables (a killed process's, say)."""
    statement = sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
    with connect() as conn:
        conn.execute("SET lock_timeout = '5s'")
        for attempt in range(5):
            try:
                conn.execute(statement)
                return
            except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected):
                if attempt == 4:
                    raise
                conn.execute(LEFTOVERS, [schema])


@contextmanager
def fresh_schema() -> Iterator[str]:
    """The name of a schema that does not exist yet, dropped (if created) afterwards."""
    require()
    name = schema_name()
    try:
        yield name
    finally:
        drop(name)


def schema_exists(schema: str) -> bool:
    """Whether the schema has been created."""
    with connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s", [schema]
        ).fetchone()
    return bool(row and row[0])


def rows(schema: str, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run a statement (``?`` placeholders) in the schema; its rows, if it returns any."""
    with connect(schema) as conn:
        cursor = conn.execute(pg_sql(statement), list(params))
        return list(cursor.fetchall()) if cursor.description else []
