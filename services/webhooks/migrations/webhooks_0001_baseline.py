"""The webhook store: sealed subscription secrets, tracked positions and the delivery log.

Revision ID: webhooks_0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "webhooks_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("webhooks",)
depends_on: str | Sequence[str] | None = None


def position(name: str) -> sa.Column[int]:
    """A log position column."""
    return sa.Column(name, sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False)


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "webhook_secrets",
        sa.Column("subscription_id", sa.Text(), primary_key=True),
        sa.Column("sealed", sa.Text(), nullable=False),
    )
    op.create_table(
        "webhook_positions",
        sa.Column("tracking_key", sa.Text(), primary_key=True),
        position("position"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("delivery_id", sa.Text(), primary_key=True),
        sa.Column("subscription_id", sa.Text(), nullable=False),
        position("position"),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_code", sa.Integer()),
        sa.Column("last_error", sa.Text()),
        sa.Column("first_at", sa.Text(), nullable=False),
        sa.Column("last_at", sa.Text(), nullable=False),
    )
    op.create_index(
        "webhook_deliveries_subscription", "webhook_deliveries", ["subscription_id", "position"]
    )
    op.create_index("webhook_deliveries_status", "webhook_deliveries", ["status", "first_at"])


def downgrade() -> None:
    """Drop the tables."""
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_positions")
    op.drop_table("webhook_secrets")
