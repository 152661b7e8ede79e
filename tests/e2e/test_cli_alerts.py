"""``breach owners`` and ``breach alerts`` through the console script: owner set and shown,
a DPO shift on the rota, alerts listed, and refusals that record nothing."""

from __future__ import annotations

from tests.e2e.conftest import Cli
from tests.support.store import count_events


def test_owner_rota_and_alerts_from_the_command_line(cli: Cli) -> None:
    """The owner is set and shown, a no-op change is refused with exit 2 recording nothing,
    a shift puts the DPO on duty, and the (empty) alert lists answer."""
    cli.user("dora", "dpo")
    incident = cli.ok("report", "--title", "Badge lost", "--discovered-at", "now").out.strip()
    cli.ok("owners", "set", incident, "dora")
    shown = cli.ok("owners", "--incident", incident, "--json").json()
    assert shown["incident"]["owner"] == "dora"
    assert shown["on_duty"] is None
    before = count_events(cli.data_dir)
    again = cli("owners", "set", incident, "dora")
    assert again.code == 2
    assert "owner:" in again.err
    unknown = cli("owners", "set", incident, "ghost-user")
    assert unknown.code == 2
    assert "ghost-user" not in unknown.err
    assert count_events(cli.data_dir) == before
    cli.ok("owners", "duty", "dora", "--from", "now", "--until", "2099-01-01T00:00Z", actor="dora")
    assert cli.ok("owners", "--json").json()["on_duty"] == "dora"
    assert cli.ok("alerts", "--json").json() == []
    assert cli.ok("alerts", "--mine", "--json", actor="dora").json() == []
    missing = cli("alerts", "ack", "00000000", actor="dora")
    assert missing.code == 2
