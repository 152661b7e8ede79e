"""The revision history of the credential store's tables (``credentials.db``, or the
PostgreSQL schema): the ``credentials`` branch."""
