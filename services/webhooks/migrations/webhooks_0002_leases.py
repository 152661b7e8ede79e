"""The webhook store: a lease per subscription, naming the sender delivering it.

Revision ID: webhooks_0002
Revises: webhooks_0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "webhooks_0002"
down_revision: str | Sequence[str] | None = "webhooks_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the leases table."""
    op.create_table(
        "webhook_leases",
        sa.Column("subscription_id", sa.Text(), primary_key=True),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    """Drop the leases table."""
    op.drop_table("webhook_leases")
