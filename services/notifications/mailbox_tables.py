"""The local capture server's mailbox index, in ``mailbox/index.db``. Its history is the
``mailbox`` branch of :mod:`services.storage.schema` (``services/notifications/migrations``).
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, MetaData, Table, Text

metadata = MetaData()

messages = Table(
    "messages",
    metadata,
    Column("seq", Integer, primary_key=True, nullable=True),
    Column("message_id", Text),
    Column("received_at", Text),
    Column("recipient", Text),
    Column("size", Integer),
    Column("file", Text),
    Index("by_id", "message_id"),
)
"""The messages kept: numbered in arrival order (SQLite's rowid), with their file's name."""

withheld = Table(
    "withheld",
    metadata,
    Column("message_id", Text, primary_key=True, nullable=True),
)
"""Message-IDs of erased people's messages: not kept when they arrive."""
