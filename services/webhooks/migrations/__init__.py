"""The revision history of the webhook store's tables (``webhooks.db``, or the PostgreSQL
schema): the ``webhooks`` branch."""
