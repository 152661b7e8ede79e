"""The ``breach`` command group and its global options."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import structlog
import typer

from services.cli.state import CliState

app = typer.Typer(
    name="breach",
    help=(
        "breachledger: an event-sourced incident and personal-data-breach ledger.\n\n"
        "Every change is appended to an immutable log; boards and timelines are built "
        "from it. Commands act for the user their API token proves (sign in with `breach "
        "login`); operator commands (serve, worker, views, audit verify, init) need none. "
        "Exit status: 0 done, 2 refused input (nothing recorded), 3 conflict with a "
        "concurrent change (nothing recorded), 4 not permitted (sign in, or the role may "
        "not), 5 verification failed (audit verify), 6 campaign not done yet (notify send), "
        "1 internal error."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Directory of the embedded store (env BREACH_DATA_DIR, default ./var).",
            show_default=False,
        ),
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file",
            help="File holding your API token (env BREACH_TOKEN_FILE; default "
            "~/.config/breachledger/token, written by `breach login`). BREACH_TOKEN, when "
            "set, is used instead.",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log what happens on standard error.")
    ] = False,
) -> None:
    """Set up the shared state for the command that follows."""
    if os.environ.get("BREACH_ACTOR"):
        structlog.get_logger().warning(
            "cli.actor_ignored",
            hint="BREACH_ACTOR is not read: commands act as the user your token proves "
            "(`breach login USERNAME`)",
        )
    state = CliState(data_dir=data_dir, token_file=token_file, verbose=verbose)
    ctx.obj = state
    ctx.call_on_close(state.close)


def state_of(ctx: typer.Context) -> CliState:
    """The shared state set up by :func:`root`."""
    obj = ctx.find_root().obj
    assert isinstance(obj, CliState)
    return obj
