"""Wrapped per-person keys, erasures pending in the log, and the lookup index with its
marks, as they were before their history was kept (tables already there are left as they
are).

Primary keys carry no NOT NULL of their own, as first created (PostgreSQL implies it). On
SQLite the lookup rows live in their primary key's tree (``WITHOUT ROWID``): one tree fewer
to write to at random places on every import.

Revision ID: keys_0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "keys_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("keys",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the tables and indexes that are missing."""
    op.create_table(
        "person_keys",
        sa.Column("key_id", sa.Text(), primary_key=True, nullable=True),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "pending_erasures",
        sa.Column("person_id", sa.Text(), primary_key=True, nullable=True),
        sa.Column("key_ids", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("correlation_id", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.Text(), nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "person_lookups",
        sa.Column("person_id", sa.Text(), primary_key=True, nullable=True),
        sa.Column("incident_id", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text()),
        sqlite_with_rowid=False,
        if_not_exists=True,
    )
    op.create_index(
        "person_lookups_by_email",
        "person_lookups",
        ["email", "incident_id"],
        unique=True,
        if_not_exists=True,
    )
    op.create_index(
        "person_lookups_by_reference", "person_lookups", ["reference"], if_not_exists=True
    )
    op.create_table(
        "lookup_index_meta",
        sa.Column("name", sa.Text(), primary_key=True, nullable=True),
        sa.Column("value", sa.Text(), nullable=False),
        if_not_exists=True,
    )


def downgrade() -> None:
    """Drop the tables."""
    for table in ("lookup_index_meta", "person_lookups", "pending_erasures", "person_keys"):
        op.drop_table(table)
