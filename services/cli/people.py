"""People commands: import, summary, show, export, correct, erase; and retention."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from services.access.permissions import Permission
from services.application.errors import InvalidInput, NotFound
from services.bootstrap import Runtime
from services.cli.app import app, state_of
from services.cli.guard import needs
from services.cli.incidents import JsonOpt
from services.cli.output import emit_fields, emit_json, emit_table, note, say
from services.people import retention
from services.people.presentation import person_record
from services.timefmt import show_time

people_app = typer.Typer(
    help="Affected people: import, show, export, correct, erase.", no_args_is_help=True
)
app.add_typer(people_app, name="people")
retention_app = typer.Typer(help="Apply the retention policy.", no_args_is_help=True)
app.add_typer(retention_app, name="retention")

IncidentArg = Annotated[str, typer.Argument(help="Incident id or unique prefix.")]
ReasonOpt = Annotated[str, typer.Option(help="Why (required; recorded without the data).")]


@people_app.command("import")
@needs(Permission.PEOPLE_IMPORT)
def import_people(
    ctx: typer.Context,
    incident_id: IncidentArg,
    file: Annotated[Path, typer.Argument(help="CSV or JSON Lines file (.csv, .jsonl).")],
    as_json: JsonOpt = False,
) -> None:
    """Import affected people. Columns: email, name, language, jurisdiction, optional
    reference, and any other column as a template attribute. Rejected rows are listed (row,
    field, reason) in FILE.rejected.csv; re-running the same file adds nobody twice."""
    state = state_of(ctx)
    rt = state.runtime
    target = rt.board.resolve(incident_id)
    with Progress(
        TextColumn("importing"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        transient=True,
        disable=as_json,
    ) as bar:
        task = bar.add_task("import", total=None)
        report = rt.gateway.run(
            rt.app.people.import_people,
            target,
            file,
            state.request(),
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    doc = {k: v for k, v in dataclasses.asdict(report).items() if k != "rejections"}
    if as_json:
        emit_json(doc)
        return
    say(
        f"{report.rows:,} rows: {report.imported:,} imported, {report.already_present:,} "
        f"already present, {report.duplicates:,} duplicates, {report.rejected:,} rejected"
    )
    if report.rejections_file:
        note(f"rejected rows (row, field, reason): {report.rejections_file}")


@people_app.command("list")
@needs(Permission.PEOPLE_READ)
def list_people(ctx: typer.Context, incident_id: IncidentArg, as_json: JsonOpt = False) -> None:
    """How many people an incident affects, by status, language and jurisdiction (no
    personal data)."""
    rt = state_of(ctx).runtime
    summary = rt.people.summary(rt.board.resolve(incident_id))
    if as_json:
        emit_json(summary)
        return
    say(f"{summary['total']:,} people")
    for key in ("status", "language", "jurisdiction"):
        counts = ", ".join(f"{k} {v:,}" for k, v in sorted(summary[key].items()))
        say(f"  {key}: {counts or '-'}")


@people_app.command("export")
@needs(Permission.PEOPLE_RIGHTS)
def export(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The person's email address.")],
    as_json: JsonOpt = False,
) -> None:
    """Everything held about a person across incidents (for an access request). Once a
    person is erased, nothing is held: the answer is the one for an address never held."""
    rt = state_of(ctx).runtime
    records = [
        person_record(rt.app.people, rt.notifications, p)
        for p in rt.app.people.people_by_email(email)
    ]
    if as_json:
        emit_json({"records": records})
        return
    if not records:
        say("Nothing is held about this address.")
        return
    for record in records:
        data = record["data"] or {}
        emit_fields(
            [
                ("Incident", f"{record['incident_id'][:8]} {record['incident_title']}"),
                (
                    "Status",
                    record["status"]
                    + (f" since {record['erased_at']}" if record["erased_at"] else ""),
                ),
                ("Email", data.get("email", "-")),
                ("Name", data.get("name") or "-"),
                ("Reference", data.get("reference") or "-"),
                (
                    "Attributes",
                    ", ".join(f"{k}={v}" for k, v in data.get("attributes", {}).items()) or "-",
                ),
                ("Language", record["language"] or "-"),
                ("Jurisdiction", record["jurisdiction"] or "-"),
                ("Recorded", record["recorded_at"]),
                ("Corrections", str(len(record["corrections"]))),
                (
                    "Notices",
                    ", ".join(
                        f"{n['status']} {n['sent_at'] or ''}".strip() for n in record["notices"]
                    )
                    or "-",
                ),
            ]
        )


def _target(
    rt: Runtime, incident_id: str | None, email: str | None, reference: str | None
) -> list[UUID]:
    if reference is not None:
        wanted = None if incident_id is None else rt.board.resolve(incident_id)
        people = rt.app.people.people_by_reference(reference, wanted)
        if not people:
            raise NotFound("reference", "no person has this reference")
        return [p.id for p in people]
    if incident_id is None or email is None:
        raise InvalidInput("person", "give --incident and --email, or --reference")
    return [rt.app.people.person_on(rt.board.resolve(incident_id), email).id]


@people_app.command("correct")
@needs(Permission.PEOPLE_RIGHTS)
def correct(
    ctx: typer.Context,
    incident: Annotated[str, typer.Option(help="Incident id or prefix.")],
    email: Annotated[str, typer.Option(help="The person's current email address.")],
    reason: ReasonOpt,
    new_email: Annotated[str | None, typer.Option(help="Corrected email address.")] = None,
    name: Annotated[str | None, typer.Option(help="Corrected name.")] = None,
    language: Annotated[str | None, typer.Option(help="Corrected language code.")] = None,
    jurisdiction: Annotated[str | None, typer.Option(help="Corrected jurisdiction.")] = None,
    reference: Annotated[str | None, typer.Option(help="Corrected external reference.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a correction of a person's data (a rectification request), as a new event."""
    state = state_of(ctx)
    rt = state.runtime
    [target] = _target(rt, incident, email, None)
    data: dict[str, Any] = {"reason": reason}
    for key, value in (
        ("email", new_email),
        ("name", name),
        ("language", language),
        ("jurisdiction", jurisdiction),
        ("reference", reference),
    ):
        if value is not None:
            data[key] = value
    person = rt.gateway.run(rt.app.people.correct_person, target, data, state.request())
    if as_json:
        emit_json({"person_id": str(person.id), "version": person.version})
    else:
        typer.echo(f"corrected person {person.id} (version {person.version})")


@people_app.command("erase")
@needs(Permission.PEOPLE_RIGHTS)
def erase(
    ctx: typer.Context,
    reason: ReasonOpt,
    incident: Annotated[str | None, typer.Option(help="Incident id or prefix.")] = None,
    email: Annotated[str | None, typer.Option(help="The person's email address.")] = None,
    reference: Annotated[
        str | None, typer.Option(help="The external reference (every incident, unless --incident).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Erase a person's data by destroying their key (crypto-shredding) and the lookups that
    find them; the erasure is recorded (who, when, why) without the data, and the history
    still replays. Afterwards nothing finds them: their export is a stranger's."""
    state = state_of(ctx)
    rt = state.runtime
    targets = _target(rt, incident, email, reference)

    def erase() -> list[UUID]:
        return [rt.app.people.erase_person(t, reason, state.request()).id for t in targets]

    erased = rt.gateway.run(erase)
    if as_json:
        emit_json({"erased": [str(e) for e in erased]})
    else:
        for person in erased:
            typer.echo(f"erased person {person}")


@retention_app.command("run")
@needs(Permission.RETENTION)
def run_retention(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report, erase nothing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Erase affected people's data BREACH_RETENTION_DAYS after their incident was closed
    (once its notices are final); report what was (or would be) erased."""
    state = state_of(ctx)
    days = state.settings.retention_days
    if days is None:
        raise InvalidInput("BREACH_RETENTION_DAYS", "no retention period is configured")
    rt = state.runtime
    items = retention.plan(
        rt.app.people, rt.board, rt.people, rt.notifications, days=days, now=state.now()
    )
    erased = (
        0
        if dry_run
        else rt.gateway.run(retention.apply, rt.app.people, items, days, state.request())
    )
    incidents: list[dict[str, Any]] = [
        {
            "incident_id": str(i.incident_id),
            "closed_at": i.closed_at.isoformat(),
            "due_at": i.due_at.isoformat(),
            "people": len(i.people),
        }
        for i in items
    ]
    doc = {"dry_run": dry_run, "days": days, "incidents": incidents, "erased": erased}
    if as_json:
        emit_json(doc)
        return
    if not items:
        say("Nothing is due for erasure.")
        return
    emit_table(
        [
            {
                **d,
                "closed_at": show_time(i.closed_at, state.zone),
                "incident_id": d["incident_id"][:8],
            }
            for d, i in zip(incidents, items, strict=True)
        ],
        [("incident_id", "Incident"), ("closed_at", "Closed"), ("people", "People")],
    )
    verb = "would erase" if dry_run else "erased"
    say(f"{verb} {sum(len(i.people) for i in items) if dry_run else erased} people")
