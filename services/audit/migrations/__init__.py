"""The revision history of the audit chain's tables (``audit.db``, or the PostgreSQL
schema): the ``audit`` branch."""
