"""Incident commands: report, list, show, timeline, amend, triage, note, close, reopen."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer

from events.incident import Incident, IncidentNoteAdded
from events.values import (
    MOMENT_FIELDS,
    BreachDetermination,
    IncidentStatus,
    IncidentType,
    Severity,
    SourceChannel,
)
from services.access.permissions import Permission, own_incidents_only
from services.application.errors import InvalidInput, NotPermitted
from services.cli.app import app, state_of
from services.cli.guard import needs
from services.cli.inputs import read_document
from services.cli.output import emit_fields, emit_json, emit_table, note
from services.cli.state import CliState
from services.incidents.presentation import contained, incident_document, severity_label
from services.ledger import BreachLedger
from services.projections.schema import from_db_time
from services.timefmt import normalise_moments, show_time
from services.timeline import timeline

IdArg = Annotated[str, typer.Argument(help="Incident id, or a unique prefix of it.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
TimeHelp = "ISO 8601 time, or 'now'; without an offset it is read in BREACH_TIMEZONE."
LIST_MAX = 1_000_000
"""Most rows a list command prints."""

BOARD_COLUMNS = [
    ("short_id", "ID"),
    ("title", "Title"),
    ("incident_type", "Type"),
    ("severity_text", "Severity"),
    ("personal_data_breach", "PD breach"),
    ("status", "Status"),
    ("aware", "Aware"),
    ("contained", "Contained"),
    ("last_change", "Last change"),
]


def _given(**values: Any) -> dict[str, Any]:
    return {k: v.value if hasattr(v, "value") else v for k, v in values.items() if v is not None}


@app.command()
@needs(Permission.INCIDENT_REPORT)
def report(
    ctx: typer.Context,
    title: Annotated[str | None, typer.Option(help="Short title.")] = None,
    description: Annotated[str | None, typer.Option(help="What is known so far.")] = None,
    reporter: Annotated[
        str | None, typer.Option(help="Who reported it (default: the actor).", show_default=False)
    ] = None,
    source: Annotated[
        SourceChannel | None, typer.Option(help="How it reached us (default: employee).")
    ] = None,
    incident_type: Annotated[
        IncidentType | None, typer.Option("--type", help="Kind of incident (default: other).")
    ] = None,
    occurred_at: Annotated[str | None, typer.Option(help=f"When it happened. {TimeHelp}")] = None,
    discovered_at: Annotated[
        str | None, typer.Option(help=f"When it was first noticed (required). {TimeHelp}")
    ] = None,
    aware_at: Annotated[
        str | None, typer.Option(help=f"When we became aware it is a breach. {TimeHelp}")
    ] = None,
    determined_at: Annotated[
        str | None,
        typer.Option(help=f"When it was determined a personal-data breach. {TimeHelp}"),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", "-f", help="YAML or JSON file with the same fields; flags override it."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Report a new incident; prints its id."""
    state = state_of(ctx)
    data: dict[str, Any] = read_document(file) if file is not None else {}
    data.update(
        _given(
            title=title,
            description=description,
            reporter=reporter,
            source=source,
            incident_type=incident_type,
            occurred_at=occurred_at,
            discovered_at=discovered_at,
            aware_at=aware_at,
            determined_at=determined_at,
        )
    )
    request = state.request()
    data.setdefault("reporter", request.actor)
    data = normalise_moments(data, state.zone, state.now())
    rt = state.runtime
    incident = rt.gateway.run(rt.app.incidents.report_incident, data, request)
    if as_json:
        emit_json(incident_document(incident))
    else:
        typer.echo(str(incident.id))


def _own_only(state: CliState) -> str | None:
    assert state.caller is not None
    return own_incidents_only(state.permissions, state.caller.username)


def _readable(state: CliState, incident_id: UUID) -> UUID:
    """The incident, if the caller may read it (one who may read only their own incidents
    is refused another's)."""
    own = _own_only(state)
    if own is not None and state.runtime.board.reporter_of(incident_id) != own:
        raise NotPermitted("role", f"{own} may read only the incidents they reported")
    return incident_id


def _board_row(row: dict[str, Any], zone: Any) -> dict[str, Any]:
    return {
        **row,
        "short_id": row["incident_id"][:8],
        "reported": show_time(from_db_time(row["reported_at"]), zone),
        "aware": show_time(from_db_time(row["aware_at"]), zone),
        "last_change": show_time(from_db_time(row["last_change_at"]), zone),
        "contained": contained(row),
        "severity_text": severity_label(row, short=True),
    }


@app.command("list")
@needs(Permission.INCIDENT_READ, Permission.INCIDENT_READ_OWN)
def list_incidents(
    ctx: typer.Context,
    status: Annotated[IncidentStatus | None, typer.Option(help="Only this status.")] = None,
    severity: Annotated[
        Severity | None,
        typer.Option(
            help="Only this severity (the assessed band once assessed, else the triage estimate)."
        ),
    ] = None,
    incident_type: Annotated[
        IncidentType | None, typer.Option("--type", help="Only this type.")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, max=LIST_MAX, help="At most this many.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List incidents on the board, newest first."""
    state = state_of(ctx)
    rt = state.runtime
    rows = rt.board.rows(
        status=status.value if status else None,
        severity=severity.value if severity else None,
        incident_type=incident_type.value if incident_type else None,
        limit=limit,
        reported_by=_own_only(state),
    )
    if as_json:
        emit_json(rows)
        return
    if not rows:
        note("No incidents match.")
        return
    emit_table([_board_row(r, state.zone) for r in rows], BOARD_COLUMNS)


@app.command()
@needs(Permission.INCIDENT_READ, Permission.INCIDENT_READ_OWN)
def show(ctx: typer.Context, incident_id: IdArg, as_json: JsonOpt = False) -> None:
    """Show everything currently known about one incident."""
    state = state_of(ctx)
    rt = state.runtime
    incident = rt.app.incidents.get_incident(_readable(state, rt.board.resolve(incident_id)))
    doc = incident_document(incident)
    if as_json:
        emit_json(doc)
        return
    s = incident.state
    zone = state.zone
    emit_fields(
        [
            ("ID", doc["id"]),
            ("Title", s.title),
            ("Status", s.status.value + (f" ({s.resolution})" if s.resolution else "")),
            ("Type", s.incident_type.value),
            ("Severity", severity_label(doc)),
            ("PD breach", s.personal_data_breach.value),
            ("Reporter", f"{s.reporter} via {s.source.value}"),
            ("Occurred", show_time(s.moments.occurred_at, zone)),
            ("Discovered", show_time(s.moments.discovered_at, zone)),
            ("Aware", show_time(s.moments.aware_at, zone)),
            ("Determined", show_time(s.moments.determined_at, zone)),
            ("Reported", show_time(incident.created_on, zone)),
            ("Last change", f"{show_time(incident.modified_on, zone)} (v{incident.version})"),
            ("Description", s.description or "-"),
        ],
        title=f"Incident {doc['id'][:8]}",
    )
    notes = [
        e
        for e in rt.app.incidents.incident_history(incident.id)
        if isinstance(e, IncidentNoteAdded)
    ]
    if notes:
        emit_table(
            [{"at": show_time(n.timestamp, zone), "actor": n.actor, "text": n.text} for n in notes],
            [("at", "Noted"), ("actor", "By"), ("text", "Note")],
            title="Notes",
        )


@app.command("timeline")
@needs(Permission.INCIDENT_READ, Permission.INCIDENT_READ_OWN)
def show_timeline(ctx: typer.Context, incident_id: IdArg, as_json: JsonOpt = False) -> None:
    """Every event of an incident: when it was recorded, who did it, and what it changed."""
    state = state_of(ctx)
    rt = state.runtime
    target = _readable(state, rt.board.resolve(incident_id))
    entries = timeline(rt.app.containment.timeline_events(target), state.zone)
    if as_json:
        emit_json(entries)
        return
    emit_table(
        [
            {
                "version": e.version,
                "recorded": show_time(e.recorded_at, state.zone),
                "actor": e.actor,
                "summary": e.summary,
            }
            for e in entries
        ],
        [("version", "#"), ("recorded", "Recorded"), ("actor", "Actor"), ("summary", "What")],
    )


def change_incident(
    ctx: typer.Context,
    incident_id: str,
    method: Callable[[BreachLedger], Callable[..., Incident]],
    data: dict[str, Any],
    as_json: bool,
    done: str,
) -> None:
    """Resolve the id, run the application's command ``method`` on it, and report the new
    version."""
    state = state_of(ctx)
    rt = state.runtime
    incident = rt.gateway.run(method(rt.app), rt.board.resolve(incident_id), data, state.request())
    if as_json:
        emit_json(incident_document(incident))
    else:
        typer.echo(f"{done} {incident.id} (version {incident.version})")


@app.command()
@needs(Permission.INCIDENT_CHANGE)
def amend(
    ctx: typer.Context,
    incident_id: IdArg,
    reason: Annotated[str, typer.Option(help="Why the facts are corrected (required).")],
    title: Annotated[str | None, typer.Option(help="Corrected title.")] = None,
    description: Annotated[str | None, typer.Option(help="Corrected description.")] = None,
    occurred_at: Annotated[str | None, typer.Option(help=TimeHelp)] = None,
    discovered_at: Annotated[str | None, typer.Option(help=TimeHelp)] = None,
    aware_at: Annotated[str | None, typer.Option(help=TimeHelp)] = None,
    determined_at: Annotated[str | None, typer.Option(help=TimeHelp)] = None,
    clear: Annotated[
        list[str] | None,
        typer.Option(
            help="Clear a moment that turned out to be unknown "
            "(occurred_at, aware_at or determined_at); repeatable."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Correct facts of a report (moments, title, description), with a reason."""
    state = state_of(ctx)
    data = _given(
        title=title,
        description=description,
        occurred_at=occurred_at,
        discovered_at=discovered_at,
        aware_at=aware_at,
        determined_at=determined_at,
    )
    data = normalise_moments(data, state.zone, state.now())
    for name in clear or []:
        if name not in MOMENT_FIELDS:
            raise InvalidInput("--clear", f"is not one of {', '.join(MOMENT_FIELDS)}")
        data[name] = None
    data["reason"] = reason
    change_incident(ctx, incident_id, lambda a: a.incidents.amend_facts, data, as_json, "amended")


@app.command()
@needs(Permission.INCIDENT_CHANGE)
def triage(
    ctx: typer.Context,
    incident_id: IdArg,
    severity: Annotated[
        Severity | None,
        typer.Option(
            help=(
                "Triage estimate of the severity, kept as the initial severity; an "
                "assessment's band replaces it as the severity shown (default: unchanged; "
                "required at the first triage)."
            ),
            show_default=False,
        ),
    ] = None,
    breach: Annotated[
        BreachDetermination | None,
        typer.Option(help="Is it a personal-data breach? (default: unchanged)", show_default=False),
    ] = None,
    incident_type: Annotated[
        IncidentType | None,
        typer.Option("--type", help="Kind of incident (default: unchanged).", show_default=False),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record severity, whether it is a personal-data breach, and the incident type; what
    is not given stays as it is (at least one must be given)."""
    data = _given(severity=severity, personal_data_breach=breach, incident_type=incident_type)
    rt = state_of(ctx).runtime
    target = rt.board.resolve(incident_id)
    applied_before = dict(rt.app.incidents.get_incident(target).state.playbooks)
    change_incident(
        ctx, incident_id, lambda a: a.incidents.triage_incident, data, as_json, "triaged"
    )
    if not as_json:
        incident = rt.app.incidents.get_incident(target)
        for playbook, version in incident.state.playbooks.items():
            if applied_before.get(playbook) != version:
                note(
                    f"playbook {playbook} v{version}: tasks open "
                    f"(breach tasks {str(incident.id)[:8]})"
                )


@app.command("note")
@needs(Permission.INCIDENT_CHANGE)
def add_note(
    ctx: typer.Context,
    incident_id: IdArg,
    text: Annotated[str, typer.Argument(help="The note.")],
    as_json: JsonOpt = False,
) -> None:
    """Add a note to an incident's record."""
    change_incident(
        ctx, incident_id, lambda a: a.incidents.add_note, {"text": text}, as_json, "noted"
    )


@app.command()
@needs(Permission.INCIDENT_CHANGE)
def close(
    ctx: typer.Context,
    incident_id: IdArg,
    resolution: Annotated[str, typer.Option(help="How it was resolved (required).")],
    as_json: JsonOpt = False,
) -> None:
    """Close an incident with its resolution."""
    data = {"resolution": resolution}
    change_incident(ctx, incident_id, lambda a: a.incidents.close_incident, data, as_json, "closed")


@app.command()
@needs(Permission.INCIDENT_CHANGE)
def reopen(
    ctx: typer.Context,
    incident_id: IdArg,
    reason: Annotated[str, typer.Option(help="Why it is reopened (required).")],
    as_json: JsonOpt = False,
) -> None:
    """Reopen a closed incident."""
    data = {"reason": reason}
    change_incident(
        ctx, incident_id, lambda a: a.incidents.reopen_incident, data, as_json, "reopened"
    )
