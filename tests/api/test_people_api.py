"""The people routes: import a CSV or JSON Lines body, the summary, access, rectification and
erasure requests, the retention run; their refusals, and personal data kept out of URLs,
logs and answers to callers without the rights permission."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from structlog.testing import capture_logs

from services.notifications.mailbox import CaptureServer, MailboxCheck
from services.smtp_target import SmtpTarget
from tests.api.conftest import Api
from tests.support.clocks import ManualClock
from tests.support.people import person

PLANTED = {
    "email": "zelda.quintana-marsh@planted.example.net",
    "name": "Zelda Quintana-Marsh",
    "reference": "PLANTED-REF-4471",
}
CSV = {"Content-Type": "text/csv"}


def csv_body(rows: list[dict[str, Any]], columns: list[str] | None = None) -> bytes:
    """Rows as a CSV file's bytes, with a header."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns or list(rows[0]), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def imported(api: Api, incident_id: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Import rows into an incident as the responder; return the report."""
    r = api.call(
        "responder",
        "POST",
        f"/api/v1/incidents/{incident_id}/people",
        content=csv_body(rows),
        headers=CSV,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def upload_folders(api: Api) -> set[Path]:
    """What uploads left in the data directory's upload area."""
    area = api.data_dir / "uploads"
    return set(area.iterdir()) if area.exists() else set()


def test_csv_import_reports_counts_and_rejections_without_values(api: Api) -> None:
    """An import answers its counts and each rejected row's number, field and reason, never
    the rejected value; sending the file again adds nobody; no temporary file is left."""
    incident = api.report()["id"]
    left_before = upload_folders(api)
    rows = [person(i) for i in range(12)]
    rows.append({**person(98), "email": PLANTED["name"] + " at planted dot net"})
    rows.append({**person(99), "language": "elvish"})
    rows.append(person(3))
    report = imported(api, incident, rows)
    assert {k: report[k] for k in ("rows", "imported", "duplicates", "rejected")} == {
        "rows": 15,
        "imported": 12,
        "duplicates": 1,
        "rejected": 2,
    }
    assert report["rejections"] == [
        {"row": 13, "field": "email", "reason": "is not a valid address: it has no @-sign"},
        {"row": 14, "field": "language", "reason": "is not a known language code"},
        {"row": 15, "field": "email", "reason": "duplicate of an earlier row"},
    ]
    assert PLANTED["name"] not in json.dumps(report)
    again = imported(api, incident, rows[:12])
    assert (again["imported"], again["already_present"], again["rejections"]) == (0, 12, [])
    assert upload_folders(api) == left_before
    summary = api.call("auditor", "GET", f"/api/v1/incidents/{incident}/people").json()
    assert summary["total"] == 12


def test_json_lines_import_is_read_as_json_lines(api: Api) -> None:
    """A body sent as application/x-ndjson is imported line by line."""
    incident = api.report()["id"]
    body = "".join(json.dumps(person(i)) + "\n" for i in range(4)) + "[1, 2]\n"
    r = api.call(
        "dpo",
        "POST",
        f"/api/v1/incidents/{incident}/people",
        content=body.encode(),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["imported"], r.json()["rejections"]) == (
        4,
        [{"row": 5, "field": "row", "reason": "each line must be a JSON object"}],
    )


def test_bad_imports_are_refused_naming_the_field_and_store_nothing(api: Api) -> None:
    """Wrong media type, header without email, empty body, unknown or closed incident, a
    caller without the import permission, a body over the limit: each refused, nothing
    stored, no temporary file left."""
    incident = api.report()["id"]
    closed = api.report()["id"]
    api.call("responder", "POST", f"/api/v1/incidents/{closed}/close", json={"resolution": "ok"})
    left_before = upload_folders(api)
    before = api.events()
    good = csv_body([person(1)])
    missing = "00000000-0000-4000-8000-000000000000"
    cases = [
        ("responder", incident, good, {"Content-Type": "application/json"}, 415, "Content-Type"),
        ("responder", incident, b"name,language,jurisdiction\nAnn,en,DE\n", CSV, 422, "body"),
        ("responder", incident, b"", CSV, 422, "body"),
        ("responder", missing, good, CSV, 404, "id"),
        ("responder", closed, good, CSV, 409, "status"),
        ("auditor", incident, good, CSV, 403, "role"),
        ("responder", incident, b"x" * (2 * 2**20 + 1), CSV, 413, "body"),
    ]
    for role, target, body, headers, status, field in cases:
        r = api.call(
            role, "POST", f"/api/v1/incidents/{target}/people", content=body, headers=headers
        )
        assert r.status_code == status, (status, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["field"] == field, r.json()
    header = api.call(
        "responder",
        "POST",
        f"/api/v1/incidents/{incident}/people",
        content=b"name,language,jurisdiction\nAnn,en,DE\n",
        headers=CSV,
    ).json()
    assert header["detail"] == "body: the header lacks the column(s) email"
    assert api.events() == before
    assert upload_folders(api) == left_before


def test_a_streamed_body_is_cut_off_at_the_import_limit(api: Api) -> None:
    """A body sent in chunks without a declared length is refused (413) once it passes the
    import limit; nothing is stored and no temporary file is left."""
    incident = api.report()["id"]
    left_before = upload_folders(api)
    before = api.events()

    def chunks() -> Iterator[bytes]:
        yield b"email,name,language,jurisdiction\n"
        for _ in range(40):
            yield b"x" * 65536

    r = api.call(
        "responder",
        "POST",
        f"/api/v1/incidents/{incident}/people",
        content=chunks(),
        headers=CSV,
    )
    assert r.status_code == 413
    assert r.json()["field"] == "body"
    assert api.events() == before
    assert upload_folders(api) == left_before


def test_summary_gives_counts_only_to_readers(api: Api) -> None:
    """The summary holds counts by status, language and jurisdiction and no address; a
    reporter may not read it, and an unknown incident is 404."""
    incident = api.report()["id"]
    imported(api, incident, [person(i) for i in range(8)])
    r = api.call("auditor", "GET", f"/api/v1/incidents/{incident}/people")
    assert r.status_code == 200
    doc = r.json()
    assert doc["total"] == 8
    assert doc["status"] == {"active": 8}
    assert doc["language"] == {"en": 2, "de": 2, "fr": 2, "zh-CN": 2}
    assert "@" not in r.text
    before = api.events()
    assert api.call("reporter", "GET", f"/api/v1/incidents/{incident}/people").status_code == 403
    missing = api.call(
        "auditor", "GET", "/api/v1/incidents/00000000-0000-4000-8000-000000000000/people"
    )
    assert missing.status_code == 404
    assert api.events() == before


def test_access_request_exports_every_record_by_email_or_reference(api: Api) -> None:
    """By email, the DPO gets the person's records on every incident with their data; by
    reference and incident, only that one; an unknown address has no records."""
    first, second = api.report()["id"], api.report(title="Second leak")["id"]
    imported(api, first, [person(i) for i in range(3)])
    imported(api, second, [person(1)])
    r = api.call("dpo", "POST", "/api/v1/people/export", json={"email": person(1)["email"]})
    assert r.status_code == 200
    records = r.json()["records"]
    assert sorted(rec["incident_id"] for rec in records) == sorted([first, second])
    assert records[0]["data"]["name"] == person(1)["name"]
    assert records[0]["data"]["attributes"] == {"position": "Backend engineer"}
    assert {rec["status"] for rec in records} == {"active"}
    by_reference = api.call(
        "dpo",
        "POST",
        "/api/v1/people/export",
        json={"reference": person(1)["reference"], "incident_id": second},
    ).json()["records"]
    assert [(rec["incident_id"], rec["incident_title"]) for rec in by_reference] == [
        (second, "Second leak")
    ]
    stranger = api.call("dpo", "POST", "/api/v1/people/export", json={"email": "x@example.org"})
    assert stranger.json() == {"records": []}


def test_access_requests_are_refused_without_the_rights_permission_or_a_key(api: Api) -> None:
    """A responder may not export; neither or both of email and reference, an unknown
    field, or an unknown incident are refused naming the field; nothing is stored."""
    incident = api.report()["id"]
    imported(api, incident, [person(1)])
    before = api.events()
    cases = [
        ("responder", {"email": person(1)["email"]}, 403, "role"),
        ("dpo", {}, 422, "email"),
        ("dpo", {"email": person(1)["email"], "reference": "APP-1"}, 422, "email"),
        ("dpo", {"email": person(1)["email"], "phone": "1"}, 422, "body"),
        (
            "dpo",
            {"email": person(1)["email"], "incident_id": "00000000-0000-4000-8000-000000000000"},
            404,
            "id",
        ),
    ]
    for role, body, status, field in cases:
        r = api.call(role, "POST", "/api/v1/people/export", json=body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["field"] == field
        assert person(1)["name"] not in r.text
    assert api.events() == before


def test_correction_is_recorded_and_honours_if_match(api: Api) -> None:
    """The DPO corrects a name against the version the export showed; the export then shows
    the new name and the correction; a stale version, a change of nothing, an unknown person
    or a responder are refused and store nothing."""
    incident = api.report()["id"]
    imported(api, incident, [person(i) for i in range(3)])
    lookup = {"email": person(2)["email"]}
    [record] = api.call("dpo", "POST", "/api/v1/people/export", json=lookup).json()["records"]
    body = {
        "incident_id": incident,
        "email": person(2)["email"],
        "name": "Candidate Renamed",
        "jurisdiction": "fr",
        "reason": "rectification request R-7",
    }
    version = f'"{record["version"]}"'
    r = api.call("dpo", "POST", "/api/v1/people/correct", json=body, headers={"If-Match": version})
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == f'"{record["version"] + 1}"'
    [after] = api.call("dpo", "POST", "/api/v1/people/export", json=lookup).json()["records"]
    assert (after["data"]["name"], after["jurisdiction"]) == ("Candidate Renamed", "FR")
    assert [(c["by"], c["reason"]) for c in after["corrections"]] == [
        ("dpo", "rectification request R-7")
    ]
    before = api.events()
    refusals = [
        ("dpo", body, {"If-Match": version}, 412, "If-Match"),
        ("dpo", body, {}, 409, "correction"),
        ("dpo", {**body, "email": "nobody@example.org"}, {}, 404, "email"),
        ("dpo", {**body, "name": "New", "language": "elvish"}, {}, 422, "language"),
        ("dpo", {**body, "reason": ""}, {}, 422, "reason"),
        ("responder", {**body, "name": "Other"}, {}, 403, "role"),
    ]
    for role, payload, headers, status, field in refusals:
        r = api.call(role, "POST", "/api/v1/people/correct", json=payload, headers=headers)
        assert r.status_code == status, (payload, r.text)
        assert r.json()["field"] == field
    assert api.events() == before


def test_erasure_by_email_or_reference_shreds_the_data(api: Api) -> None:
    """Erasing by incident and email erases that record; by reference every other record
    of the person (the one erased first is no longer found by it); their export then holds
    nothing, as for an address never held; the counts still show the erasures."""
    first, second = api.report()["id"], api.report()["id"]
    imported(api, first, [person(i) for i in range(3)])
    imported(api, second, [person(1), person(2)])
    one = api.call(
        "dpo",
        "POST",
        "/api/v1/people/erase",
        json={"incident_id": first, "email": person(1)["email"], "reason": "erasure E-1"},
    )
    assert one.status_code == 200, one.text
    assert len(one.json()["erased"]) == 1
    rest = api.call(
        "dpo",
        "POST",
        "/api/v1/people/erase",
        json={"reference": person(1)["reference"], "reason": "erasure E-1, every incident"},
    ).json()
    assert (len(rest["erased"]), rest["already_erased"]) == (1, [])
    assert rest["erased"] != one.json()["erased"]
    records = api.call(
        "dpo", "POST", "/api/v1/people/export", json={"email": person(1)["email"]}
    ).json()["records"]
    assert records == []
    summary = api.call("auditor", "GET", f"/api/v1/incidents/{first}/people").json()
    assert summary["status"] == {"active": 2, "erased": 1}


def test_erasure_refusals_name_the_field_and_erase_nothing(api: Api) -> None:
    """Already erased (answered as for a person never held), no reason, no person named,
    an unknown reference, a stale If-Match or a responder: refused, nothing recorded, the
    data still readable."""
    incident = api.report()["id"]
    imported(api, incident, [person(1), person(2)])
    api.call(
        "dpo",
        "POST",
        "/api/v1/people/erase",
        json={"incident_id": incident, "email": person(2)["email"], "reason": "request"},
    )
    before = api.events()
    target = {"incident_id": incident, "email": person(1)["email"]}
    cases = [
        ("dpo", {"incident_id": incident, "email": person(2)["email"], "reason": "r"}, {}, 404),
        ("dpo", {**target, "reason": ""}, {}, 422),
        ("dpo", {"reason": "r"}, {}, 422),
        ("dpo", {"reference": "NO-SUCH-REF", "reason": "r"}, {}, 404),
        ("dpo", {**target, "reason": "r"}, {"If-Match": '"9"'}, 412),
        ("responder", {**target, "reason": "r"}, {}, 403),
    ]
    fields = ["email", "reason", "email", "reference", "If-Match", "role"]
    for (role, body, headers, status), field in zip(cases, fields, strict=True):
        r = api.call(role, "POST", "/api/v1/people/erase", json=body, headers=headers)
        assert r.status_code == status, (body, r.text)
        assert r.json()["field"] == field
    assert api.events() == before
    [record] = api.call(
        "dpo", "POST", "/api/v1/people/export", json={"email": person(1)["email"]}
    ).json()["records"]
    assert record["data"]["name"] == person(1)["name"]


def test_retention_run_reports_on_a_dry_run_and_erases_when_due(api: Api) -> None:
    """Without a period the run is refused; with one, a closed incident's people are not
    due before it passes; then a dry run reports and erases nothing, and the run erases."""
    incident = api.report()["id"]
    imported(api, incident, [person(i) for i in range(4)])
    api.call("responder", "POST", f"/api/v1/incidents/{incident}/close", json={"resolution": "x"})
    before = api.events()
    unset = api.call("dpo", "POST", "/api/v1/retention/run", json={"dry_run": True})
    assert unset.status_code == 422
    assert unset.json()["field"] == "BREACH_RETENTION_DAYS"
    api.rt.settings = api.rt.settings.model_copy(update={"retention_days": 30})
    early = api.call("dpo", "POST", "/api/v1/retention/run", json={"dry_run": True}).json()
    assert (early["incidents"], early["due"]) == ([], 0)
    clock = api.rt.app.core.clock
    assert isinstance(clock, ManualClock)
    clock.advance(days=31)
    dry = api.call("dpo", "POST", "/api/v1/retention/run", json={"dry_run": True}).json()
    assert (dry["dry_run"], dry["due"], dry["erased"]) == (True, 4, 0)
    assert dry["incidents"][0]["incident_id"] == incident
    assert api.call("responder", "POST", "/api/v1/retention/run").status_code == 403
    assert api.events() == before
    done = api.call("dpo", "POST", "/api/v1/retention/run").json()
    assert (done["dry_run"], done["erased"]) == (False, 4)
    summary = api.call("auditor", "GET", f"/api/v1/incidents/{incident}/people").json()
    assert summary["status"] == {"erased": 4}


def test_personal_data_stays_out_of_logs_and_urls(api: Api) -> None:
    """Importing, summarising, exporting, correcting and erasing a planted person logs no
    email, name or reference of theirs, and no URL used carries them."""
    incident = api.report()["id"]
    planted = {**person(1), **PLANTED}
    paths: list[str] = []
    with capture_logs() as logs:
        imported(api, incident, [person(0), planted])
        paths.append(f"/api/v1/incidents/{incident}/people")
        for path, body in (
            ("/api/v1/people/export", {"email": PLANTED["email"]}),
            (
                "/api/v1/people/correct",
                {
                    "incident_id": incident,
                    "email": PLANTED["email"],
                    "name": PLANTED["name"] + " Jr",
                    "reason": "rectification",
                },
            ),
            ("/api/v1/people/erase", {"reference": PLANTED["reference"], "reason": "erasure"}),
        ):
            r = api.call("dpo", "POST", path, json=body)
            assert r.status_code == 200, r.text
            paths.append(path)
        api.call("auditor", "GET", f"/api/v1/incidents/{incident}/people")
    assert any(line["event"] == "people.imported" for line in logs)
    assert any(line["event"] == "person.erased" for line in logs)
    text = json.dumps(logs, default=str) + " ".join(paths)
    for value in PLANTED.values():
        assert value not in text


def test_an_upload_waits_in_the_data_directory_and_is_removed_after_its_import(
    api: Api,
) -> None:
    """The uploaded file is imported from a private folder of <data_dir>/uploads (0700,
    the file 0600), and the folder is gone once the answer is sent."""
    incident = api.report()["id"]
    seen: list[tuple[Path, int, int]] = []
    real = api.rt.app.people.import_people

    def watched(incident_id: Any, path: Path, *args: Any, **kwargs: Any) -> Any:
        seen.append((path, path.parent.stat().st_mode & 0o777, path.stat().st_mode & 0o777))
        return real(incident_id, path, *args, **kwargs)

    api.rt.app.people.import_people = watched  # type: ignore[method-assign]
    rows = [person(i) for i in range(3)]
    rows.append({**person(9), "language": "elvish"})
    report = imported(api, incident, rows)
    assert (report["imported"], report["rejected"]) == (3, 1)
    [(path, folder_mode, file_mode)] = seen
    assert path.parent.parent == api.data_dir / "uploads"
    assert (folder_mode, file_mode) == (0o700, 0o600)
    assert not path.parent.exists()
    assert list((api.data_dir / "uploads").iterdir()) == []


def test_an_erased_person_exports_like_a_stranger_and_leaves_the_mailbox(api: Api) -> None:
    """After erasure, POST /people/export by the address or the reference answers exactly
    as for ones never held; erasing again answers as for a stranger; the mailbox neither
    lists nor shows the message they were sent."""
    incident = api.report()["id"]
    imported(api, incident, [person(0), {**person(1), **PLANTED}])
    body = {"audience": "people", "nature": "n", "consequences": "c", "measures": "m"}
    body["advice"] = "a"
    campaign = api.call(
        "responder", "POST", f"/api/v1/incidents/{incident}/campaigns", json=body
    ).json()["campaign_id"]
    shown = api.call("responder", "POST", f"/api/v1/campaigns/{campaign}/preview", json={})
    api.call(
        "dpo",
        "POST",
        f"/api/v1/campaigns/{campaign}/approve",
        headers={"If-Match": shown.headers["ETag"]},
    )
    assert api.call("responder", "POST", f"/api/v1/campaigns/{campaign}/send").status_code == 202
    box = api.rt.mailbox()
    server = CaptureServer(box).start()
    try:
        target = SmtpTarget("127.0.0.1", server.port)
        report = asyncio.run(api.rt.dispatcher(target, MailboxCheck(box)).run())
    finally:
        server.stop()
        box.close()
    assert report.sent == 2
    [record] = api.call(
        "dpo", "POST", "/api/v1/people/export", json={"email": PLANTED["email"]}
    ).json()["records"]
    [notice] = record["notices"]
    ref = quote(notice["message_id"], safe="")
    assert api.call("dpo", "GET", f"/api/v1/mailbox/{ref}").status_code == 200
    erased = api.call(
        "dpo",
        "POST",
        "/api/v1/people/erase",
        json={"incident_id": incident, "email": PLANTED["email"], "reason": "erasure E-9"},
    )
    assert erased.status_code == 200, erased.text
    for theirs, nobody in (
        ({"email": PLANTED["email"]}, {"email": "never.held@planted.example.net"}),
        ({"reference": PLANTED["reference"]}, {"reference": "NEVER-HELD-1"}),
        (
            {"email": PLANTED["email"], "incident_id": incident},
            {"email": "never.held@planted.example.net", "incident_id": incident},
        ),
    ):
        a = api.call("dpo", "POST", "/api/v1/people/export", json=theirs)
        b = api.call("dpo", "POST", "/api/v1/people/export", json=nobody)
        assert (a.status_code, a.json()) == (b.status_code, b.json())
    again = api.call(
        "dpo",
        "POST",
        "/api/v1/people/erase",
        json={"incident_id": incident, "email": PLANTED["email"], "reason": "again"},
    )
    never = api.call(
        "dpo",
        "POST",
        "/api/v1/people/erase",
        json={"incident_id": incident, "email": "never.held@planted.example.net", "reason": "r"},
    )
    assert (again.status_code, again.json()["detail"]) == (
        never.status_code,
        never.json()["detail"],
    )
    listed = api.call("dpo", "GET", "/api/v1/mailbox").json()
    assert listed["count"] == 1
    assert notice["message_id"] not in [m["message_id"] for m in listed["items"]]
    gone = api.call("dpo", "GET", f"/api/v1/mailbox/{ref}")
    assert (gone.status_code, gone.json()["field"]) == (404, "message_id")
    assert PLANTED["name"] not in api.call("dpo", "GET", "/api/v1/mailbox").text
