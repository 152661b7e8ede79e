"""The long-running server: HTTP, background workers, and the local capture SMTP server."""
