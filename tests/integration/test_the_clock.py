"""Every moment the application records or compares comes from its injected clock, on
SQLite and on PostgreSQL: sessions, pending password changes, audit checkpoints, bundles
and reports, person keys, received mail and snapshots (a manual clock days away from the
machine's shows it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from sqlalchemy import select

from services.application.context import RequestContext
from services.application.snapshots import StateSnapshot
from services.bootstrap import Runtime
from services.notifications.mailbox import Mailbox
from services.operations import audit as service
from services.timefmt import show_time
from services.vault.tables import person_keys
from services.web.signin import PENDING_MINUTES, PendingChanges
from tests.support.clocks import ManualClock

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
"""Far from the machine's clock, so a moment read from it cannot pass for this one."""
ALICE = RequestContext(actor="alice")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


def _within(moment: datetime, clock: ManualClock) -> bool:
    return T0 <= moment <= clock.current


def _incident(rt: Runtime) -> UUID:
    incident = rt.app.incidents.report_incident(
        {
            "title": "Careers portal leak",
            "reporter": "soc",
            "incident_type": "ransomware",
            "discovered_at": T0 - timedelta(hours=1),
        },
        ALICE,
    )
    return incident.id


def test_sessions_expire_when_the_applications_clock_passes_their_lifetime(
    runtime: Runtime, clock: ManualClock
) -> None:
    """A session opened now lives until the clock passes its lifetime, and not after."""
    store = runtime.app.credentials
    assert store is not None
    value, session = store.open_session("alice")
    assert _within(session.expires - store.session_lifetime, clock)
    clock.advance(seconds=store.session_lifetime.total_seconds() - 60)
    assert store.session(value) is not None
    clock.advance(seconds=61)
    assert store.session(value) is None


def test_pending_password_changes_expire_by_the_clock_they_are_given() -> None:
    """A pending change is live until its lifetime on the given clock has passed."""
    clock = ManualClock(T0)
    pending = PendingChanges(clock)
    value, change = pending.open("alice")
    assert change.expires == T0 + timedelta(minutes=PENDING_MINUTES)
    clock.advance(minutes=PENDING_MINUTES - 1)
    assert pending.get(value) is not None
    clock.advance(minutes=1)
    assert pending.get(value) is None


def test_checkpoints_bundles_and_reports_are_dated_by_the_applications_clock(
    runtime: Runtime, clock: ManualClock, tmp_path: Path
) -> None:
    """The chain's checkpoint, the bundle's manifest and the report's generation time are
    moments of the application's clock."""
    incident = _incident(runtime)
    runtime.settle()
    checkpoint = runtime.chain.covering(runtime.feed.head())
    assert checkpoint is not None
    assert _within(datetime.fromisoformat(checkpoint.at), clock)
    manifest = service.export(runtime, incident, tmp_path / "bundle")
    generated = datetime.fromisoformat(manifest["generated_at"])
    assert _within(generated, clock)
    report = (tmp_path / "bundle" / "report.html").read_text()
    assert show_time(generated, runtime.settings.zone) in report


def test_person_keys_and_received_mail_are_dated_by_the_clock(
    runtime: Runtime, clock: ManualClock, tmp_path: Path
) -> None:
    """A new person key and a message the capture mailbox receives carry clock moments."""
    assert runtime.app.vault is not None
    keys = runtime.app.vault.keys
    ((key_id, _),) = keys.create(1)
    rows = keys.db.query(
        select(person_keys.c.created_at).where(person_keys.c.key_id == str(key_id))
    )
    assert _within(datetime.fromisoformat(rows[0][0]), clock)
    box = Mailbox(tmp_path / "mailbox", clock)
    try:
        box.store(b"Message-ID: <m1@example.org>\r\n\r\nhello", ["p@example.org"])
        (stored,) = box.list()
    finally:
        box.close()
    assert _within(datetime.fromisoformat(stored.received_at), clock)


def test_a_snapshot_is_dated_by_the_last_event_it_covers(
    runtime: Runtime, clock: ManualClock
) -> None:
    """A snapshot's time is its aggregate's last change, a moment of the clock."""
    incident = runtime.app.incidents.get_incident(_incident(runtime))
    snapshot = StateSnapshot.take(incident)
    assert snapshot.timestamp == incident.modified_on
    assert _within(snapshot.timestamp, clock)
