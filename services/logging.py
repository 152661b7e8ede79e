"""structlog set-up: JSON lines off a terminal, readable lines on one, ids from context.

Call :func:`configure_logging` once per process (the bootstrap does). Code logs through
``structlog.get_logger()``; the incident and correlation ids of the request being served are
bound with :func:`structlog.contextvars.bound_contextvars` and appear on every line.
"""

from __future__ import annotations

import logging as stdlib_logging
import sys
from typing import TextIO

import structlog

from services.config import LogFormat, Settings


def configure_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """Configure structlog for this process, writing to ``stream`` (stderr by default)."""
    out = stream if stream is not None else sys.stderr
    fmt = settings.log_format
    if fmt is LogFormat.AUTO:
        fmt = LogFormat.CONSOLE if out.isatty() else LogFormat.JSON
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if fmt is LogFormat.JSON
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    level = stdlib_logging.getLevelNamesMapping()[settings.log_level.upper()]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
