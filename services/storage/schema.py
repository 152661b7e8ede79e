"""The revision history of the tables kept beside the event log, and bringing a database to
its head when a store opens it.

Each database's tables have their history as one Alembic branch, whose migrations live with
the capability owning the tables (``services/<capability>/migrations``); the script
directory shared by all branches is ``services/storage/migrations``. A database records the
revision it is at in its ``alembic_version`` table (one row per branch: on PostgreSQL the
credential, key and chain tables share the schema, each branch with its own row).

A store opening a database at its head costs one query; otherwise the upgrade runs (Alembic
is imported only then) in one write transaction holding the ``schema`` lock, so processes
starting together upgrade once. Each branch begins with a baseline that creates the tables
as they were before the history was kept, unless they are there already: a database made
then is simply stamped.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Column, MetaData, String, Table, select
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection

    from services.storage.sql import Database

SERVICES = Path(__file__).resolve().parent.parent
SCRIPTS = SERVICES / "storage" / "migrations"
"""The script directory (``env.py`` and the template of new revisions)."""

VERSION_TABLE = "alembic_version"
versions = Table(VERSION_TABLE, MetaData(), Column("version_num", String(32), primary_key=True))
"""Where a database records the revisions it is at."""


@dataclass(frozen=True)
class History:
    """The revision history of one database's tables: an Alembic branch."""

    branch: str
    """The branch label (``credentials``, ``keys``, ``audit``, ``mailbox``, ``webhooks``)."""
    head: str
    """The branch's newest revision, the one the code reads and writes."""
    versions: Path
    """The folder of the branch's migrations."""


CREDENTIALS = History("credentials", "credentials_0002", SERVICES / "users" / "migrations")
KEYS = History("keys", "keys_0001", SERVICES / "vault" / "migrations")
AUDIT = History("audit", "audit_0001", SERVICES / "audit" / "migrations")
MAILBOX = History("mailbox", "mailbox_0001", SERVICES / "notifications" / "migrations")
WEBHOOKS = History("webhooks", "webhooks_0002", SERVICES / "webhooks" / "migrations")
HISTORIES = (CREDENTIALS, KEYS, AUDIT, MAILBOX, WEBHOOKS)


def stamped(db: Database) -> set[str]:
    """The revisions the database records (none before its first upgrade)."""
    try:
        return {row[0] for row in db.query(select(versions.c.version_num))}
    except DBAPIError:
        return set()


def upgrade(db: Database, history: History) -> None:
    """Bring the database's tables of ``history`` to its head (nothing to do, and Alembic
    not imported, when the database says it is there)."""
    if history.head in stamped(db):
        return
    with db.transaction(lock="schema") as conn:
        run(conn, history)


def config() -> Config:
    """The Alembic configuration of every branch (for the upgrade, and for tools)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(str(h.versions) for h in HISTORIES))
    return cfg


def run(conn: Connection, history: History) -> None:
    """Upgrade ``history``'s branch to its head on ``conn``, inside the caller's
    transaction (nothing to do when another process did it meanwhile). Alembic's own
    progress lines are not logged."""
    from alembic import command

    logging.getLogger("alembic").setLevel(logging.WARNING)
    cfg = config()
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, f"{history.branch}@head")
