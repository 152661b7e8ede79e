"""Audit commands: replay as of a moment (or a diff of two), verify the record, export and
check the auditor's bundle, and check that rebuilt views equal the live ones."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from services.access.permissions import Permission
from services.application.errors import InvalidInput
from services.audit.bundle import BundleError, BundleVerdict, verify_bundle
from services.audit.replay import IncidentReplay, diff, replay_incident
from services.cli.app import app, state_of
from services.cli.guard import needs, operator
from services.cli.incidents import BOARD_COLUMNS, JsonOpt, _board_row
from services.cli.output import emit_fields, emit_json, emit_table, error, say
from services.incidents.presentation import severity_label
from services.operations import audit as service
from services.timefmt import parse_time, show_time
from services.vault.secrets import decode

VERIFICATION_FAILED = 5
"""The exit status of a verification that failed (1 stays an internal error)."""

audit_app = typer.Typer(
    help="Verify the record and export the auditor's bundle.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")


def _print_replay(replay: IncidentReplay, zone: Any) -> None:
    if not replay.exists or replay.state is None:
        say(f"The incident did not exist yet at {show_time(replay.as_of, zone)}.")
        return
    s = replay.state
    emit_fields(
        [
            ("As of", show_time(replay.as_of, zone)),
            ("Version", str(replay.version)),
            ("Title", s.title),
            ("Status", s.status.value),
            ("Severity", severity_label(s.model_dump())),
            ("PD breach", s.personal_data_breach.value),
            ("Discovered", show_time(s.moments.discovered_at, zone)),
            ("Aware", show_time(s.moments.aware_at, zone)),
            (
                "Assessment",
                f"{replay.severity.band} (SE {replay.severity.score:g})"
                if replay.severity
                else "not assessed",
            ),
        ],
        title=f"Incident {replay.incident_id[:8]} as recorded then",
    )
    if replay.evaluation:
        emit_table(
            [
                {
                    "id": o.id,
                    "deadline": show_time(o.deadline, zone)
                    if o.deadline
                    else (o.pending or o.deadline_text),
                    "decision": (s.decisions[o.id].decision.value if o.id in s.decisions else ""),
                }
                for o in replay.evaluation.obligations
                if o.due
            ],
            [("id", "Obligation"), ("deadline", "Deadline"), ("decision", "Decision")],
            title=f"Obligations (rules {replay.evaluation.rule_set})",
        )
    if replay.decisions:
        emit_table(
            [
                {
                    "id": d.obligation_id,
                    "decision": d.decision,
                    "by": d.actor,
                    "basis": f"position {d.log_position}, assessment {d.assessment_digest[:10]}"
                    + (" (confirmed)" if d.basis_confirmed else " (NOT confirmed)"),
                    "since": ", ".join(d.changed_since) or "nothing changed",
                }
                for d in replay.decisions
            ],
            [
                ("id", "Obligation"),
                ("decision", "Decision"),
                ("by", "By"),
                ("basis", "Based on"),
                ("since", "Facts since"),
            ],
            title="Decisions and their basis",
        )
    if replay.tasks:
        emit_table(
            [t.model_dump() for t in replay.tasks],
            [("title", "Task"), ("status", "Status"), ("owner", "Owner")],
            title="Tasks",
        )
    if replay.campaigns:
        emit_table(
            [
                {**c.model_dump(), "notices": ", ".join(f"{k} {v}" for k, v in c.notices.items())}
                for c in replay.campaigns
            ],
            [
                ("campaign_id", "Campaign"),
                ("audience", "Audience"),
                ("status", "Status"),
                ("notices", "Notices"),
            ],
            title="Campaigns",
        )


@app.command()
@needs(Permission.AUDIT_REPLAY)
def replay(
    ctx: typer.Context,
    incident_id: Annotated[
        str | None, typer.Argument(help="Incident id or prefix (omit to replay the board).")
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="The recorded moment.")] = None,
    diff_: Annotated[
        tuple[str, str] | None,
        typer.Option("--diff", help="Two moments: what changed between them."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show an incident as it was known at a recorded moment (facts, assessment with its
    working, obligations, decisions and their basis, tasks, campaigns); or what changed
    between two moments; or, without an id, the whole board as it was."""
    state = state_of(ctx)
    rt = state.runtime
    zone, now = state.zone, state.now()
    if diff_ is not None:
        if incident_id is None:
            raise InvalidInput("id", "--diff compares one incident: give its id")
        t1, t2 = (parse_time("diff", t, zone, now=now) for t in diff_)
        target = rt.board.resolve(incident_id)
        created = rt.app.incidents.get_incident(target).created_on
        changes = diff(
            replay_incident(rt.app, rt.notifications, target, t1),
            replay_incident(rt.app, rt.notifications, target, t2),
        )
        if t1 < created and t2 < created:
            raise InvalidInput("diff", "both moments are before the incident was reported")
        if as_json:
            emit_json({"from": t1.isoformat(), "to": t2.isoformat(), "changes": changes})
        else:
            say(f"From {show_time(t1, zone)} to {show_time(t2, zone)}:")
            for line in changes or ["nothing changed"]:
                say(f"  - {line}")
        return
    if as_of is None:
        raise InvalidInput("as_of", "give --as-of TIME (or --diff T1 T2)")
    moment = parse_time("as_of", as_of, zone, now=now)
    if moment > now:
        raise InvalidInput("as_of", "is in the future")
    if incident_id is None:
        position, rows = service.board_as_of(rt, moment)
        if as_json:
            emit_json({"as_of": moment.isoformat(), "position": position, "board": rows})
        else:
            say(f"The board as of {show_time(moment, zone)} (log position {position}):")
            emit_table([_board_row(r, zone) for r in rows], BOARD_COLUMNS)
        return
    target = rt.board.resolve(incident_id)
    reported = rt.app.incidents.get_incident(target).created_on
    if moment < reported:
        raise InvalidInput("as_of", f"the incident was reported later ({reported.isoformat()})")
    result = replay_incident(rt.app, rt.notifications, target, moment)
    if as_json:
        emit_json(result)
    else:
        _print_replay(result, zone)


def _key(state: Any) -> bytes:
    value = state.settings.audit_key
    if value is not None:
        try:
            return decode(value.get_secret_value(), "BREACH_AUDIT_KEY")
        except ValueError as e:
            raise InvalidInput("BREACH_AUDIT_KEY", str(e)) from None
    path = state.settings.secrets_dir / "audit.key"
    if not path.exists():
        raise InvalidInput(
            "BREACH_AUDIT_KEY", "no audit key: set it, or run where the ledger's secrets are"
        )
    return state.runtime.audit_key  # type: ignore[no-any-return]


@audit_app.command("verify")
@operator
def verify_cmd(
    ctx: typer.Context,
    bundle: Annotated[
        Path | None, typer.Argument(help="A bundle (directory or .zip) to check offline.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Verify the live record (or a bundle): the hash chain over every stored event and the
    signed checkpoints. When anything was altered, damaged or is missing, or the key is not
    the one that signed, prints one line naming it (and the first bad position) and exits 5."""
    state = state_of(ctx)
    if bundle is not None:
        if not bundle.exists():
            raise InvalidInput("bundle", "does not exist")
        key = _key(state)
        try:
            verdict = verify_bundle(bundle, key)
        except BundleError as e:
            verdict = BundleVerdict(ok=False, problems=[f"bundle: {e}"])
        doc: dict[str, Any] = {
            "ok": verdict.ok,
            "events": verdict.events,
            "checkpoint": verdict.checkpoint,
            "first_bad_position": verdict.first_bad_position,
            "problems": verdict.problems,
        }
    else:
        rt = state.runtime
        live = service.verify_live(rt)
        doc = {
            "ok": live.ok,
            "checked": live.checked,
            "checkpoints": live.checkpoints,
            "first_bad_position": live.first_bad_position,
            "reason": live.reason,
            "unverified_tail": live.unverified_tail,
        }
    if as_json:
        emit_json(doc)
    elif doc["ok"]:
        what = f"{doc.get('events', doc.get('checked'))} event(s)"
        say(f"verified: {what}, chain and signed checkpoints intact")
    else:
        reason = doc.get("reason") or "; ".join(doc.get("problems", []))
        where = doc["first_bad_position"]
        error(f"verification failed{'' if where is None else f' at position {where}'}: {reason}")
    if not doc["ok"]:
        raise typer.Exit(VERIFICATION_FAILED)


@audit_app.command("export")
@needs(Permission.AUDIT_EXPORT)
def export_cmd(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(help="Incident id or prefix.")],
    out: Annotated[Path, typer.Option("--out", help="A directory, or a file ending in .zip.")],
    as_json: JsonOpt = False,
) -> None:
    """Write the auditor's bundle: the incident's events, the chain and checkpoint covering
    them, a signed manifest, and an HTML report."""
    state = state_of(ctx)
    rt = state.runtime
    target = rt.board.resolve(incident_id)
    if out.exists() and out.is_dir() and any(out.iterdir()):
        raise InvalidInput("out", "is not empty")
    try:
        manifest = service.export(rt, target, out)
    except BundleError as e:
        raise InvalidInput("bundle", str(e)) from None
    if as_json:
        emit_json({"out": str(out), **manifest})
    else:
        say(
            f"wrote {out}: {len(manifest['positions'])} events, checkpoint at "
            f"{manifest['checkpoint']['position']}"
        )
