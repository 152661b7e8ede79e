"""Integration tests against real SQLite files and processes."""
