"""The HTTP API: JSON over HTTP for every command and query, secured by role."""
