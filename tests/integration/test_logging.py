"""Structured logs carry the incident and correlation ids of the request that caused them."""

from __future__ import annotations

import io
import json

from services.application.context import RequestContext
from services.bootstrap import Runtime
from services.config import Settings
from services.logging import configure_logging
from tests.support.clocks import ManualClock
from tests.support.reports import report_input


def test_command_logs_are_json_lines_with_ids_bound(
    runtime: Runtime, settings: Settings, clock: ManualClock
) -> None:
    """Off a terminal every line is JSON naming the event, the incident and the correlation."""
    out = io.StringIO()
    configure_logging(settings, stream=out)
    ctx = RequestContext(actor="alice", correlation_id="req-42")
    incident = runtime.app.incidents.report_incident(report_input(clock.current), ctx)
    runtime.app.incidents.triage_incident(incident.id, {"severity": "low"}, ctx)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["incident.reported", "incident.triaged"]
    for line in lines:
        assert line["incident_id"] == str(incident.id)
        assert line["correlation_id"] == "req-42"
        assert line["level"] == "info"
        assert "timestamp" in line


def test_warning_level_keeps_routine_commands_quiet(
    runtime: Runtime, settings: Settings, clock: ManualClock
) -> None:
    """At the default level a successful command writes no log line."""
    out = io.StringIO()
    configure_logging(settings.model_copy(update={"log_level": "warning"}), stream=out)
    runtime.app.incidents.report_incident(report_input(clock.current), RequestContext(actor="a"))
    assert out.getvalue() == ""
