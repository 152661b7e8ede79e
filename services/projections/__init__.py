"""Projections: read models built from the log, each tracked so it is applied exactly once."""
