"""A command run through the runtime's gateway is visible to the next read, with the
policies' reactions, on the real stores."""

from __future__ import annotations

from services.application.context import RequestContext
from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from tests.support.clocks import ManualClock
from tests.support.reports import report_input


def test_a_report_and_its_triage_are_on_the_board_with_their_playbook_tasks(
    settings: Settings, clock: ManualClock, alice: RequestContext
) -> None:
    """After the gateway returns, the board lists the new incident and the triage's playbook
    tasks are listed, with no catch-up asked for by the caller."""
    rt: Runtime = bootstrap(settings, clock=clock, configure_logs=False)
    try:
        incident = rt.gateway.run(
            rt.app.incidents.report_incident, report_input(clock.current), alice
        )
        assert rt.board.count() == 1
        assert not rt.tasks.rows(clock.current, incident_id=incident.id)
        rt.gateway.run(
            rt.app.incidents.triage_incident,
            incident.id,
            {"severity": "high", "incident_type": "ransomware"},
            alice,
        )
        assert rt.tasks.rows(clock.current, incident_id=incident.id)
        assert rt.chain.last()[0] == rt.feed.head()
    finally:
        rt.close()
