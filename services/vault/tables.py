"""The key store's tables and the lookup index's, in ``keys.db`` or the PostgreSQL schema.
Their history is the ``keys`` branch of :mod:`services.storage.schema`
(``services/vault/migrations``).

Primary keys carry no NOT NULL of their own, as the tables were first created.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, LargeBinary, MetaData, Table, Text

metadata = MetaData()

person_keys = Table(
    "person_keys",
    metadata,
    Column("key_id", Text, primary_key=True, nullable=True),
    Column("wrapped", LargeBinary, nullable=False),
    Column("created_at", Text, nullable=False),
)
"""Per-person data keys, each wrapped by the master key (nonce and AES-GCM ciphertext)."""

pending_erasures = Table(
    "pending_erasures",
    metadata,
    Column("person_id", Text, primary_key=True, nullable=True),
    Column("key_ids", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("correlation_id", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("requested_at", Text, nullable=False),
)
"""Erasures done here whose record in the log is not confirmed yet (``key_ids``: JSON)."""

person_lookups = Table(
    "person_lookups",
    metadata,
    Column("person_id", Text, primary_key=True, nullable=True),
    Column("incident_id", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("reference", Text),
    Index("person_lookups_by_email", "email", "incident_id", unique=True),
    Index("person_lookups_by_reference", "reference"),
    sqlite_with_rowid=False,
)
"""One row per person: their incident and the keyed hashes of their address (unique per
incident) and reference. On SQLite the rows live in their primary key's tree."""

lookup_index_meta = Table(
    "lookup_index_meta",
    metadata,
    Column("name", Text, primary_key=True, nullable=True),
    Column("value", Text, nullable=False),
)
"""Marks of the lookup index (e.g. an upgrade done)."""
