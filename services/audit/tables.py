"""The audit chain's tables, in ``audit.db`` or the PostgreSQL schema. Their history is the
``audit`` branch of :mod:`services.storage.schema` (``services/audit/migrations``).

Positions are 64-bit integers (on SQLite, the rowid alias ``INTEGER``), never generated.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, Text

metadata = MetaData()

POSITION = BigInteger().with_variant(Integer(), "sqlite")

links = Table(
    "links",
    metadata,
    Column("position", POSITION, primary_key=True, nullable=True, autoincrement=False),
    Column("digest", Text, nullable=False),
    Column("link", Text, nullable=False),
)
"""One link per log position: the stored event's digest and the chain's link there."""

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("position", POSITION, primary_key=True, nullable=True, autoincrement=False),
    Column("link", Text, nullable=False),
    Column("signature", Text, nullable=False),
    Column("at", Text, nullable=False),
)
"""Signed checkpoints: the chain's link at a position, its HMAC, and when (ISO 8601)."""
