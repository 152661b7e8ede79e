"""Assessment commands: assess (or evaluate a what-if), decide, and list obligations."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from events.assessment import (
    AssessmentFacts,
    DecisionKind,
    Evaluation,
    Obligation,
    SeverityAssessment,
)
from services.access.permissions import Permission
from services.application.errors import InvalidInput
from services.assessment.commands import FACT_TIMES
from services.assessment.headline import headline
from services.cli.app import app, state_of
from services.cli.guard import needs
from services.cli.incidents import JsonOpt, change_incident
from services.cli.inputs import read_document
from services.cli.output import emit_json, emit_table, say
from services.cli.state import CliState
from services.projections.schema import from_db_time
from services.timefmt import normalise_moments, parse_time, read_times, show_time


def severity_rows(severity: SeverityAssessment) -> list[dict[str, Any]]:
    """The severity working as table rows."""
    return [{"term": f.name, "value": f"{f.value:g}", "source": f.source} for f in severity.factors]


def _deadline_text(o: Obligation, zone: Any) -> str:
    if o.deadline is not None:
        return show_time(o.deadline, zone) + (" (provisional)" if o.provisional else "")
    return o.pending or o.deadline_text


def _state(o: Obligation) -> str:
    if not o.triggered:
        return "not triggered"
    return "exempt" if o.exemption else "DUE"


def print_assessment(
    facts: AssessmentFacts, severity: SeverityAssessment, evaluation: Evaluation, zone: Any
) -> None:
    """Print severity with its working, the headline recommendation (from the duties due),
    and the obligations."""
    say(
        f"Severity {severity.band} (SE {severity.score:g}; {severity.method}; "
        f"policy {severity.policy_version}); risk: {severity.risk}"
    )
    emit_table(severity_rows(severity), [("term", "Term"), ("value", "Value"), ("source", "From")])
    for note in severity.notes:
        say(f"Note: {note}")
    likelihood = severity.likelihood
    if likelihood is not None:
        say(f"Likelihood {likelihood.level}")
        emit_table(
            [
                {"factor": f.name, "property": f.property, "effect": f.effect, "source": f.source}
                for f in likelihood.factors
            ],
            [
                ("factor", "Factor"),
                ("property", "Property"),
                ("effect", "Effect"),
                ("source", "From"),
            ],
        )
    if severity.matrix:
        say(f"Matrix: {severity.matrix}")
    for reason in severity.reasons:
        say(f"Reason: {reason}")
    say(f"Recommendation: {headline(facts, severity, evaluation, zone)}")
    say(f"\nObligations (rule set {evaluation.rule_set}):")
    emit_table(
        [
            {
                "id": o.id,
                "state": _state(o),
                "deadline": _deadline_text(o, zone) if o.due else "",
                "why": o.exemption or o.condition,
            }
            for o in evaluation.obligations
        ],
        [("id", "Obligation"), ("state", "State"), ("deadline", "Deadline"), ("why", "Why")],
    )
    for o in evaluation.obligations:
        if o.authorities is not None:
            say(f"Authorities: {o.id}: {o.authorities.text}")
        if o.due and o.provisional:
            say(f"Provisional: {o.id}: {o.provisional}")
    for note in evaluation.notes:
        say(f"Note: {note}")


def _facts_file(path: Path, state: CliState) -> dict[str, Any]:
    """The facts document at ``path`` with its time fields read by the one time rule."""
    return read_times(read_document(path), FACT_TIMES, state.zone, now=state.now())


@app.command()
@needs(Permission.ASSESS)
def assess(
    ctx: typer.Context,
    incident_id: Annotated[
        str | None, typer.Argument(help="Incident id or unique prefix (optional with --what-if).")
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Facts file (YAML or JSON) to record.")
    ] = None,
    what_if: Annotated[
        Path | None,
        typer.Option(
            "--what-if",
            help="Facts file to evaluate without recording anything. Without an incident id, "
            "a 'moments' mapping in the file gives the legal moments (discovery defaults to "
            "now, and deadlines counted from it are provisional); with one, the incident's "
            "moments count and a 'moments' mapping is refused.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record an impact assessment, or evaluate one with --what-if: the risk judgement
    (ENISA severity and likelihood with their working, the matrix cell and the reasons), the
    recommendation from the duties due, and every obligation with its deadline and content.

    The facts file's fields, defaults and the named category adjustments are listed in the
    README ("The facts file" and "The risk judgement")."""
    state = state_of(ctx)
    if (file is None) == (what_if is None):
        raise InvalidInput("file", "give either --file (to record) or --what-if (to evaluate)")
    if what_if is not None:
        data = _facts_file(what_if, state)
        if "moments" in data and incident_id is not None:
            raise InvalidInput(
                "moments",
                "apply only to a what-if without an incident id; with one, the incident's "
                "recorded moments count (correct them with 'breach amend')",
            )
        moments = data.pop("moments", None)
        if moments is not None and not isinstance(moments, dict):
            raise InvalidInput("moments", "must be a mapping of moment names to times")
        rt = state.runtime
        target = rt.board.resolve(incident_id) if incident_id else None
        if moments is not None:
            moments = normalise_moments(
                moments, state.zone, state.now(), allow_clear=False, prefix="moments."
            )
        result = rt.app.assessment.what_if(data, incident_id=target, moments=moments)
        if as_json:
            emit_json(
                {
                    "recorded": False,
                    "moments": result.moments,
                    "headline": headline(
                        result.facts, result.severity, result.evaluation, state.zone
                    ),
                    "severity": result.severity,
                    "evaluation": result.evaluation,
                }
            )
        else:
            say("What-if evaluation; nothing was recorded.")
            print_assessment(result.facts, result.severity, result.evaluation, state.zone)
        return
    assert file is not None
    if incident_id is None:
        raise InvalidInput("id", "name the incident to record the assessment on")
    data = _facts_file(file, state)
    if "moments" in data:
        raise InvalidInput("moments", "legal moments are corrected with 'breach amend'")
    rt = state.runtime
    incident = rt.gateway.run(
        rt.app.assessment.assess_impact, rt.board.resolve(incident_id), data, state.request()
    )
    record = incident.state.assessment
    evaluation = incident.state.evaluation
    assert record is not None
    assert evaluation is not None
    if as_json:
        emit_json(
            {
                "id": str(incident.id),
                "version": incident.version,
                "assessment_digest": record.digest,
                "headline": headline(record.facts, record.severity, evaluation, state.zone),
                "severity": record.severity,
                "evaluation": evaluation,
            }
        )
    else:
        say(f"Assessed {incident.id} (version {incident.version}).")
        print_assessment(record.facts, record.severity, evaluation, state.zone)


@app.command()
@needs(Permission.DECIDE)
def decide(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(help="Incident id, or a unique prefix of it.")],
    obligation: Annotated[
        str, typer.Argument(help="Obligation id (e.g. eu_gdpr/supervisory_authority) or prefix.")
    ],
    decision: Annotated[DecisionKind, typer.Option(help="What was decided.")],
    reason: Annotated[str, typer.Option(help="Why (required).")],
    notified_at: Annotated[
        str | None, typer.Option(help="When the notice was given (for 'notified').")
    ] = None,
    reference: Annotated[
        str | None, typer.Option(help="The authority's or channel's reference (for 'notified').")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record the DPO's decision on an obligation (notify, do_not_notify, or notified at a
    time with a reference); the decision pins the log position and assessment it is based on."""
    state = state_of(ctx)
    data: dict[str, Any] = {"obligation": obligation, "decision": decision.value, "reason": reason}
    if notified_at is not None:
        data["notified_at"] = parse_time("notified_at", notified_at, state.zone, now=state.now())
    if reference is not None:
        data["reference"] = reference
    change_incident(
        ctx, incident_id, lambda a: a.assessment.decide_obligation, data, as_json, "decided on"
    )


def _left(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    text = f"{days}d {hours}h" if days else f"{hours}h {mins:02d}m"
    return f"overdue {text}" if seconds < 0 else f"{text} left"


def _rows_for_people(rows: Sequence[dict[str, Any]], zone: Any) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        deadline = from_db_time(r["deadline"])
        out.append(
            {
                "incident": r["incident_id"][:8],
                "title": r["incident_title"],
                "obligation": r["obligation_id"],
                "status": r["status"],
                "urgency": r["urgency"],
                "deadline": show_time(deadline, zone)
                if deadline
                else (r["pending"] or r["deadline_text"]),
                "left": _left(r["seconds_left"]),
            }
        )
    return out


@app.command()
@needs(Permission.OBLIGATIONS_READ)
def obligations(
    ctx: typer.Context,
    incident_id: Annotated[
        str | None, typer.Argument(help="Only this incident (all its obligations).")
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Across incidents, include obligations no longer open.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Obligations by urgency: overdue first, then due soon, then the rest. Without an id,
    the open obligations of every incident; with one, every obligation of that incident."""
    state = state_of(ctx)
    rt = state.runtime
    filters: dict[str, Any] = {}
    if incident_id is not None:
        filters["incident_id"] = str(rt.board.resolve(incident_id))
    else:
        filters["open_only"] = not show_all
    rows = rt.obligations.by_urgency(state.now(), **filters)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        say("No obligations." if incident_id else "No open obligations.")
        return
    columns = [
        ("obligation", "Obligation"),
        ("status", "Status"),
        ("urgency", "Urgency"),
        ("deadline", "Deadline"),
        ("left", "Time left"),
    ]
    if incident_id is None:
        columns = [("incident", "Incident"), ("title", "Title"), *columns]
    emit_table(_rows_for_people(rows, state.zone), columns)
