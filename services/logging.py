"""structlog set-up: JSON lines off a terminal, readable lines on one, ids from context.

Call :func:`configure_logging` once per process (the bootstrap does). Code logs through
``structlog.get_logger()``; the incident and correlation ids of the request being served are
bound with :func:`structlog.contextvars.bound_contextvars` and appear on every line.
"""

from __future__ import annotations

import logging as stdlib_logging
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from services.config import LogFormat, Settings

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
PERSONAL_KEYS = frozenset(
    {"email", "name", "full_name", "recipient", "to", "address", "reference", "attributes"}
)
REDACTED = "[redacted]"


class PersonalDataRedactor:
    """A structlog processor that removes personal data that slipped into a log event.

    It redacts the values of keys that name personal fields, anything shaped like an email
    address, and the most recent personal values the process handled (names, references),
    which code registers with :meth:`remember`. It is a safety net: code never logs personal
    data on purpose.
    """

    def __init__(self, capacity: int = 2000) -> None:
        self.capacity = capacity
        self._known: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, *values: str | None) -> None:
        """Register personal values (three characters or more) to redact wherever seen."""
        with self._lock:
            for value in values:
                if value and len(value.strip()) >= 3:
                    self._known[value.strip()] = None
                    self._known.move_to_end(value.strip())
            while len(self._known) > self.capacity:
                self._known.popitem(last=False)

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            text = EMAIL.sub(REDACTED, value)
            for known in reversed(self._known):
                if known in text:
                    text = text.replace(known, REDACTED)
            return text
        if isinstance(value, dict):
            return {
                k: REDACTED if str(k).lower() in PERSONAL_KEYS else self._scrub(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self._scrub(v) for v in value]
        return value

    def __call__(
        self, logger: Any, method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        """Redact one log event."""
        for key in list(event_dict):
            if key.lower() in PERSONAL_KEYS:
                event_dict[key] = REDACTED
            else:
                event_dict[key] = self._scrub(event_dict[key])
        return event_dict


redactor = PersonalDataRedactor()
"""The process's redactor; code that handles personal data registers values with it."""


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
            redactor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
