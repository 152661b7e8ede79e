"""The audit routes: replay as of a moment, diff of two moments, verification of the live
record and of a bundle, and the bundle export, with their refusals."""

from __future__ import annotations

import io
import sqlite3
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx

from events.base import Cause
from events.incident import Incident
from events.values import IncidentType, LegalMoments, SourceChannel
from services.audit.bundle import verify_bundle
from services.audit.replay import replay_incident
from tests.api.conftest import Api
from tests.support.clocks import ManualClock
from tests.support.server import serving

MISSING = "00000000-0000-4000-8000-000000000000"


def clock_of(api: Api) -> ManualClock:
    """The runtime's hand-driven clock."""
    clock = api.rt.app.core.clock
    assert isinstance(clock, ManualClock)
    return clock


def triaged_an_hour_later(api: Api) -> tuple[str, datetime, datetime]:
    """An incident reported now and triaged an hour later; (id, a moment between, after)."""
    incident = api.report(title="Lost laptop", incident_type="lost_or_stolen_device")
    clock = clock_of(api)
    between = clock.advance(minutes=30)
    clock.advance(minutes=30)
    r = api.call(
        "responder",
        "POST",
        f"/api/v1/incidents/{incident['id']}/triage",
        json={"severity": "medium", "personal_data_breach": "yes"},
    )
    assert r.status_code == 200, r.text
    after = clock.advance(minutes=1)
    return incident["id"], between, after


def test_replay_shows_the_incident_as_recorded_then(api: Api) -> None:
    """Before triage the replay is untriaged with no tasks; after it, triaged with tasks."""
    incident_id, between, after = triaged_an_hour_later(api)
    path = f"/api/v1/incidents/{incident_id}/replay"
    then = api.call("auditor", "GET", path, params={"at": between.isoformat()})
    assert then.status_code == 200, then.text
    doc = then.json()
    assert (doc["exists"], doc["state"]["severity"], doc["tasks"]) == (True, None, [])
    assert doc["incident_id"] == incident_id
    now = api.call("dpo", "GET", path, params={"at": after.isoformat()}).json()
    assert now["state"]["severity"] == "medium"
    assert now["version"] > doc["version"]
    assert len(now["tasks"]) > 0
    assert api.call("responder", "GET", path, params={"at": "now"}).status_code == 200


def test_replay_answers_the_document_the_console_prints(api: Api) -> None:
    """The answer is the replay document itself, field for field."""
    incident_id, _, after = triaged_an_hour_later(api)
    r = api.call(
        "auditor",
        "GET",
        f"/api/v1/incidents/{incident_id}/replay",
        params={"at": after.isoformat()},
    )
    expected = replay_incident(api.rt.app, api.rt.notifications, UUID(incident_id), after)
    assert r.json() == expected.model_dump(mode="json")


def test_bad_replay_moments_are_refused_naming_at(api: Api) -> None:
    """Malformed, future, before-the-report and missing moments are 422 naming ``at``."""
    incident_id = api.report()["id"]
    path = f"/api/v1/incidents/{incident_id}/replay"
    future = (clock_of(api).current + timedelta(days=1)).isoformat()
    before = api.events()
    for params, words in (
        ({"at": "yesterday"}, "is not a time"),
        ({"at": future}, "in the future"),
        ({"at": "2001-01-01T00:00:00Z"}, "reported later"),
        ({}, "required"),
    ):
        r = api.call("auditor", "GET", path, params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["field"] == "at"
        assert words in r.json()["detail"]
    assert api.events() == before


def test_replay_of_unknown_incident_is_404_and_reporters_are_403(api: Api) -> None:
    """An id that names no incident is 404; a reporter may not replay (403)."""
    r = api.call("auditor", "GET", f"/api/v1/incidents/{MISSING}/replay", params={"at": "now"})
    assert r.status_code == 404
    mine = api.report("reporter")["id"]
    refused = api.call("reporter", "GET", f"/api/v1/incidents/{mine}/replay", params={"at": "now"})
    assert refused.status_code == 403
    assert refused.json()["field"] == "role"
    admin = api.call("admin", "GET", f"/api/v1/incidents/{mine}/replay", params={"at": "now"})
    assert admin.status_code == 403


def test_diff_names_what_changed_between_two_moments(api: Api) -> None:
    """From before triage to after, the diff names the triage and the tasks opened."""
    incident_id, between, after = triaged_an_hour_later(api)
    r = api.call(
        "auditor",
        "GET",
        f"/api/v1/incidents/{incident_id}/diff",
        params={"from": between.isoformat(), "to": after.isoformat()},
    )
    assert r.status_code == 200, r.text
    doc = r.json()
    assert "severity: none -> medium" in doc["changes"]
    assert any(line.startswith("task opened: ") for line in doc["changes"])
    assert (doc["from"], doc["to"]) == (between.isoformat(), after.isoformat())
    same = api.call(
        "auditor",
        "GET",
        f"/api/v1/incidents/{incident_id}/diff",
        params={"from": after.isoformat(), "to": "now"},
    )
    assert same.json()["changes"] == []


def test_bad_diff_moments_are_refused_naming_from_or_to(api: Api) -> None:
    """Each bad moment is 422 naming ``from`` or ``to``; an unknown incident is 404."""
    incident_id, between, after = triaged_an_hour_later(api)
    path = f"/api/v1/incidents/{incident_id}/diff"
    future = (clock_of(api).current + timedelta(days=1)).isoformat()
    early = "2001-01-01T00:00:00Z"
    ok = between.isoformat()
    before = api.events()
    for params, field in (
        ({"from": "soon", "to": ok}, "from"),
        ({"from": ok, "to": "later"}, "to"),
        ({"from": early, "to": ok}, "from"),
        ({"from": ok, "to": future}, "to"),
        ({"from": future, "to": ok}, "from"),
        ({"from": after.isoformat(), "to": ok}, "to"),
        ({"to": ok}, "from"),
        ({"from": ok}, "to"),
    ):
        r = api.call("auditor", "GET", path, params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["field"] == field, (params, r.json())
    missing = api.call(
        "auditor", "GET", f"/api/v1/incidents/{MISSING}/diff", params={"from": ok, "to": ok}
    )
    assert missing.status_code == 404
    assert api.call("reporter", "GET", path, params={"from": ok, "to": ok}).status_code == 403
    assert api.events() == before


def test_board_replay_shows_the_board_as_it_was(api: Api) -> None:
    """The board before the triage lists the incident untriaged, with the log position."""
    incident_id, between, after = triaged_an_hour_later(api)
    then = api.call("auditor", "GET", "/api/v1/replay", params={"at": between.isoformat()})
    assert then.status_code == 200, then.text
    doc = then.json()
    assert [(r["incident_id"], r["severity"]) for r in doc["board"]] == [(incident_id, None)]
    later = api.call("auditor", "GET", "/api/v1/replay", params={"at": after.isoformat()}).json()
    assert [r["severity"] for r in later["board"]] == ["medium"]
    assert later["position"] > doc["position"]
    bad = api.call("auditor", "GET", "/api/v1/replay", params={"at": "tomorrow"})
    assert (bad.status_code, bad.json()["field"]) == (422, "at")
    assert api.call("reporter", "GET", "/api/v1/replay", params={"at": "now"}).status_code == 403


def seed_history(api: Api, incidents: int = 70, notes: int = 99) -> list[datetime]:
    """About 7,000 events, an incident with its notes each minute (enough to make a
    whole-board rebuild take a second or so); the moment just after each incident."""
    clock = clock_of(api)
    moments = []
    for i in range(incidents):
        cause = Cause(actor="seed", correlation_id="seed", at=clock.advance(minutes=1))
        incident = Incident.report(
            cause,
            incident_id=uuid4(),
            title=f"Seeded incident {i}",
            description="",
            reporter="seed",
            source=SourceChannel.MONITORING,
            incident_type=IncidentType.PHISHING,
            moments=LegalMoments(discovered_at=cause.at),
        )
        for n in range(notes):
            incident.add_note(cause, text=f"note {n}")
        api.rt.app.core.save_aggregates([incident])
        moments.append(cause.at + timedelta(seconds=30))
    clock.advance(minutes=1)
    return moments


def replays_at_once(url: str, asks: list[tuple[str, datetime]]) -> list[httpx.Response]:
    """Each (token, moment) asks for the board replay from its own thread, all together."""
    start = threading.Barrier(len(asks))

    def ask(item: tuple[str, datetime]) -> httpx.Response:
        token, at = item
        with httpx.Client(base_url=url, timeout=120) as client:
            client.get("/healthz")
            start.wait()
            return client.get(
                "/api/v1/replay",
                params={"at": at.isoformat()},
                headers={"Authorization": f"Bearer {token}"},
            )

    with ThreadPoolExecutor(len(asks)) as pool:
        return list(pool.map(ask, asks))


def assert_too_many(answer: httpx.Response) -> None:
    """A refused replay: 429 with Retry-After and a problem body naming ``at``."""
    assert answer.status_code == 429, answer.text
    assert int(answer.headers["Retry-After"]) >= 1
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["field"] == "at"


def test_one_reader_gets_one_whole_board_replay_at_a_time(api: Api) -> None:
    """Four whole-board replays asked at once by one auditor (each at another moment): one
    is rebuilt and answered, the other three are refused at once with 429."""
    moments = seed_history(api)
    token = api.tokens["auditor"]
    with serving(api.rt) as server:
        answers = replays_at_once(server.url, [(token, m) for m in moments[10:50:10]])
    assert sorted(a.status_code for a in answers) == [200, 429, 429, 429]
    for answer in answers:
        if answer.status_code != 200:
            assert_too_many(answer)


def test_whole_board_replays_are_bounded_across_readers(api: Api) -> None:
    """With at most two whole-board replays at a time (the default), three readers asking
    at once get two boards and one 429."""
    moments = seed_history(api)
    asks = [(api.tokens[r], moments[20 + i]) for i, r in enumerate(("auditor", "responder", "dpo"))]
    with serving(api.rt) as server:
        answers = replays_at_once(server.url, asks)
    assert sorted(a.status_code for a in answers) == [200, 200, 429]
    assert_too_many(next(a for a in answers if a.status_code != 200))


def test_a_board_replay_is_rebuilt_once_per_log_position(api: Api) -> None:
    """Asking again for a moment, or for another moment at the same log position, is
    answered from the cache without a rebuild (the same board); a moment at another
    position is rebuilt once and kept as well."""
    _, between, after = triaged_an_hour_later(api)
    replays = api.client.app.state.board_replays

    def board(at: datetime) -> Any:
        answer = api.call("auditor", "GET", "/api/v1/replay", params={"at": at.isoformat()})
        assert answer.status_code == 200, answer.text
        return answer.json()

    first = board(between)
    assert replays.rebuilds == 1
    assert board(between) == first
    assert board(between + timedelta(seconds=1))["board"] == first["board"]
    assert replays.rebuilds == 1
    later = board(after)
    assert later["position"] > first["position"]
    assert replays.rebuilds == 2
    assert board(between) == first
    assert board(after) == later
    assert replays.rebuilds == 2


def test_verify_reports_an_intact_record_then_the_first_altered_event(api: Api) -> None:
    """The live record verifies; after an edit in the store, verify names its position."""
    api.report()
    r = api.call("auditor", "GET", "/api/v1/audit/verify")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["ok"] is True
    assert doc["checked"] == api.events()
    assert doc["first_bad_position"] is None
    with sqlite3.connect(api.data_dir / "events.db") as db:
        (position,) = db.execute(
            "SELECT MIN(rowid) FROM stored_events WHERE CAST(state AS TEXT) LIKE '%Laptop%'"
        ).fetchone()
        db.execute(
            "UPDATE stored_events SET state = replace(state, 'Laptop', 'Tablet') WHERE rowid = ?",
            (position,),
        )
    tampered = api.call("dpo", "GET", "/api/v1/audit/verify").json()
    assert tampered["ok"] is False
    assert tampered["first_bad_position"] == position


def test_verify_and_export_need_the_export_permission(api: Api) -> None:
    """Responders and reporters may not verify or export (403); nothing is appended."""
    incident_id = api.report()["id"]
    before = api.events()
    for role in ("responder", "reporter", "admin"):
        assert api.call(role, "GET", "/api/v1/audit/verify").status_code == 403
        bundle = api.call(role, "GET", f"/api/v1/incidents/{incident_id}/bundle")
        assert bundle.status_code == 403
        sent = api.call(role, "POST", "/api/v1/audit/bundle/verify", content=b"PK")
        assert sent.status_code == 403
    assert api.events() == before


def download(api: Api, incident_id: str, tmp_path: Path) -> Path:
    """The incident's bundle, fetched as the auditor and saved to a file."""
    r = api.call("auditor", "GET", f"/api/v1/incidents/{incident_id}/bundle")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    disposition = r.headers["content-disposition"]
    assert disposition == f'attachment; filename="breachledger-bundle-{incident_id}.zip"'
    assert int(r.headers["content-length"]) == len(r.content)
    path = tmp_path / "bundle.zip"
    path.write_bytes(r.content)
    return path


def test_bundle_exports_as_a_zip_that_verifies_offline_and_here(api: Api, tmp_path: Path) -> None:
    """The exported zip holds the bundle files and verifies offline and through the API."""
    incident_id, _, _ = triaged_an_hour_later(api)
    path = download(api, incident_id, tmp_path)
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
    assert {"events.jsonl", "chain.jsonl", "manifest.json", "manifest.sig", "report.html"} <= (
        names
    )
    assert verify_bundle(path, api.rt.audit_key).ok
    checked = api.call(
        "dpo",
        "POST",
        "/api/v1/audit/bundle/verify",
        content=path.read_bytes(),
        headers={"Content-Type": "application/zip"},
    )
    assert checked.status_code == 200, checked.text
    doc: dict[str, Any] = checked.json()
    assert (doc["ok"], doc["problems"]) == (True, [])
    assert doc["events"] > 1


def test_a_tampered_bundle_fails_verification_naming_the_problem(api: Api, tmp_path: Path) -> None:
    """An edited event line in a bundle makes the check fail and name the position."""
    incident_id = api.report()["id"]
    path = download(api, incident_id, tmp_path)
    with zipfile.ZipFile(path) as z:
        files = {name: z.read(name) for name in z.namelist()}
    files["events.jsonl"] = files["events.jsonl"].replace(b"Laptop", b"Tablet", 1)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    r = api.call("auditor", "POST", "/api/v1/audit/bundle/verify", content=buffer.getvalue())
    assert r.status_code == 200
    doc = r.json()
    assert doc["ok"] is False
    assert doc["first_bad_position"] is not None
    assert any("events.jsonl" in p for p in doc["problems"])


def test_a_bundle_that_is_no_bundle_is_refused(api: Api) -> None:
    """Bytes that are not a zip, or a zip without the bundle's files, are 422 / not ok."""
    before = api.events()
    r = api.call("auditor", "POST", "/api/v1/audit/bundle/verify", content=b"not a zip")
    assert (r.status_code, r.json()["field"]) == (422, "bundle")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("notes.txt", "hello")
    empty = api.call("auditor", "POST", "/api/v1/audit/bundle/verify", content=buffer.getvalue())
    assert empty.status_code == 200
    assert empty.json()["ok"] is False
    assert "manifest.json is missing" in empty.json()["problems"]
    assert api.events() == before


def test_a_bundle_unpacking_too_large_is_refused(api: Api) -> None:
    """A small zip that would unpack to a huge size is refused before it is unpacked."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("events.jsonl", b"\0" * (5 * 2**20))
    assert len(buffer.getvalue()) < api.rt.settings.http_max_body
    r = api.call("auditor", "POST", "/api/v1/audit/bundle/verify", content=buffer.getvalue())
    assert (r.status_code, r.json()["field"]) == (422, "bundle")
    assert "unpacks to more than" in r.json()["detail"]


def test_bundle_of_unknown_incident_is_404(api: Api) -> None:
    """Exporting an id that names no incident is 404, a malformed id 422."""
    assert api.call("auditor", "GET", f"/api/v1/incidents/{MISSING}/bundle").status_code == 404
    bad = api.call("auditor", "GET", "/api/v1/incidents/abc/bundle")
    assert (bad.status_code, bad.json()["field"]) == (422, "incident_id")


def test_damaged_bundles_are_answered_never_with_a_server_error(api: Api, tmp_path: Path) -> None:
    """Not a zip or truncated: a 422 problem naming ``bundle``; a member's bytes flipped, a
    member edited or missing, a bad signature: a failed verdict naming the file; never a
    500, and the answer never holds the audit key."""
    incident_id = api.report()["id"]
    whole = download(api, incident_id, tmp_path).read_bytes()
    with zipfile.ZipFile(io.BytesIO(whole)) as z:
        files = {name: z.read(name) for name in z.namelist()}
        info = z.getinfo("events.jsonl")

    def zipped(members: dict[str, bytes]) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in members.items():
                z.writestr(name, data)
        return buffer.getvalue()

    flipped = bytearray(whole)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    flipped[start + info.compress_size // 2] ^= 0xFF
    without = {k: v for k, v in files.items() if k != "manifest.sig"}
    resigned = {**files, "manifest.sig": b"0" * 64}
    edited = {**files, "events.jsonl": files["events.jsonl"].replace(b"Laptop", b"Tablet", 1)}
    before = api.events()
    for case, body, named in (
        ("not a zip", b"PK\x03\x04 and then nothing", None),
        ("truncated", whole[: len(whole) // 2], None),
        ("flipped", bytes(flipped), "events.jsonl is damaged"),
        ("missing", zipped(without), "manifest.sig is missing"),
        ("resigned", zipped(resigned), "manifest.sig does not match"),
        ("edited", zipped(edited), "events.jsonl"),
    ):
        r = api.call("auditor", "POST", "/api/v1/audit/bundle/verify", content=body)
        if named is None:
            assert r.status_code == 422, (case, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["field"] == "bundle"
        else:
            assert r.status_code == 200, (case, r.text)
            assert r.json()["ok"] is False, case
            assert any(named in p for p in r.json()["problems"]), (case, r.json())
        assert api.rt.audit_key.hex()[:16] not in r.text
    assert api.events() == before
