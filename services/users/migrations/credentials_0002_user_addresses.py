"""Users' email addresses, sealed, beside their credentials.

Revision ID: credentials_0002
Revises: credentials_0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "credentials_0002"
down_revision: str | Sequence[str] | None = "credentials_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the table of sealed addresses."""
    op.create_table(
        "user_addresses",
        sa.Column("user_id", sa.Text(), primary_key=True),
        sa.Column("sealed", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_table("user_addresses")
