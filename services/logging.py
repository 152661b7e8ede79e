"""structlog set-up: JSON lines off a terminal, readable lines on one, ids from context.

Call :func:`configure_logging` once per process (the bootstrap does; the ``breach`` entry
point does first, with defaults, so no command ever runs with structlog's own defaults).
Code logs through ``structlog.get_logger()``; the incident and correlation ids of the
request being served are bound with :func:`structlog.contextvars.bound_contextvars` and
appear on every line.

Records of the standard library's loggers (uvicorn, asyncio, kafka, warnings, anything) go
through the same processors (structlog's ``ProcessorFormatter``), so in JSON the log stays
one object a line, with an exception's traceback in its ``exception`` field. A traceback is
always the plain one: never the values of the frames' variables, which may hold keys or
personal data.
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


class StdlibHandler(stdlib_logging.Handler):
    """Writes the standard library's records, rendered by structlog's processors, through
    the writer structlog's own lines use (one lock, one write a line: lines never mix)."""

    def __init__(self, out: TextIO, formatter: stdlib_logging.Formatter, level: int) -> None:
        super().__init__(level)
        self.writer = structlog.WriteLogger(out)
        self.setFormatter(formatter)

    def emit(self, record: stdlib_logging.LogRecord) -> None:
        """Render one record and write it as one line."""
        try:
            self.writer.msg(self.format(record))
        except Exception:
            self.handleError(record)


def configure_logging(settings: Settings | None = None, stream: TextIO | None = None) -> None:
    """Configure structlog and the standard library's logging for this process, writing to
    ``stream`` (stderr by default); without settings, at the warning level in the format
    that suits the stream."""
    out = stream if stream is not None else sys.stderr
    fmt = settings.log_format if settings is not None else LogFormat.AUTO
    if fmt is LogFormat.AUTO:
        fmt = LogFormat.CONSOLE if out.isatty() else LogFormat.JSON
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if fmt is LogFormat.JSON
        else structlog.dev.ConsoleRenderer(
            colors=out.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    name = settings.log_level if settings is not None else "warning"
    level = stdlib_logging.getLevelNamesMapping()[name.upper()]
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # format_exc_info renders the plain traceback (no variables) into the "exception" field.
    final: list[structlog.types.Processor] = [
        structlog.processors.format_exc_info,
        redactor,
        renderer,
    ]
    structlog.configure(
        processors=[*shared, *final],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.WriteLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
    )
    root = stdlib_logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, StdlibHandler)]:
        root.removeHandler(handler)
    root.addHandler(StdlibHandler(out, formatter, level))
    root.setLevel(level)
    stdlib_logging.captureWarnings(False)  # let the next line take the current hook over
    stdlib_logging.captureWarnings(True)
    threading.excepthook = _thread_failed


def _thread_failed(args: threading.ExceptHookArgs) -> None:
    """Log a thread's uncaught exception as one line (not printed raw on stderr)."""
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    structlog.get_logger().error(
        "thread.failed",
        thread=args.thread.name if args.thread is not None else None,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )
