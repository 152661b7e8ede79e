"""The revision history of the key store's and the lookup index's tables (``keys.db``, or
the PostgreSQL schema): the ``keys`` branch."""
