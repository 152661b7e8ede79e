"""Entry point of the ``breach`` console script: runs a command, turns errors into one line."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from functools import cache
from typing import Any

import structlog
import typer

from services.application.errors import ServiceError
from services.cli import (  # noqa: F401  (commands register themselves)
    account,
    alerts,
    assessment,
    audit,
    containment,
    demo,
    incidents,
    notify,
    people,
    serve,
    stats,
    users,
    views,
    webhooks,
    worker,
)
from services.cli.app import app
from services.cli.output import error
from services.cli.usage import usage_message
from services.collector import tune_for_long_work
from services.logging import configure_logging


@cache
def _command() -> Any:
    """The click command typer builds from the app (once per process)."""
    return typer.main.get_command(app)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``breach`` with ``argv``; return the exit status (0 to 6)."""
    configure_logging()  # until a command's settings say otherwise; never structlog's own
    command = _command()
    try:
        status = command.main(
            args=list(argv) if argv is not None else None, prog_name="breach", standalone_mode=False
        )
    except ServiceError as e:
        error(f"{e.field}: {e.reason}")
        return e.exit_code
    except typer.Exit as e:
        return e.exit_code
    except typer.TyperException as e:
        message = usage_message(e)
        if message:
            error(message)
        return e.exit_code
    except typer.Abort:
        error("aborted")
        return 130
    except KeyboardInterrupt:
        error("interrupted")
        return 130
    except Exception as e:
        structlog.get_logger().exception("cli.failed")
        error(f"internal error ({type(e).__name__}); details are in the log, rerun with -v")
        return 1
    return status if isinstance(status, int) else 0


def run() -> None:
    """Console-script entry: exit with :func:`main`'s status. The process runs this one
    command: the collector leaves what its start built alone (see
    :mod:`services.collector`)."""
    tune_for_long_work(collect_first=False)
    sys.exit(main())
