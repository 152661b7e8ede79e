"""Affected people on the real store: import, resume, reject, correct, export, erase, retain."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from pydantic import SecretStr

from events.people import AffectedPerson, PersonErased
from services.application.context import RequestContext
from services.application.errors import InvalidInput, NotFound, RuleBroken
from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from services.people import retention
from tests.support.clocks import ManualClock
from tests.support.people import person, write_csv, write_jsonl
from tests.support.reports import report_input
from tests.support.store import RawStore, Store, count_events


@pytest.fixture
def incident(runtime: Runtime, clock: ManualClock, alice: RequestContext) -> Any:
    return runtime.app.incidents.report_incident(report_input(clock.current), alice)


def people_count(settings: Settings) -> int:
    return RawStore(settings).count_events("events.people:PersonRecorded")


def stored_bytes(settings: Settings) -> bytes:
    """Every byte the store keeps (files under the data directory: databases, WAL, keys;
    on PostgreSQL every table of the schema too)."""
    return RawStore(settings).everything()


def test_import_seals_people_and_a_second_run_adds_nobody(
    runtime: Runtime, incident: Any, alice: RequestContext, tmp_path: Path, settings: Settings
) -> None:
    """2,500 people in batches of 1,000; re-importing the same file is a no-op."""
    path = write_csv(tmp_path / "people.csv", [person(i) for i in range(2500)])
    first = runtime.app.people.import_people(incident.id, path, alice)
    assert (first.rows, first.imported, first.rejected, first.batches) == (2500, 2500, 0, 3)
    again = runtime.app.people.import_people(incident.id, path, alice)
    assert (again.imported, again.already_present) == (0, 2500)
    assert people_count(settings) == 2500
    runtime.views.catch_up()
    summary = runtime.people.summary(incident.id)
    assert summary["total"] == 2500
    assert summary["language"]["zh-CN"] == 625
    assert b"candidate7@applicants" not in stored_bytes(settings)
    assert b"Candidate Number7" not in stored_bytes(settings)


def test_json_lines_and_rejected_rows_are_reported_next_to_the_input(
    runtime: Runtime, incident: Any, alice: RequestContext, tmp_path: Path
) -> None:
    """10% invalid rows: the valid ones import, each rejection is listed (row, field,
    reason) without the values."""
    rows = [person(i) for i in range(100)]
    for i in range(0, 100, 10):
        rows[i] = {**rows[i], "email": f"broken{i}.example.org"}
    rows.append(person(5))
    path = write_jsonl(tmp_path / "people.jsonl", rows)
    report = runtime.app.people.import_people(incident.id, path, alice)
    assert (report.imported, report.rejected, report.duplicates) == (90, 10, 1)
    assert report.rejections_file is not None
    lines = Path(report.rejections_file).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "row,field,reason"
    assert lines[1].startswith("1,email,")
    assert lines[-1] == "101,email,duplicate of an earlier row"
    assert "broken" not in "".join(lines)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"email,name,language,jurisdiction\nann@example.org,Ren\xe9,en,DE\n", "not UTF-8"),
        (b"mail,name,language,jurisdiction\nann@example.org,Ann,en,DE\n", "lacks the column"),
        (b"", "is empty"),
    ],
)
def test_unreadable_files_are_refused_before_anything_is_imported(
    runtime: Runtime,
    incident: Any,
    alice: RequestContext,
    tmp_path: Path,
    settings: Settings,
    content: bytes,
    message: str,
) -> None:
    """Not UTF-8, no email column, empty: a clear error and not one person recorded."""
    path = tmp_path / "people.csv"
    path.write_bytes(content)
    before = count_events(settings)
    with pytest.raises(InvalidInput, match=message):
        runtime.app.people.import_people(incident.id, path, alice)
    assert count_events(settings) == before


def test_a_file_over_the_limit_is_refused_at_once(
    runtime: Runtime, incident: Any, alice: RequestContext, tmp_path: Path
) -> None:
    """A 1 GB file (sparse here) gets a clear error naming the limit and the setting."""
    path = tmp_path / "huge.csv"
    with path.open("wb") as f:
        f.truncate(2**30)
    started = time.monotonic()
    with pytest.raises(InvalidInput, match="BREACH_IMPORT_MAX_BYTES"):
        runtime.app.people.import_people(incident.id, path, alice)
    assert time.monotonic() - started < 1


SLOW_IMPORT = textwrap.dedent(
    """
    import sys, time
    from uuid import UUID
    from services.application.context import RequestContext
    from services.bootstrap import bootstrap
    from services.config import Settings

    rt = bootstrap(Settings(data_dir=sys.argv[1]), configure_logs=False)
    rt.app.people.import_batch_size = 200
    save = rt.app.core.save

    def slow_save(*args, **kwargs):
        result = save(*args, **kwargs)
        time.sleep(0.1)
        return result

    rt.app.core.save = slow_save
    print("ready", flush=True)
    rt.app.people.import_people(UUID(sys.argv[2]), __import__("pathlib").Path(sys.argv[3]),
                         RequestContext(actor="importer"))
    """
)


def test_an_interrupted_import_resumes_without_duplicates(
    runtime: Runtime,
    incident: Any,
    alice: RequestContext,
    tmp_path: Path,
    data_dir: Path,
    settings: Settings,
    store: Store,
) -> None:
    """SIGKILL mid-import leaves whole batches only; running the file again completes it."""
    path = write_csv(tmp_path / "people.csv", [person(i) for i in range(3000)])
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_IMPORT, str(data_dir), str(incident.id), str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env=store.env(),
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 30
    while people_count(settings) < 400 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    partial = people_count(settings)
    assert 0 < partial < 3000
    assert partial % 200 == 0
    report = runtime.app.people.import_people(incident.id, path, alice)
    assert report.imported + report.already_present == 3000
    assert report.already_present == partial
    assert people_count(settings) == 3000


def test_correction_reseals_and_moves_the_lookup(
    runtime: Runtime, incident: Any, alice: RequestContext, tmp_path: Path
) -> None:
    """A new address is found afterwards; the old one no longer is; the change is an event."""
    runtime.app.people.import_people(incident.id, write_csv(tmp_path / "p.csv", [person(1)]), alice)
    target = runtime.app.people.person_on(incident.id, person(1)["email"])
    runtime.app.people.correct_person(
        target.id,
        {"email": "new.address@applicants.example.org", "reason": "rectification"},
        alice,
    )
    runtime.views.catch_up()
    [found] = runtime.app.people.people_by_email("new.address@applicants.example.org")
    assert found.id == target.id
    assert runtime.app.people.people_by_email(person(1)["email"]) == []
    view = runtime.app.people.view_person(runtime.app.core.load(target.id, AffectedPerson))
    assert view.data is not None
    assert view.data.email == "new.address@applicants.example.org"
    with pytest.raises(RuleBroken, match="changes nothing"):
        runtime.app.people.correct_person(
            target.id, {"name": person(1)["name"], "reason": "x"}, alice
        )


def test_erasure_destroys_the_key_and_leaves_no_trace_but_a_replayable_log(
    runtime: Runtime, incident: Any, alice: RequestContext, tmp_path: Path, settings: Settings
) -> None:
    """After erasure the key's row is gone and nothing stored holds the person's email,
    name or key; views and export show them erased; the incident and the person's history
    still load."""
    runtime.app.people.import_people(
        incident.id, write_csv(tmp_path / "p.csv", [person(i) for i in range(50)]), alice
    )
    target = runtime.app.people.person_on(incident.id, person(7)["email"])
    key_id = target.state.sealed.key_id
    assert runtime.app.vault is not None
    assert runtime.app.vault.keys.get([key_id])
    raw = RawStore(settings)
    key_rows = "SELECT COUNT(*) FROM person_keys WHERE key_id = ?"
    assert raw.run("keys", key_rows, [str(key_id)]) == [(1,)]
    assert raw.run("keys", "SELECT COUNT(*) FROM person_keys") == [(50,)]
    runtime.app.people.erase_person(target.id, "erasure request ER-2026-19", alice)
    runtime.views.catch_up()
    assert runtime.app.vault.keys.get([key_id]) == {}
    assert raw.run("keys", key_rows, [str(key_id)]) == [(0,)]
    assert raw.run("keys", "SELECT COUNT(*) FROM person_keys") == [(49,)]
    everything = stored_bytes(settings)
    for planted in (person(7)["email"], person(7)["name"], person(7)["reference"]):
        assert planted.encode() not in everything
    erased = runtime.app.core.load(target.id, AffectedPerson)
    assert isinstance(list(runtime.app.core.events.get(target.id))[-1], PersonErased)
    view = runtime.app.people.view_person(erased)
    assert (view.status, view.data, view.language) == ("erased", None, None)
    [row] = [r for r in runtime.people.of_incident(incident.id) if r["person_id"] == str(target.id)]
    assert (row["status"], row["language"], row["jurisdiction"]) == ("erased", None, None)
    assert runtime.app.incidents.get_incident(incident.id).version >= 1
    runtime.views.rebuild()
    assert runtime.people.summary(incident.id)["status"] == {"active": 49, "erased": 1}
    with pytest.raises(RuleBroken, match="already erased"):
        runtime.app.people.erase_person(target.id, "again", alice)
    with pytest.raises(RuleBroken, match="erased"):
        runtime.app.people.correct_person(target.id, {"name": "X", "reason": "r"}, alice)


def test_retention_erases_people_a_set_time_after_closure(
    runtime: Runtime, incident: Any, alice: RequestContext, tmp_path: Path, clock: ManualClock
) -> None:
    """Dry run reports and changes nothing; the real run erases; then nothing is left due."""
    runtime.app.people.import_people(
        incident.id, write_csv(tmp_path / "p.csv", [person(i) for i in range(5)]), alice
    )
    runtime.app.incidents.close_incident(
        incident.id, {"resolution": "contained and notified"}, alice
    )
    runtime.views.catch_up()
    assert (
        retention.plan(
            runtime.app.people,
            runtime.board,
            runtime.people,
            runtime.notifications,
            days=30,
            now=clock.current,
        )
        == []
    )
    later = clock.advance(days=31)
    plan = retention.plan(
        runtime.app.people, runtime.board, runtime.people, runtime.notifications, days=30, now=later
    )
    assert [(p.incident_id, len(p.people)) for p in plan] == [(incident.id, 5)]
    assert retention.apply(runtime.app.people, plan, 30, alice) == 5
    runtime.views.catch_up()
    assert (
        retention.plan(
            runtime.app.people,
            runtime.board,
            runtime.people,
            runtime.notifications,
            days=30,
            now=later,
        )
        == []
    )
    assert runtime.people.summary(incident.id)["status"] == {"erased": 5}


def test_whole_store_encryption_keeps_even_titles_out_of_the_file(
    settings: Settings, clock: ManualClock, alice: RequestContext
) -> None:
    """With a cipher key configured, the event log holds ciphertext only, and still works."""
    key = "q2x4J1m2vD1m0JwM8b4m0s3y8VbU6x2a3nF0o0gM6ZQ="
    rt = bootstrap(
        settings.model_copy(update={"cipher_key": SecretStr(key)}),
        clock=clock,
        configure_logs=False,
    )
    incident = rt.app.incidents.report_incident(
        report_input(clock.current, title="Quarterly Payroll Leak"), alice
    )
    assert rt.app.incidents.get_incident(incident.id).state.title == "Quarterly Payroll Leak"
    rt.close()
    raw = RawStore(settings).event_bytes()
    assert b"Quarterly Payroll Leak" not in raw
    assert b"IncidentReported" in raw


def test_people_commands_refuse_unknown_people_and_closed_incidents(
    runtime: Runtime, incident: Any, alice: RequestContext, tmp_path: Path
) -> None:
    """Unknown address: not found; importing into a closed incident: refused."""
    with pytest.raises(NotFound):
        runtime.app.people.person_on(incident.id, "nobody@example.org")
    runtime.app.incidents.close_incident(incident.id, {"resolution": "done"}, alice)
    with pytest.raises(RuleBroken, match="closed"):
        runtime.app.people.import_people(
            incident.id, write_csv(tmp_path / "p.csv", [person(1)]), alice
        )
    assert os.path.exists(tmp_path / "p.csv")
    assert UUID(int=0) != incident.id
