"""The chain's links and signed checkpoints, as they were before their history was kept
(tables already there are left as they are).

Positions are 64-bit integers (on SQLite, the rowid alias ``INTEGER``), never generated.

Revision ID: audit_0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "audit_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("audit",)
depends_on: str | Sequence[str] | None = None


def position() -> sa.Column[int]:
    """The position column (the primary key)."""
    return sa.Column(
        "position",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        nullable=True,
        autoincrement=False,
    )


def upgrade() -> None:
    """Create the tables that are missing."""
    op.create_table(
        "links",
        position(),
        sa.Column("digest", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "checkpoints",
        position(),
        sa.Column("link", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("at", sa.Text(), nullable=False),
        if_not_exists=True,
    )


def downgrade() -> None:
    """Drop the tables."""
    op.drop_table("checkpoints")
    op.drop_table("links")
