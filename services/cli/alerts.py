"""Who is on the hook and what they were told: ``breach owners`` (incident owners, the DPO
duty rota) and ``breach alerts`` (the escalation alerts, acknowledged one by one)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from events.alerts import DutyRotaState
from services.access.permissions import Permission
from services.cli.app import app, state_of
from services.cli.guard import ACCESS, needs
from services.cli.incidents import JsonOpt
from services.cli.output import emit_json, emit_table, say
from services.projections.schema import from_db_time
from services.timefmt import parse_time, show_time

owners_app = typer.Typer(
    help="Who answers: incident owners and the DPO duty rota.", invoke_without_command=True
)
app.add_typer(owners_app, name="owners")
alerts_app = typer.Typer(
    help="Escalation alerts: list them, acknowledge one.", invoke_without_command=True
)
app.add_typer(alerts_app, name="alerts")


F = TypeVar("F", bound=Callable[..., Any])


def listing(permission: Permission) -> Callable[[F], F]:
    """A group's own listing runs only for a proven user holding ``permission``; when a
    subcommand follows, the group lets it through to the subcommand's own guard."""

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def guarded(ctx: typer.Context, *args: Any, **kwargs: Any) -> Any:
            if ctx.invoked_subcommand is not None:
                return None
            state_of(ctx).authorise((permission,))
            return command(ctx, *args, **kwargs)

        setattr(guarded, ACCESS, (permission,))
        return guarded  # type: ignore[return-value]

    return decorate


def rota_document(rota: DutyRotaState, on_duty: str | None) -> dict[str, Any]:
    """The rota and who is on duty now, JSON-ready."""
    return {"on_duty": on_duty, "shifts": [s.model_dump(mode="json") for s in rota.shifts]}


@owners_app.callback()
@listing(Permission.ALERT_READ)
def owners(
    ctx: typer.Context,
    incident_id: Annotated[
        str | None, typer.Option("--incident", help="Also show this incident's owner.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the DPO duty rota, who is on duty now, and an incident's owner."""
    state = state_of(ctx)
    rt = state.runtime
    rota = rt.app.alerts.rota()
    out = rota_document(rota, rt.app.alerts.on_duty(state.now()))
    if incident_id is not None:
        target = rt.board.resolve(incident_id)
        out["incident"] = {
            "id": str(target),
            "owner": rt.app.incidents.get_incident(target).state.owner,
        }
    if as_json:
        emit_json(out)
        return
    if "incident" in out:
        say(f"Incident {out['incident']['id']}: owner {out['incident']['owner'] or '-'}")
    say(f"DPO on duty now: {out['on_duty'] or 'nobody'}")
    rows = [
        {
            "shift": s.shift_id,
            "user": s.user,
            "from": show_time(s.starts_at, state.zone),
            "until": show_time(s.ends_at, state.zone),
        }
        for s in rota.shifts
    ]
    if rows:
        emit_table(
            rows, [("shift", "Shift"), ("user", "User"), ("from", "From"), ("until", "Until")]
        )


@owners_app.command("set")
@needs(Permission.OWNER_ASSIGN)
def set_owner(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(help="Incident id or unique prefix.")],
    owner: Annotated[str | None, typer.Argument(help="The user who answers for it.")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the owner.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Give an incident to an owner (or remove its owner with --clear)."""
    state = state_of(ctx)
    rt = state.runtime
    target = rt.board.resolve(incident_id)
    data: dict[str, Any] = {"owner": None} if clear else ({"owner": owner} if owner else {})
    incident = rt.gateway.run(rt.app.incidents.assign_owner, target, data, state.request())
    if as_json:
        emit_json({"id": str(incident.id), "owner": incident.state.owner})
    else:
        say(f"incident {incident.id}: owner {incident.state.owner or '-'}")


@owners_app.command("duty")
@needs(Permission.DUTY_MANAGE)
def duty(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="The DPO on duty.")],
    starts: Annotated[str, typer.Option("--from", help="Start (ISO 8601 or 'now').")],
    ends: Annotated[str, typer.Option("--until", help="End (ISO 8601).")],
    as_json: JsonOpt = False,
) -> None:
    """Put a user on the DPO duty rota for a period."""
    state = state_of(ctx)
    rt = state.runtime
    now = state.now()
    data = {
        "user": user,
        "starts_at": parse_time("starts_at", starts, state.zone, now=now),
        "ends_at": parse_time("ends_at", ends, state.zone, now=now),
    }
    rota = rt.gateway.run(rt.app.alerts.schedule_duty, data, state.request())
    document = rota_document(rota.state, rt.app.alerts.on_duty(now))
    if as_json:
        emit_json(document)
    else:
        say(f"on the rota: {rota.state.shifts[-1].shift_id}")


@owners_app.command("cancel")
@needs(Permission.DUTY_MANAGE)
def cancel(
    ctx: typer.Context,
    shift_id: Annotated[str, typer.Argument(help="The shift to take off the rota.")],
) -> None:
    """Take a shift off the DPO duty rota."""
    state = state_of(ctx)
    rt = state.runtime
    rt.gateway.run(rt.app.alerts.cancel_duty, {"shift_id": shift_id}, state.request())
    say(f"cancelled shift {shift_id}")


def _rows(rows: list[dict[str, Any]], zone: Any) -> list[dict[str, Any]]:
    return [
        {
            "id": r["alert_id"][:8],
            "incident": r["incident_id"][:8],
            "step": r["step"] + (" (late)" if r["late"] else ""),
            "subject": f"{r['subject_kind']} {r['subject_id']}",
            "deadline": show_time(from_db_time(r["deadline"]), zone),
            "raised": show_time(from_db_time(r["raised_at"]), zone),
            "to": ", ".join(r["recipients"]) or "-",
            "seen": "yes" if r["acknowledged_at"] else "",
        }
        for r in rows
    ]


@alerts_app.callback()
@listing(Permission.ALERT_READ)
def alerts(
    ctx: typer.Context,
    mine: Annotated[bool, typer.Option("--mine", help="Only alerts addressed to me.")] = False,
    unread: Annotated[
        bool, typer.Option("--unread", help="Only mine not acknowledged yet.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """The escalation alerts raised, newest first (``--mine``: addressed to me)."""
    state = state_of(ctx)
    rt = state.runtime
    me = state.request().actor
    rows = rt.alerts.of(me, unread_only=unread) if mine or unread else rt.alerts.rows()
    if as_json:
        emit_json(rows)
        return
    if not rows:
        say("No alerts.")
        return
    columns = [
        ("id", "Alert"),
        ("incident", "Incident"),
        ("step", "Step"),
        ("subject", "Subject"),
        ("deadline", "Deadline"),
        ("raised", "Raised"),
        ("to", "Told"),
    ]
    if mine or unread:
        columns.append(("seen", "Acknowledged"))
    emit_table(_rows(rows, state.zone), columns)


@alerts_app.command("ack")
@needs(Permission.ALERT_ACK)
def ack(
    ctx: typer.Context,
    alert_id: Annotated[str, typer.Argument(help="Alert id, or a unique prefix of it.")],
) -> None:
    """Acknowledge an alert addressed to me (once)."""
    state = state_of(ctx)
    rt = state.runtime
    target = rt.alerts.resolve(alert_id)
    rt.gateway.run(rt.app.alerts.acknowledge, target, state.request())
    say(f"acknowledged alert {target}")
