"""Containment commands: the task board, task changes, and the playbooks."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import typer

from events.containment import ContainmentTask, Priority
from services.access.permissions import Permission
from services.cli.app import app, state_of
from services.cli.guard import needs
from services.cli.incidents import JsonOpt
from services.cli.output import emit_fields, emit_json, emit_table, say
from services.ledger import BreachLedger
from services.projections.schema import from_db_time
from services.timefmt import parse_time, show_time

task_app = typer.Typer(help="Open and move containment tasks.", no_args_is_help=True)
app.add_typer(task_app, name="task")
playbooks_app = typer.Typer(
    help="The containment playbooks (templates/playbooks).", invoke_without_command=True
)
app.add_typer(playbooks_app, name="playbooks")

TaskArg = Annotated[str, typer.Argument(help="Task id, or a unique prefix of it.")]
ReasonOpt = Annotated[str, typer.Option(help="Why (required).")]


def task_document(task: ContainmentTask) -> dict[str, Any]:
    """A task as a JSON-ready mapping."""
    return {"id": str(task.id), "version": task.version, **task.state.model_dump(mode="json")}


def _task_rows(rows: list[dict[str, Any]], zone: Any) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        flags = []
        if r["overdue"]:
            flags.append("OVERDUE")
        if r["waiting_on"]:
            flags.append(f"waits for {', '.join(w[:8] for w in r['waiting_on'])}")
        if r["status"] == "blocked":
            flags.append(f"blocked: {r['blocked_reason']}")
        out.append(
            {
                "id": r["task_id"][:8],
                "incident": r["incident_id"][:8],
                "title": r["title"],
                "mandatory": "yes" if r["mandatory"] else "no",
                "priority": r["priority"],
                "owner": r["owner"] or "-",
                "status": r["status"],
                "due": show_time(from_db_time(r["due_at"]), zone),
                "flags": "; ".join(flags),
            }
        )
    return out


@app.command()
@needs(Permission.TASK_READ)
def tasks(
    ctx: typer.Context,
    incident_id: Annotated[str | None, typer.Argument(help="Only this incident.")] = None,
    owner: Annotated[str | None, typer.Option(help="Only tasks of this owner (my work).")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue tasks.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The task board, ordered by due time, with overdue and blocked tasks marked; for one
    incident it also shows containment progress."""
    state = state_of(ctx)
    rt = state.runtime
    target = rt.board.resolve(incident_id) if incident_id else None
    rows = rt.tasks.rows(state.now(), incident_id=target, owner=owner, overdue_only=overdue)
    if as_json:
        emit_json(rows)
        return
    if target is not None:
        done, total = rt.tasks.progress(target)
        incident = rt.app.incidents.get_incident(target).state
        reached = incident.containment_reached_at
        line = f"Containment: {done}/{total} mandatory tasks done"
        if reached is not None and incident.time_to_contain_seconds is not None:
            hours = incident.time_to_contain_seconds / 3600
            line += f"; reached {show_time(reached, state.zone)} ({hours:.1f} h after awareness)"
        say(line)
    if not rows:
        say("No tasks match.")
        return
    columns = [
        ("id", "Task"),
        ("title", "Title"),
        ("mandatory", "Mandatory"),
        ("priority", "Priority"),
        ("owner", "Owner"),
        ("status", "Status"),
        ("due", "Due"),
        ("flags", "Flags"),
    ]
    if target is None:
        columns.insert(1, ("incident", "Incident"))
    emit_table(_task_rows(rows, state.zone), columns)


def _apply(
    ctx: typer.Context,
    task_id: str,
    method: Callable[[BreachLedger], Callable[..., ContainmentTask]],
    as_json: bool,
    done: str,
    *data: Any,
) -> None:
    state = state_of(ctx)
    rt = state.runtime
    task = rt.gateway.run(method(rt.app), rt.tasks.resolve(task_id), *data, state.request())
    if as_json:
        emit_json(task_document(task))
    else:
        typer.echo(f"{done} task {task.id} (version {task.version})")


@task_app.command("add")
@needs(Permission.TASK_CHANGE)
def add(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(help="Incident id or unique prefix.")],
    title: Annotated[str, typer.Option(help="What must be done.")],
    due: Annotated[str, typer.Option(help="When it is due (ISO 8601 or 'now').")],
    owner: Annotated[str | None, typer.Option(help="Who does it.")] = None,
    priority: Annotated[Priority, typer.Option(help="How urgent.")] = Priority.MEDIUM,
    mandatory: Annotated[
        bool, typer.Option("--mandatory/--optional", help="Counts towards containment.")
    ] = True,
    blocked_by: Annotated[
        list[str] | None, typer.Option(help="A task (id or prefix) to finish first; repeatable.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Open a task on an incident by hand."""
    state = state_of(ctx)
    rt = state.runtime
    target = rt.board.resolve(incident_id)
    data: dict[str, Any] = {
        "title": title,
        "due_at": parse_time("due_at", due, state.zone, now=state.now()),
        "priority": priority.value,
        "mandatory": mandatory,
        "blocked_by": [str(rt.tasks.resolve(b)) for b in blocked_by or []],
    }
    if owner is not None:
        data["owner"] = owner
    task = rt.gateway.run(rt.app.containment.add_task, target, data, state.request())
    if as_json:
        emit_json(task_document(task))
    else:
        typer.echo(str(task.id))


@task_app.command("assign")
@needs(Permission.TASK_CHANGE)
def assign(ctx: typer.Context, task_id: TaskArg, owner: str, as_json: JsonOpt = False) -> None:
    """Give a task to an owner."""
    _apply(ctx, task_id, lambda a: a.containment.assign_task, as_json, "assigned", {"owner": owner})


@task_app.command("start")
@needs(Permission.TASK_CHANGE)
def start(ctx: typer.Context, task_id: TaskArg, as_json: JsonOpt = False) -> None:
    """Start work on a task (its blockers must be finished)."""
    _apply(ctx, task_id, lambda a: a.containment.start_task, as_json, "started")


@task_app.command("block")
@needs(Permission.TASK_CHANGE)
def block(
    ctx: typer.Context, task_id: TaskArg, reason: ReasonOpt, as_json: JsonOpt = False
) -> None:
    """Mark a task blocked, with the reason."""
    _apply(ctx, task_id, lambda a: a.containment.block_task, as_json, "blocked", {"reason": reason})


@task_app.command("unblock")
@needs(Permission.TASK_CHANGE)
def unblock(
    ctx: typer.Context,
    task_id: TaskArg,
    reason: Annotated[str, typer.Option(help="What lifted the block.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Lift a block; the task returns to where it was."""
    _apply(
        ctx, task_id, lambda a: a.containment.unblock_task, as_json, "unblocked", {"reason": reason}
    )


@task_app.command("done")
@needs(Permission.TASK_CHANGE)
def done(
    ctx: typer.Context,
    task_id: TaskArg,
    outcome: Annotated[str, typer.Option(help="What was done (required).")],
    evidence: Annotated[
        list[str] | None,
        typer.Option(help="sha256:<hex>, url:<link>, ticket:<id> or note:<text>; repeatable."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a task done, with its outcome and evidence references."""
    data = {"outcome": outcome, "evidence": list(evidence or [])}
    _apply(ctx, task_id, lambda a: a.containment.complete_task, as_json, "completed", data)


@task_app.command("reopen")
@needs(Permission.TASK_CHANGE)
def reopen(
    ctx: typer.Context, task_id: TaskArg, reason: ReasonOpt, as_json: JsonOpt = False
) -> None:
    """Reopen a done or cancelled task."""
    _apply(
        ctx, task_id, lambda a: a.containment.reopen_task, as_json, "reopened", {"reason": reason}
    )


@task_app.command("cancel")
@needs(Permission.TASK_CHANGE)
def cancel(
    ctx: typer.Context, task_id: TaskArg, reason: ReasonOpt, as_json: JsonOpt = False
) -> None:
    """Cancel a task, with the reason."""
    _apply(
        ctx, task_id, lambda a: a.containment.cancel_task, as_json, "cancelled", {"reason": reason}
    )


@task_app.command("due")
@needs(Permission.TASK_CHANGE)
def due(
    ctx: typer.Context,
    task_id: TaskArg,
    at: Annotated[str, typer.Option("--at", help="The new due time (ISO 8601).")],
    reason: ReasonOpt,
    as_json: JsonOpt = False,
) -> None:
    """Move a task's due time, with the reason."""
    state = state_of(ctx)
    when = parse_time("due_at", at, state.zone, now=state.now())
    data = {"due_at": when, "reason": reason}
    _apply(ctx, task_id, lambda a: a.containment.change_task_due, as_json, "rescheduled", data)


@playbooks_app.callback()
@needs(Permission.TASK_READ)
def list_playbooks(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List the playbooks and the incident types each serves."""
    if ctx.invoked_subcommand is not None:
        return
    catalog = state_of(ctx).runtime.playbooks
    rows: list[dict[str, Any]] = [
        {
            "id": p.id,
            "version": p.version,
            "title": p.title,
            "incident_types": [t.value for t in p.incident_types] or ["(any other)"],
            "steps": len(p.steps),
            "mandatory": sum(s.mandatory for s in p.steps),
        }
        for p in catalog.playbooks.values()
    ]
    if as_json:
        emit_json(rows)
        return
    emit_table(
        [{**r, "incident_types": ", ".join(r["incident_types"])} for r in rows],
        [
            ("id", "Playbook"),
            ("version", "v"),
            ("title", "Title"),
            ("incident_types", "Incident types"),
            ("steps", "Steps"),
            ("mandatory", "Mandatory"),
        ],
    )


@playbooks_app.command("show")
@needs(Permission.TASK_READ)
def show_playbook(
    ctx: typer.Context,
    playbook_id: Annotated[str, typer.Argument(help="Playbook id.")],
    as_json: JsonOpt = False,
) -> None:
    """Show a playbook's steps: due times, what they depend on, whether mandatory."""
    from services.application.errors import NotFound

    catalog = state_of(ctx).runtime.playbooks
    playbook = catalog.playbooks.get(playbook_id)
    if playbook is None:
        raise NotFound("playbook", "no such playbook (see breach playbooks)")
    if as_json:
        emit_json(json.loads(playbook.model_dump_json(by_alias=True)))
        return
    emit_fields(
        [
            ("Playbook", f"{playbook.id} v{playbook.version}: {playbook.title}"),
            ("Types", ", ".join(t.value for t in playbook.incident_types) or "(any other)"),
        ]
    )
    emit_table(
        [
            {
                "id": s.id,
                "title": s.title,
                "mandatory": "yes" if s.mandatory else "no",
                "priority": s.priority.value,
                "due": f"{s.due.start} + {s.due.hours}h"
                if s.due.hours is not None
                else f"{s.due.start} + {s.due.days}d",
                "after": ", ".join(s.depends_on),
            }
            for s in playbook.steps
        ],
        [
            ("id", "Step"),
            ("title", "Title"),
            ("mandatory", "Mandatory"),
            ("priority", "Priority"),
            ("due", "Due"),
            ("after", "After"),
        ],
    )
