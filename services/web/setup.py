"""Mounting the web dashboard on the HTTP application."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Add the dashboard's pages and static files to ``app``."""
