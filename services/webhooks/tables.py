"""The webhook store's tables, in ``webhooks.db`` or the PostgreSQL schema. Their history is
the ``webhooks`` branch of :mod:`services.storage.schema` (``services/webhooks/migrations``).

They hold what is not derived from the log: each subscription's sealed URL and secret, its
tracked position, its delivery log (never a body), and the lease naming the sender that
delivers it.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, MetaData, Table, Text

metadata = MetaData()

POSITION = BigInteger().with_variant(Integer(), "sqlite")

webhook_secrets = Table(
    "webhook_secrets",
    metadata,
    Column("subscription_id", Text, primary_key=True),
    Column("sealed", Text, nullable=False),
)
"""A subscription's whole URL and signing secret, sealed (AES-GCM, base64 of nonce and
ciphertext) under a key derived from the vault's master key."""

webhook_positions = Table(
    "webhook_positions",
    metadata,
    Column("tracking_key", Text, primary_key=True),
    Column("position", POSITION, nullable=False),
)
"""The last log position each subscription handled (delivered, dead-lettered or not
asked for), by tracking key ``webhook:<subscription id>``."""

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("delivery_id", Text, primary_key=True),
    Column("subscription_id", Text, nullable=False),
    Column("position", POSITION, nullable=False),
    Column("kind", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_code", Integer),
    Column("last_error", Text),
    Column("first_at", Text, nullable=False),
    Column("last_at", Text, nullable=False),
    Index("webhook_deliveries_subscription", "subscription_id", "position"),
    Index("webhook_deliveries_status", "status", "first_at"),
)
"""The delivery log: one row per delivery (``pending`` while retried, then ``delivered``,
``dead`` or ``gone``), its attempts, the last answer code (or the kind of failure when
there was no answer) and when it was first and last tried (ISO 8601). Never the body."""

webhook_leases = Table(
    "webhook_leases",
    metadata,
    Column("subscription_id", Text, primary_key=True),
    Column("holder", Text, nullable=False),
    Column("expires_at", Float, nullable=False),
)
"""Which sender delivers a subscription (``holder``: the sender's own id) and until when
(unix seconds): renewed while it delivers, taken over by another sender once expired."""
