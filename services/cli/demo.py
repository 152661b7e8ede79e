"""The demo command: a realistic incident, its board and its timeline, on the local store."""

from __future__ import annotations

import typer

from services.access.permissions import Permission
from services.cli.app import app, state_of
from services.cli.guard import needs
from services.cli.output import say


@app.command()
@needs(Permission.DEMO)
def demo(ctx: typer.Context) -> None:
    """Record a realistic demo incident, then print the board, its timeline and obligations."""
    from services.cli.assessment import obligations
    from services.cli.incidents import list_incidents, show_timeline
    from services.demo import run_demo

    state = state_of(ctx)
    rt = state.runtime
    incident = rt.gateway.run(run_demo, rt.app)
    say(f"Recorded a demo incident {incident.id} in {state.settings.data_dir}/.\n")
    say("The board:")
    list_incidents(ctx, status=None, severity=None, incident_type=None, limit=None)
    say(f"\nThe timeline of {str(incident.id)[:8]}:")
    show_timeline(ctx, str(incident.id))
    say(f"\nWho must be told, by when (breach obligations {str(incident.id)[:8]}):")
    obligations(ctx, incident_id=str(incident.id), show_all=False)
    say(
        "\nTry: breach show "
        f"{str(incident.id)[:8]}   breach timeline {str(incident.id)[:8]} --json   breach --help"
    )
