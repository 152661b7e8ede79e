"""View commands: status of every view, and rebuilding them from the log."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from services.cli.app import app, state_of
from services.cli.guard import operator
from services.cli.output import emit_json, emit_table, note

views_app = typer.Typer(help="Inspect and rebuild the views (read models).", no_args_is_help=True)
app.add_typer(views_app, name="views")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@views_app.command("status")
@operator
def status(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Show each view's position in the log and how far behind it is."""
    rt = state_of(ctx).service_runtime
    head = rt.feed.head()
    rows = [
        {"view": name, "position": head - lag, "head": head, "behind": lag}
        for name, lag in rt.views.lag().items()
    ]
    if as_json:
        emit_json(rows)
    else:
        columns = [("view", "View"), ("position", "Position"), ("head", "Head")]
        emit_table(rows, [*columns, ("behind", "Behind")])


@views_app.command("rebuild")
@operator
def rebuild(
    ctx: typer.Context,
    check: Annotated[
        bool,
        typer.Option("--check", help="Rebuild in a scratch store and compare, changing nothing."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Drop every view and rebuild it from the whole log (or, with --check, rebuild into a
    scratch store and report any difference from the live views; exit 1 if any)."""
    rt = state_of(ctx).service_runtime
    if check:
        from services.operations.audit import check_views

        differences = check_views(rt)
        if as_json:
            emit_json({"equal": not differences, "differences": differences})
        elif differences:
            for name, d in differences.items():
                note(
                    f"{name}: {d['missing_from_live']} row(s) missing from the live view, "
                    f"{d['extra_in_live']} extra"
                )
        else:
            note("every view equals its rebuild from the log")
        if differences:
            raise typer.Exit(1)
        return
    head = rt.feed.head()
    views = len(rt.views.workers)
    with Progress(
        TextColumn("rebuilding views"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
        disable=as_json,
    ) as bar:
        task = bar.add_task("rebuild", total=max(head * views, 1))
        applied = rt.views.rebuild(
            progress=lambda done, total: bar.update(task, completed=done, total=max(total, 1))
        )
    result = {"views": views, "events": head, "applied": applied}
    if as_json:
        emit_json(result)
    else:
        note(f"rebuilt {views} view(s) from {head} event(s)")
