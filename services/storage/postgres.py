"""PostgreSQL as a :class:`~services.storage.sql.Database`: where it is, the connections
built from the settings, the schema breachledger's tables live in, and named locks.

The stores beside the log run SQLAlchemy statements on an engine whose tables are qualified
with the schema; the views write statements with ``?`` placeholders (see :func:`pg_sql`) on a
psycopg pool. Every connection has the schema first on its ``search_path``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

import psycopg
import structlog
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout
from sqlalchemy import Connection, Engine, Executable, Table, create_engine, func, select

from services.storage.errors import DatabaseUnavailable
from services.storage.event_store import LIBPQ_PARAMS
from services.storage.sql import Params, Prepared

SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
PROCESS_RECORDER = "services.storage.recorder:LedgerPostgresRecorder"


@dataclass(frozen=True)
class PostgresTarget:
    """Where the database is: connection parameters (from a ``postgresql://`` URL) and
    the schema of breachledger's tables."""

    host: str
    port: int
    dbname: str
    user: str
    password: str = field(repr=False)
    schema: str = "public"
    options: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_url(cls, url: str, schema: str = "public") -> PostgresTarget:
        """Parse ``postgresql://user[:password]@host[:port]/dbname[?param=value...]``."""
        if not url.startswith(("postgresql://", "postgres://")):
            msg = "the database URL must start with postgresql://"
            raise ValueError(msg)
        if not SCHEMA_NAME.match(schema):
            msg = f"unsafe schema name {schema!r}"
            raise ValueError(msg)
        try:
            params = conninfo_to_dict(url)
        except psycopg.ProgrammingError as e:
            msg = f"the database URL cannot be read: {e}"
            raise ValueError(msg) from None
        missing = [k for k in ("host", "dbname", "user") if not params.get(k)]
        if missing:
            msg = f"the database URL names no {', '.join(missing)}"
            raise ValueError(msg)
        known = {"host", "port", "dbname", "user", "password"}
        return cls(
            host=str(params["host"]),
            port=int(params.get("port") or 5432),
            dbname=str(params["dbname"]),
            user=str(params["user"]),
            password=str(params.get("password") or ""),
            schema=schema,
            options=tuple(sorted((k, str(v)) for k, v in params.items() if k not in known)),
        )

    @property
    def where(self) -> str:
        """``host:port/dbname`` (no credentials), for messages."""
        return f"{self.host}:{self.port}/{self.dbname}"

    def connect_kwargs(self, *, timeout: float = 10) -> dict[str, Any]:
        """Keyword arguments of ``psycopg.connect`` (the schema first on the search path)."""
        kwargs: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "dbname": self.dbname,
            "user": self.user,
            "connect_timeout": max(int(timeout), 1),
            "application_name": "breachledger",
            **dict(self.options),
        }
        given = kwargs.get("options", "")
        kwargs["options"] = f"-c search_path={self.schema} {given}".strip()
        if self.password:
            kwargs["password"] = self.password
        return kwargs

    def event_store_env(self) -> dict[str, str]:
        """The eventsourcing infrastructure settings of the PostgreSQL event store."""
        return {
            "PERSISTENCE_MODULE": "services.storage.postgres_event_store:LedgerPostgresFactory",
            LIBPQ_PARAMS: json.dumps(dict(self.options)),
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_SCHEMA": self.schema,
            "POSTGRES_CONNECT_TIMEOUT": "10",
            "POSTGRES_POOL_SIZE": "2",
            "POSTGRES_MAX_OVERFLOW": "8",
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "30",
            "PROCESS_RECORDER_TOPIC": PROCESS_RECORDER,
            "CREATE_TABLE": "y",
        }


@lru_cache(maxsize=2048)
def pg_sql(statement: str) -> str:
    """Turn a statement written with ``?`` placeholders into psycopg's ``%s`` style
    (``%`` outside string literals doubled; nothing inside literals touched)."""
    parts = statement.split("'")
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("%", "%%").replace("?", "%s")
    return "'".join(parts)


def lock_key(schema: str, name: str) -> str:
    """The text an advisory lock is keyed by (one namespace per schema)."""
    return f"breachledger:{schema}:{name}"


LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"


class PostgresDatabase:
    """Connections to one PostgreSQL database, working in one schema: a psycopg pool for
    the views, and an SQLAlchemy engine (a pool of its own) for the stores beside the log."""

    kind = "postgres"

    def __init__(self, target: PostgresTarget, *, max_size: int = 10) -> None:
        self.target = target
        self.schema = target.schema
        self.max_size = max_size
        self.pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            kwargs=target.connect_kwargs(),
            min_size=1,
            max_size=max_size,
            open=False,
            configure=_configure,
            timeout=30,
            name=f"breachledger-{target.schema}",
        )
        self._opened = False

    def open(self) -> None:
        """Open the pool, failing with :class:`DatabaseUnavailable` when nobody answers."""
        if self._opened:
            return
        try:
            self.pool.open(wait=True, timeout=15)
        except PoolTimeout as e:
            msg = f"PostgreSQL at {self.target.where} cannot be reached: {e}"
            raise DatabaseUnavailable(msg) from None
        self._opened = True

    @cached_property
    def engine(self) -> Engine:
        """The SQLAlchemy engine of the stores beside the log: tables without a schema of
        their own are this schema's; connections are opened when first needed."""
        kwargs = self.target.connect_kwargs()
        return create_engine(
            "postgresql+psycopg://",
            creator=lambda: psycopg.connect(**kwargs),
            # Connections are opened when first needed and then kept (up to max_size): one
            # closed on return after a burst would be opened again, at a few milliseconds
            # each, by the next request checking its token.
            pool_size=self.max_size,
            max_overflow=0,
            pool_timeout=30,
            execution_options={"schema_translate_map": {None: self.schema}},
        )

    def reclaim(self, *tables: Table) -> None:
        """``VACUUM`` the tables, so deleted rows leave their data pages now."""
        if not tables:
            return
        with self.connection() as conn:
            conn.execute(f"VACUUM {', '.join(self.table(t.name) for t in tables)}")

    def analyze(self, *tables: Table | str) -> None:
        """``ANALYZE`` the tables (given as tables or names), so the planner knows their
        sizes and values after bulk work."""
        if not tables:
            return
        names = [t if isinstance(t, str) else t.name for t in tables]
        with self.connection() as conn:
            conn.execute(f"ANALYZE {', '.join(self.table(n) for n in names)}")
        structlog.get_logger().info("postgres.analyzed", tables=len(names))

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection of the pool (autocommit; open a transaction block to group)."""
        self.open()
        with self.pool.connection() as conn:
            yield conn

    def table(self, name: str) -> str:
        """``"schema"."name"``."""
        return f'"{self.schema}"."{name}"'

    @contextmanager
    def transaction(self, lock: str | None = None, *, durable: bool = True) -> Iterator[Connection]:
        """A transaction, holding the advisory lock named ``lock`` until it ends (one that
        is not ``durable`` commits with ``synchronous_commit`` off)."""
        with self.engine.begin() as conn:
            if not durable:
                conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            if lock is not None:
                key = lock_key(self.schema, lock)
                conn.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))
            yield conn

    def query(
        self, statement: Executable | Prepared, params: Mapping[str, Any] | None = None
    ) -> Sequence[Any]:
        """Rows of a query."""
        with self.engine.connect() as conn:
            if isinstance(statement, Prepared):
                rows: Sequence[Any] = statement.run(conn, params).fetchall()
                return rows
            return conn.execute(statement, dict(params or {})).all()

    def fetch(self, statement: str, params: Params = ()) -> list[Any]:
        """Rows of a query written with ``?`` placeholders."""
        with self.connection() as conn:
            return conn.execute(pg_sql(statement), list(params)).fetchall()

    def close(self) -> None:
        """Close the pool and the engine's connections."""
        if "engine" in self.__dict__:
            self.engine.dispose()
        self.pool.close()


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.autocommit = True
    # No server-side prepared statements: the view store batches its statements in
    # pipelines, where a statement skipped after an error must not be taken for prepared.
    conn.prepare_threshold = None


@contextmanager
def startup(target: PostgresTarget) -> Iterator[None]:
    """Create the schema if it is missing, and hold a lock on it while the caller creates
    its tables, so that processes starting together do not race on the same definitions.

    Fails with :class:`DatabaseUnavailable` (naming the server, never the password) when
    the database cannot be reached.
    """
    try:
        conn = psycopg.connect(**target.connect_kwargs(), autocommit=True)
    except psycopg.OperationalError as e:
        msg = f"PostgreSQL at {target.where} cannot be reached: {str(e).strip()}"
        raise DatabaseUnavailable(msg) from None
    with conn:
        key = lock_key(target.schema, "startup")
        conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [key])
        try:
            # A schema made beforehand for a role that may not create schemas is used as
            # it is (PostgreSQL checks the privilege even when the schema exists).
            exists = conn.execute(
                "SELECT 1 FROM pg_namespace WHERE nspname = %s", [target.schema]
            ).fetchone()
            if exists is None:
                try:
                    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(target.schema)))
                except psycopg.errors.InsufficientPrivilege as e:
                    msg = (
                        f"PostgreSQL at {target.where}: cannot create the schema "
                        f"{target.schema} ({str(e).strip()}); create it for this role, or "
                        "grant CREATE on the database"
                    )
                    raise DatabaseUnavailable(msg) from None
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [key])
