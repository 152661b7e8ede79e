"""The revision history of the capture server's mailbox index (``mailbox/index.db``): the
``mailbox`` branch."""
