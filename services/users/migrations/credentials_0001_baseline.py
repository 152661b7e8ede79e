"""Passwords, API tokens, web sessions and counted sign-in attempts, as they were before
their history was kept (tables already there are left as they are); the account-only count
of failures that the attempts replaced is dropped.

Primary keys carry no NOT NULL of their own, as first created (PostgreSQL implies it).

Revision ID: credentials_0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "credentials_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("credentials",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the tables and indexes that are missing."""
    op.create_table(
        "passwords",
        sa.Column("username", sa.Text(), primary_key=True, nullable=True),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.Column("must_change", sa.Integer(), nullable=False, server_default=sa.text("0")),
        if_not_exists=True,
    )
    op.create_table(
        "tokens",
        sa.Column("token_id", sa.Text(), primary_key=True, nullable=True),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "sessions",
        sa.Column("id_hash", sa.Text(), primary_key=True, nullable=True),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("csrf", sa.Text(), nullable=False),
        sa.Column("expires", sa.Text(), nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "sign_in_attempts",
        sa.Column("id", sa.Text(), primary_key=True, nullable=True),
        sa.Column("username", sa.Text()),
        sa.Column("client", sa.Text(), nullable=False),
        sa.Column("at", sa.DOUBLE_PRECISION(), nullable=False),
        if_not_exists=True,
    )
    op.create_index(
        "sign_in_attempts_username", "sign_in_attempts", ["username", "at"], if_not_exists=True
    )
    op.create_index(
        "sign_in_attempts_client", "sign_in_attempts", ["client", "at"], if_not_exists=True
    )
    op.create_index("sign_in_attempts_at", "sign_in_attempts", ["at"], if_not_exists=True)
    op.drop_table("sign_in_failures", if_exists=True)


def downgrade() -> None:
    """Drop the tables."""
    for table in ("sign_in_attempts", "sessions", "tokens", "passwords"):
        op.drop_table(table)
