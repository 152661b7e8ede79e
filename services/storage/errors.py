"""Errors of the stores that callers handle without importing a database driver."""

from __future__ import annotations


class DatabaseUnavailable(RuntimeError):
    """PostgreSQL cannot be reached, refused the connection, or refuses what starting needs
    (the message names the server, never the password)."""
