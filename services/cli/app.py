"""The ``breach`` command group and its global options."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from services.cli.state import CliState

app = typer.Typer(
    name="breach",
    help=(
        "breachledger: an event-sourced incident and personal-data-breach ledger.\n\n"
        "Every change is appended to an immutable log; boards and timelines are built "
        "from it. Exit status: 0 done, 2 refused input (nothing recorded), 3 conflict "
        "with a concurrent change (nothing recorded), 5 verification failed (audit "
        "verify), 1 internal error."
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
    actor: Annotated[
        str | None,
        typer.Option(
            "--actor",
            help="Who is acting, recorded on every event (env BREACH_ACTOR, default: login name).",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log what happens on standard error.")
    ] = False,
) -> None:
    """Set up the shared state for the command that follows."""
    state = CliState(data_dir=data_dir, actor=actor, verbose=verbose)
    ctx.obj = state
    ctx.call_on_close(state.close)


def state_of(ctx: typer.Context) -> CliState:
    """The shared state set up by :func:`root`."""
    obj = ctx.find_root().obj
    assert isinstance(obj, CliState)
    return obj
