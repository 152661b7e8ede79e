"""An operator's recovery from a dispatcher killed mid-campaign with a relay, through the
console as they would run it: the status shows the notices in flight and when the lease
resolves them; the next send finds them uncertain, says so and exits 6; a DPO settles them
in one go with the relay's log (a wrong log is refused first, nothing recorded); the last
send completes the campaign, exit 0, every notice at the relay exactly once. On SQLite: the
dispatcher's crash rule, the settling command and the views it reads run on both stores in
``test_notifications`` and the API's tests."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from events.users import Role
from services.bootstrap import Runtime
from services.config import Settings
from tests.integration.test_notifications import campaign_for, rt, settings  # noqa: F401
from tests.support.identity import provision
from tests.support.people import person
from tests.support.smtp import send_and_kill, smtp_sink
from tests.support.store import Store, count_events

BREACH = str(Path(sys.executable).parent / "breach")
PEOPLE = 600
LEASE = 3


@pytest.mark.sqlite_only
def test_a_killed_campaign_is_recovered_by_status_settle_and_send(
    settings: Settings,  # noqa: F811
    store: Store,
    rt: Runtime,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Kill mid-campaign; status: in flight, resolved by the lease after the last claim
    before the kill, none uncertain; send after
    the lease: uncertain notices named, exit 6; settle by the relay's log (a log of other
    ids refused, exit 2, nothing appended); send: completed, exit 0, no duplicate."""
    _, campaign = campaign_for(rt, tmp_path, [person(i) for i in range(PEOPLE)])
    # The sink takes 15 ms a message, so that the kill finds the campaign mid-way on any
    # machine (its counts are read every half second).
    with smtp_sink(tmp_path, "--delay-ms", "15") as sink:
        env = store.env(
            BREACH_DATA_DIR=str(settings.data_dir),
            BREACH_SMTP_URL=f"smtp://127.0.0.1:{sink.port}",
            BREACH_DISPATCH_BATCH_SIZE="100",
            BREACH_SENDING_LEASE_SECONDS=str(LEASE),
            BREACH_TIMEZONE="UTC",
        )
        sender = {**env, "BREACH_TOKEN": provision(rt, "sender", [Role.RESPONDER])}
        dpo = {**env, "BREACH_TOKEN": provision(rt, "dora", [Role.DPO])}

        def breach(who: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [BREACH, *args], env=who, capture_output=True, text=True, timeout=120
            )

        send_and_kill(sender, str(campaign), sink, 200)
        killed = datetime.now(UTC)

        rt.settle()
        row = rt.notifications.progress(campaign, datetime.now(UTC))
        assert row["in_flight"] > 0
        assert row["uncertain"] == 0
        claimed = row["in_flight_resolved_by"] - rt.notifications.sending_lease
        assert killed - timedelta(seconds=10) < claimed <= killed
        words = breach(sender, "notify", "status", str(campaign))
        assert words.returncode == 0, words.stderr
        assert f"{row['in_flight']} in flight" in words.stderr
        assert "at the latest" in words.stderr

        time.sleep(LEASE + 0.5)
        first = breach(sender, "notify", "send", str(campaign))
        assert first.returncode == 6, first.stderr
        assert "uncertain after a crash" in first.stderr
        assert "breach notify settle" in first.stderr
        uncertain = len(rt.notifications.uncertain_ids(campaign))
        assert 0 < uncertain <= 200

        wrong = tmp_path / "other.log"
        wrong.write_text("message-id=<not-ours@relay.example>\n")
        events = count_events(settings)
        refused = breach(
            dpo, "notify", "settle", str(campaign), "--found", str(wrong), "--reason", "relay log"
        )
        assert refused.returncode == 2, refused.stderr
        assert "found" in refused.stderr
        assert "not-ours" not in refused.stderr
        assert count_events(settings) == events

        relay_log = tmp_path / "relay.log"
        relay_log.write_text(
            "".join(f"postfix/smtpd: message-id={m}\n" for m in sink.state()["ids"])
        )
        settled = breach(
            dpo,
            "notify",
            "settle",
            str(campaign),
            "--found",
            str(relay_log),
            "--reason",
            "relay log",
            "--json",
        )
        assert settled.returncode == 0, settled.stderr
        counts: dict[str, Any] = json.loads(settled.stdout)
        assert counts["uncertain"] == uncertain
        assert counts["confirmed"] + counts["requeued"] == uncertain
        assert counts["confirmed"] > 0

        last = breach(sender, "notify", "send", str(campaign))
        assert last.returncode == 0, last.stderr
        assert "completed: 600 sent" in last.stdout
        final = sink.state()
    assert final["duplicates"] == {}
    assert final["unique"] == PEOPLE
