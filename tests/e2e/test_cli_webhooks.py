"""``breach webhooks`` and ``breach serve`` delivering: the secret printed once at add, a
signed ping, deliveries from a running server to a real receiver, the delivery log, and
bad URLs refused without echo."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Cli
from tests.support.server import running_server
from tests.support.store import count_events
from tests.support.webhook_receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def test_a_running_server_delivers_what_the_cli_records_to_a_subscribed_receiver(
    cli: Cli, receiver: Receiver
) -> None:
    """add prints the secret once; test sends a signed ping; breach serve delivers the
    incident reported meanwhile, signed; list and deliveries never print the secret or
    the URL's path, and neither does the server's log."""
    cli.env["BREACH_WEBHOOK_ALLOW_LOOPBACK"] = "true"
    added = cli.ok("webhooks", "add", receiver.url, "--kind", "incident.reported", "--json")
    doc = added.json()
    secret = doc["secret"]
    receiver.secret = secret
    hook = doc["webhook_id"]
    assert cli.ok("webhooks", "test", hook).out.strip() == "ping delivered: answered 204"
    with running_server(cli.data_dir, env=cli.env) as server:
        incident = cli.ok(
            "report",
            "--title",
            "Stolen laptop of J. Smith",
            "--type",
            "lost_or_stolen_device",
            "--discovered-at",
            "2026-11-20T08:30:00Z",
        ).out.strip()
        got = receiver.wait_for(2)
        log = cli.ok("webhooks", "deliveries", hook, "--json").json()
        listed = cli.ok("webhooks", "list")
        table = cli.ok("webhooks", "deliveries", hook)
    output = server.stop()
    assert [r.kind for r in got] == ["ping", "incident.reported"]
    assert got[1].document["incident_id"] == incident
    assert b"Smith" not in got[1].body
    assert [(d["kind"], d["status"], d["attempts"]) for d in log] == [
        ("incident.reported", "delivered", 1)
    ]
    for text in (listed.out, table.out, output, *server.started):
        assert secret not in text
        assert "/hooks/breach" not in text


def test_a_bad_url_is_refused_by_the_cli_without_echo(cli: Cli) -> None:
    """A loopback URL (not allowed by default) exits 2 naming url; nothing is recorded."""
    cli.user(cli.actor)
    before = count_events(cli.data_dir)
    result = cli("webhooks", "add", "http://127.0.0.1:9/secret-path", "--kind", "alert.raised")
    assert result.code == 2
    assert result.err.startswith("breach: error: url: ")
    assert "secret-path" not in result.err + result.out
    assert count_events(cli.data_dir) == before
