"""The mailbox index: the messages kept (numbered by SQLite's rowid) and the Message-IDs
withheld, as they were before their history was kept (tables already there are left as
they are).

Revision ID: mailbox_0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "mailbox_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("mailbox",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the tables and the index that are missing."""
    op.create_table(
        "messages",
        sa.Column("seq", sa.Integer(), primary_key=True, nullable=True),
        sa.Column("message_id", sa.Text()),
        sa.Column("received_at", sa.Text()),
        sa.Column("recipient", sa.Text()),
        sa.Column("size", sa.Integer()),
        sa.Column("file", sa.Text()),
        if_not_exists=True,
    )
    op.create_index("by_id", "messages", ["message_id"], if_not_exists=True)
    op.create_table(
        "withheld",
        sa.Column("message_id", sa.Text(), primary_key=True, nullable=True),
        if_not_exists=True,
    )


def downgrade() -> None:
    """Drop the tables."""
    op.drop_table("withheld")
    op.drop_table("messages")
