"""Erasure on the real stores: the keyed lookups live beside the keys (not in the log), an
erased person leaves no byte of their address, name, reference or lookup in any file, the
local capture mailbox drops their messages, and an interrupted import or erasure ends right."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

import pytest

from events.base import Cause
from events.people import AffectedPerson, PersonRecorded
from services.application.context import RequestContext
from services.application.errors import NotFound, RuleBroken
from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from services.people import retention
from services.people.presentation import person_record
from services.storage.schema import KEYS
from tests.support.campaigns import start_people_campaign
from tests.support.clocks import ManualClock
from tests.support.people import person, write_csv
from tests.support.reports import report_input
from tests.support.smtp import smtp_sink
from tests.support.store import RawStore, Store

PLANTED = {
    "email": "zelda.quintana-marsh@planted.example.net",
    "name": "Zelda Quintana-Marsh",
    "reference": "PLANTED-REF-4471",
}
OLD_NAMESPACE = uuid5(NAMESPACE_URL, "https://breachledger.invalid/affected-person")
"""The namespace person ids were derived in before lookups left the log."""


@pytest.fixture
def incident(runtime: Runtime, clock: ManualClock, alice: RequestContext) -> Any:
    return runtime.app.incidents.report_incident(report_input(clock.current), alice)


def recorded(settings: Settings) -> int:
    return RawStore(settings).count_events("events.people:PersonRecorded")


def lookup_of(rt: Runtime, email: str) -> str:
    """The keyed lookup of an address under the store's lookup secret."""
    assert rt.app.vault is not None
    return rt.app.vault.lookups.email(email)


def planted_rows() -> list[dict[str, Any]]:
    return [person(0), {**person(1), **PLANTED}, person(2)]


def send_to_capture(rt: Runtime, incident_id: UUID, alice: RequestContext) -> None:
    """Draft, approve and send a people campaign through the local capture server."""
    start_people_campaign(rt, incident_id, alice)
    target, delivery, capture = rt.smtp_target()
    assert capture is not None
    try:
        report = asyncio.run(rt.dispatcher(target, delivery).run())
    finally:
        capture.stop()
        capture.mailbox.close()
    assert report.sent == 3
    rt.settle()


def test_nothing_in_the_log_derives_from_an_address(
    runtime: Runtime, incident: Any, alice: RequestContext, tmp_path: Path, settings: Settings
) -> None:
    """A recorded person's id is random and their events carry no keyed lookup of their
    address or reference."""
    runtime.app.people.import_people(
        incident.id, write_csv(tmp_path / "p.csv", planted_rows()), alice
    )
    [target] = runtime.app.people.people_by_email(PLANTED["email"])
    lookup = lookup_of(runtime, PLANTED["email"])
    assert runtime.app.vault is not None
    reference = runtime.app.vault.lookups.reference(PLANTED["reference"])
    assert target.id != uuid5(OLD_NAMESPACE, f"{incident.id}/{lookup}")
    assert target.id.version == 4
    log = RawStore(settings).event_bytes()
    assert lookup.encode() not in log
    assert reference.encode() not in log
    assert b'"lookup"' not in log


def test_import_correction_and_export_find_people_through_the_lookup_index(
    runtime: Runtime, incident: Any, alice: RequestContext, tmp_path: Path, settings: Settings
) -> None:
    """Re-importing adds nobody; a correction moves the person to the new address and
    reference; export by email and by reference finds them on every incident."""
    second = runtime.app.incidents.report_incident(
        report_input(runtime.app.core.clock.now()), alice
    )
    path = write_csv(tmp_path / "p.csv", [person(i) for i in range(1200)])
    first = runtime.app.people.import_people(incident.id, path, alice)
    assert (first.imported, first.already_present) == (1200, 0)
    again = runtime.app.people.import_people(incident.id, path, alice)
    assert (again.imported, again.already_present) == (0, 1200)
    runtime.app.people.import_people(second.id, write_csv(tmp_path / "q.csv", [person(5)]), alice)
    assert recorded(settings) == 1201
    found = runtime.app.people.people_by_email(person(5)["email"].upper())
    assert sorted(p.state.incident_id for p in found) == sorted([incident.id, second.id])
    target = runtime.app.people.person_on(incident.id, person(5)["email"])
    runtime.app.people.correct_person(
        target.id,
        {"email": "renamed@applicants.example.org", "reference": "NEW-REF", "reason": "rect"},
        alice,
    )
    assert (
        runtime.app.people.person_on(incident.id, "renamed@applicants.example.org").id == target.id
    )
    with pytest.raises(NotFound):
        runtime.app.people.person_on(incident.id, person(5)["email"])
    assert [p.id for p in runtime.app.people.people_by_reference("NEW-REF")] == [target.id]
    assert [
        p.state.incident_id for p in runtime.app.people.people_by_reference(person(5)["reference"])
    ] == [second.id]
    assert [p.id for p in runtime.app.people.people_by_email(person(5)["email"])] != [target.id]
    again = runtime.app.people.import_people(incident.id, path, alice)
    assert (again.imported, again.already_present) == (1, 1199)


def test_a_correction_to_an_address_another_person_holds_is_refused(
    runtime: Runtime, incident: Any, alice: RequestContext, tmp_path: Path, settings: Settings
) -> None:
    """Two people of one incident cannot share an address: the correction is refused,
    nothing is recorded and both are still found at their own address."""
    runtime.app.people.import_people(
        incident.id, write_csv(tmp_path / "p.csv", planted_rows()), alice
    )
    zero = runtime.app.people.person_on(incident.id, person(0)["email"])
    before = RawStore(settings).count_events()
    with pytest.raises(RuleBroken, match="email"):
        runtime.app.people.correct_person(
            zero.id, {"email": person(2)["email"], "reason": "r"}, alice
        )
    assert RawStore(settings).count_events() == before
    assert runtime.app.people.person_on(incident.id, person(0)["email"]).id == zero.id
    assert runtime.app.people.person_on(incident.id, person(2)["email"]).id != zero.id


def test_an_erased_person_leaves_no_byte_of_their_data_or_lookup_anywhere(
    runtime: Runtime, incident: Any, alice: RequestContext, tmp_path: Path, settings: Settings
) -> None:
    """Import, notify through the capture server, erase: no file under the data directory
    (WAL files included) and no table holds the email, name, reference or the email's
    keyed lookup; the mailbox lost exactly that message; the export finds nothing; the log
    still records that a person of the incident was erased, by whom and why."""
    runtime.app.people.import_people(
        incident.id, write_csv(tmp_path / "p.csv", planted_rows()), alice
    )
    send_to_capture(runtime, incident.id, alice)
    [target] = runtime.app.people.people_by_email(PLANTED["email"])
    [notice] = person_record(runtime.app.people, runtime.notifications, target)["notices"]
    box = runtime.mailbox()
    try:
        assert box.count() == 3
        assert box.read(notice["message_id"]) is not None
    finally:
        box.close()
    lookup = lookup_of(runtime, PLANTED["email"])
    raw = RawStore(settings)
    assert lookup.encode() in raw.everything()
    runtime.app.people.erase_person(target.id, "erasure request ER-19", alice)
    runtime.settle()
    everything = raw.everything()
    for planted in (*PLANTED.values(), lookup):
        assert planted.encode() not in everything, planted
    box = runtime.mailbox()
    try:
        assert box.count() == 2
        assert box.read(notice["message_id"]) is None
        assert box.find(message_id=notice["message_id"]) is None
    finally:
        box.close()
    assert runtime.app.people.people_by_email(PLANTED["email"]) == []
    assert runtime.app.people.people_by_reference(PLANTED["reference"]) == []
    with pytest.raises(NotFound, match="no such person"):
        runtime.app.people.person_on(incident.id, PLANTED["email"])
    [erased] = [e for e in runtime.app.core.events.get(target.id)][-1:]
    assert (type(erased).__name__, erased.actor, erased.reason) == (
        "PersonErased",
        "alice",
        "erasure request ER-19",
    )
    assert runtime.app.core.load(target.id, AffectedPerson).state.incident_id == incident.id
    assert runtime.people.summary(incident.id)["status"] == {"active": 2, "erased": 1}


def test_retention_erases_through_the_same_path(
    runtime: Runtime, incident: Any, alice: RequestContext, tmp_path: Path, clock: ManualClock
) -> None:
    """People erased by the retention run are found by nobody's address afterwards and
    their captured messages are gone."""
    runtime.app.people.import_people(
        incident.id, write_csv(tmp_path / "p.csv", planted_rows()), alice
    )
    send_to_capture(runtime, incident.id, alice)
    runtime.app.incidents.close_incident(incident.id, {"resolution": "done"}, alice)
    runtime.settle()
    later = clock.advance(days=31)
    plan = retention.plan(
        runtime.app.people, runtime.board, runtime.people, runtime.notifications, days=30, now=later
    )
    assert retention.apply(runtime.app.people, plan, 30, alice) == 3
    runtime.settle()
    assert runtime.app.people.people_by_email(PLANTED["email"]) == []
    box = runtime.mailbox()
    try:
        assert box.count() == 0
    finally:
        box.close()


def test_the_mailbox_policy_records_its_position_though_it_changes_no_aggregate(
    runtime: Runtime, incident: Any, alice: RequestContext, tmp_path: Path
) -> None:
    """After an erasure is handled, the mailbox policy's tracked position is the head of
    the log, so a restart does not handle the erasure again."""
    runtime.app.people.import_people(
        incident.id, write_csv(tmp_path / "p.csv", planted_rows()), alice
    )
    runtime.app.people.erase_person(
        runtime.app.people.person_on(incident.id, PLANTED["email"]).id, "r", alice
    )
    runtime.settle()
    [worker] = [w for w in runtime.policies.workers if w.policy.name == "policy.mailbox"]
    assert worker.position == runtime.feed.head()


def test_a_message_that_arrives_for_an_erased_person_is_not_kept(
    runtime: Runtime, incident: Any, alice: RequestContext, tmp_path: Path
) -> None:
    """A notice already on its way when its person is erased reaches the capture server
    afterwards: the mailbox does not keep it."""
    runtime.app.people.import_people(
        incident.id, write_csv(tmp_path / "p.csv", planted_rows()), alice
    )
    runtime.settle()
    start_people_campaign(runtime, incident.id, alice)
    target, delivery, capture = runtime.smtp_target()
    assert capture is not None
    try:
        dispatcher = runtime.dispatcher(target, delivery)
        claims, _ = dispatcher.claim(runtime.app.core.clock.now())
        assert len(claims) == 3
        zelda = runtime.app.people.person_on(incident.id, PLANTED["email"])
        runtime.app.people.erase_person(zelda.id, "erasure request", alice)
        runtime.settle()

        async def transmit() -> None:
            from services.notifications.transport import SmtpPool

            pool = SmtpPool(target, 2, 100.0)
            try:
                for claim in claims:
                    outcome = await pool.send(dispatcher.sender[1], claim.recipient, claim.message)
                    assert outcome.kind == "sent"
            finally:
                await pool.close()

        asyncio.run(transmit())
    finally:
        capture.stop()
        capture.mailbox.close()
    box = runtime.mailbox()
    try:
        assert box.count() == 2
        kept = b"".join(p.read_bytes() for p in box.directory.glob("*.eml"))
    finally:
        box.close()
    assert PLANTED["email"].encode() not in kept
    assert PLANTED["name"].encode() not in kept


INTERRUPTED_ERASURE = textwrap.dedent(
    """
    import os, sys
    from uuid import UUID
    from services.application.context import RequestContext
    from services.bootstrap import bootstrap
    from services.config import Settings

    rt = bootstrap(Settings(data_dir=sys.argv[1]), configure_logs=False)

    def crash(*args, **kwargs):
        os._exit(9)

    rt.app.core.change = crash
    rt.app.people.erase_person(
        UUID(sys.argv[2]), "erasure request ER-7", RequestContext(actor="dpo")
    )
    """
)


def test_an_erasure_cut_short_before_it_was_recorded_is_completed_at_start_up(
    runtime: Runtime,
    incident: Any,
    alice: RequestContext,
    tmp_path: Path,
    data_dir: Path,
    settings: Settings,
    store: Store,
    clock: ManualClock,
) -> None:
    """A process dies after destroying a person's keys and lookups but before recording the
    erasure: the next start records it (who, why) and the person stays unfindable."""
    runtime.app.people.import_people(
        incident.id, write_csv(tmp_path / "p.csv", planted_rows()), alice
    )
    target = runtime.app.people.person_on(incident.id, PLANTED["email"])
    runtime.settle()
    died = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_ERASURE, str(data_dir), str(target.id)],
        env=store.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert died.returncode == 9, died.stderr
    assert runtime.app.people.people_by_email(PLANTED["email"]) == []
    assert not runtime.app.core.load(target.id, AffectedPerson).is_erased
    again = bootstrap(settings, clock=clock, configure_logs=False)
    try:
        person_now = again.app.core.load(target.id, AffectedPerson)
        assert person_now.is_erased
        last = list(again.app.core.events.get(target.id))[-1]
        assert (last.actor, last.reason) == ("dpo", "erasure request ER-7")
    finally:
        again.close()
    restarted = bootstrap(settings, clock=clock, configure_logs=False)
    try:
        assert len(list(restarted.app.core.events.get(target.id))) == 2
    finally:
        restarted.close()


def test_a_person_claimed_by_a_cut_short_import_is_recorded_once_on_reimport(
    runtime: Runtime, incident: Any, alice: RequestContext, tmp_path: Path, settings: Settings
) -> None:
    """Lookup rows written by an import that died before saving its events: running the
    file again records each of those people exactly once, under the claimed id."""
    path = write_csv(tmp_path / "p.csv", planted_rows())
    vault = runtime.app.vault
    assert vault is not None
    claimed = uuid4()
    owners = vault.index.claim(incident.id, {lookup_of(runtime, PLANTED["email"]): claimed})
    assert list(owners.values()) == [claimed]
    report = runtime.app.people.import_people(incident.id, path, alice)
    assert (report.imported, report.already_present) == (3, 0)
    assert runtime.app.people.person_on(incident.id, PLANTED["email"]).id == claimed
    again = runtime.app.people.import_people(incident.id, path, alice)
    assert (again.imported, again.already_present) == (0, 3)
    assert recorded(settings) == 3


CONCURRENT_IMPORT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from uuid import UUID
    from services.application.context import RequestContext
    from services.bootstrap import bootstrap
    from services.config import Settings

    rt = bootstrap(Settings(data_dir=sys.argv[1]), configure_logs=False)
    rt.app.people.import_batch_size = 50
    print("ready", flush=True)
    sys.stdin.readline()
    report = rt.app.people.import_people(
        UUID(sys.argv[2]), Path(sys.argv[3]), RequestContext(actor="i")
    )
    print(report.imported, report.already_present, flush=True)
    rt.close()
    """
)


def test_concurrent_imports_of_one_file_record_each_person_once(
    runtime: Runtime,
    incident: Any,
    tmp_path: Path,
    data_dir: Path,
    settings: Settings,
    store: Store,
) -> None:
    """Three processes import the same 400 people at once: 400 recorded, no one twice, and
    every report's counts add up."""
    paths = [write_csv(tmp_path / f"p{i}.csv", [person(j) for j in range(400)]) for i in range(3)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT_IMPORT, str(data_dir), str(incident.id), str(p)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=store.env(),
        )
        for p in paths
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        imported, present = (int(x) for x in out.strip().splitlines()[-1].split())
        results.append((imported, present))
    assert sum(i for i, _ in results) == 400
    assert all(i + p == 400 for i, p in results)
    assert recorded(settings) == 400
    ids = {runtime.app.people.person_on(incident.id, person(j)["email"]).id for j in range(400)}
    assert len(ids) == 400


def _old_person(rt: Runtime, incident_id: UUID, row: dict[str, Any], n: int) -> AffectedPerson:
    """A person recorded as the code before this change did: id derived from the lookup,
    lookups in the event."""
    vault = rt.app.vault
    assert vault is not None
    from services.vault.sealing import PersonData

    lookup = vault.lookups.email(row["email"])
    [sealed] = vault.seal_new(
        [PersonData(email=row["email"], name=row["name"], reference=row["reference"])]
    )
    cause = Cause(actor="importer", correlation_id="old", at=rt.app.core.clock.now())
    return AffectedPerson._create(
        PersonRecorded,
        id=uuid5(OLD_NAMESPACE, f"{incident_id}/{lookup}"),
        incident_id=incident_id,
        lookup=lookup,
        reference_lookup=vault.lookups.reference(row["reference"]),
        language=row["language"],
        jurisdiction=row["jurisdiction"],
        sealed=sealed,
        source="import:old",
        row=n,
        **cause.stamp(),
    )


def _forget_the_index(settings: Settings) -> None:
    """Drop the lookup index as if the key store predated it (and the record of its
    schema revision, which such a store did not have either)."""
    raw = RawStore(settings)
    for table in ("person_lookups", "lookup_index_meta"):
        raw.run("keys", f"DROP TABLE {table}")
    raw.run("keys", "DELETE FROM alembic_version WHERE version_num = ?", [KEYS.head])


def test_a_store_written_before_lookups_left_the_log_keeps_working(
    runtime: Runtime,
    incident: Any,
    alice: RequestContext,
    tmp_path: Path,
    settings: Settings,
    clock: ManualClock,
) -> None:
    """People recorded with the old event shape (lookups in the log, derived ids), one of
    them erased then, are found by address after an upgrade; re-importing adds nobody; the
    one erased before is found by nobody; erasing now makes them unfindable too."""
    rows = planted_rows()
    old = [_old_person(runtime, incident.id, row, n) for n, row in enumerate(rows, 1)]
    runtime.app.core.save_aggregates(old)
    gone = old[2]
    runtime.app.vault.shred(list(gone.state.key_ids))  # type: ignore[union-attr]
    gone.erase(
        Cause(actor="dpo", correlation_id="old", at=clock.now()), reason="r", keys_destroyed=()
    )
    runtime.app.core.save_aggregates([gone])
    stored = RawStore(settings).event_bytes()
    assert lookup_of(runtime, PLANTED["email"]).encode() in stored
    runtime.close()
    _forget_the_index(settings)
    upgraded = bootstrap(settings, clock=clock, configure_logs=False)
    try:
        zelda = upgraded.app.people.person_on(incident.id, PLANTED["email"])
        assert zelda.id == old[1].id
        assert [p.id for p in upgraded.app.people.people_by_reference(PLANTED["reference"])] == [
            zelda.id
        ]
        assert upgraded.app.people.people_by_email(person(2)["email"]) == []
        report = upgraded.app.people.import_people(
            incident.id, write_csv(tmp_path / "p.csv", rows[:2]), alice
        )
        assert (report.imported, report.already_present) == (0, 2)
        upgraded.app.people.erase_person(zelda.id, "erasure request", alice)
        assert upgraded.app.people.people_by_email(PLANTED["email"]) == []
    finally:
        upgraded.close()
    again = bootstrap(settings, clock=clock, configure_logs=False)
    try:
        assert again.app.people.people_by_email(PLANTED["email"]) == []
        assert again.app.people.person_on(incident.id, person(0)["email"]).id == old[0].id
    finally:
        again.close()
    assert recorded(settings) == 3


def test_a_relay_reply_naming_the_recipient_is_recorded_without_the_address(
    runtime: Runtime, incident: Any, alice: RequestContext, tmp_path: Path, settings: Settings
) -> None:
    """A relay refuses the planted address naming it in its reply: the failure is recorded
    with the reply's codes but not the address, so no stored byte (the log included, which
    an erasure cannot change) holds it outside the sealed data."""
    from services.smtp_target import SmtpTarget

    runtime.app.people.import_people(
        incident.id, write_csv(tmp_path / "p.csv", planted_rows()), alice
    )
    runtime.settle()
    start_people_campaign(runtime, incident.id, alice)
    with smtp_sink(tmp_path, "--fail-to", PLANTED["email"]) as sink:
        target = SmtpTarget("127.0.0.1", sink.port)
        report = asyncio.run(runtime.dispatcher(target).run())
    assert (report.sent, report.failed) == (2, 1)
    [failed] = runtime.notifications.store.query("SELECT * FROM notices WHERE status = 'failed'")
    assert failed["reason"].startswith("550 5.1.1 ")
    assert "Recipient address rejected" in failed["reason"]
    local = PLANTED["email"].split("@")[0]
    raw = RawStore(settings)
    assert local.encode() not in raw.event_bytes()
    runtime.app.people.erase_person(
        runtime.app.people.person_on(incident.id, PLANTED["email"]).id, "r", alice
    )
    runtime.settle()
    assert local.encode() not in raw.everything()
