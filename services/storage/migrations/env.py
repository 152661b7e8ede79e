"""Alembic's environment: migrations run on the connection the caller hands over in
``config.attributes["connection"]`` (inside the caller's transaction), or, for Alembic's own
commands, on the database ``sqlalchemy.url`` names."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from services.storage.schema import VERSION_TABLE


def run(connection: Connection) -> None:
    """Run the migrations Alembic selected on ``connection``."""
    context.configure(connection=connection, version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    run(given)
else:
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        msg = "set sqlalchemy.url to the database to work on"
        raise SystemExit(msg)
    with create_engine(url).connect() as conn:
        run(conn)
        conn.commit()
