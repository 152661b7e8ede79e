"""The credential store's tables (passwords, API tokens, web sessions), the sign-in
throttle's and the users' sealed email addresses, in ``credentials.db`` or the PostgreSQL
schema. Their history is the
``credentials`` branch of :mod:`services.storage.schema` (``services/users/migrations``).

Primary keys carry no NOT NULL of their own, as the tables were first created.
"""

from __future__ import annotations

from sqlalchemy import DOUBLE_PRECISION, Column, Index, Integer, MetaData, Table, Text, text

metadata = MetaData()

passwords = Table(
    "passwords",
    metadata,
    Column("username", Text, primary_key=True, nullable=True),
    Column("hash", Text, nullable=False),
    Column("must_change", Integer, nullable=False, server_default=text("0")),
)
"""A user's Argon2id password hash (or the no-password marker), and whether it is a
one-time password."""

tokens = Table(
    "tokens",
    metadata,
    Column("token_id", Text, primary_key=True, nullable=True),
    Column("username", Text, nullable=False),
    Column("hash", Text, nullable=False),
)
"""API tokens: their owner and the SHA-256 of their secret part."""

sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", Text, primary_key=True, nullable=True),
    Column("username", Text, nullable=False),
    Column("csrf", Text, nullable=False),
    Column("expires", Text, nullable=False),
)
"""Web sessions by the SHA-256 of their cookie value (``expires``: ISO 8601)."""

sign_in_attempts = Table(
    "sign_in_attempts",
    metadata,
    Column("id", Text, primary_key=True, nullable=True),
    Column("username", Text),
    Column("client", Text, nullable=False),
    Column("at", DOUBLE_PRECISION, nullable=False),
    Index("sign_in_attempts_username", "username", "at"),
    Index("sign_in_attempts_client", "client", "at"),
    Index("sign_in_attempts_at", "at"),
)
"""Sign-in attempts counted as failures (``client``: the address's SHA-256; ``at``: epoch
seconds; ``username`` cleared once the account signs in)."""

user_addresses = Table(
    "user_addresses",
    metadata,
    Column("user_id", Text, primary_key=True),
    Column("sealed", Text, nullable=False),
)
"""A user's email address, sealed (AES-GCM, base64 of nonce and ciphertext, the user id
bound as associated data) under a key derived from the vault's master key."""
