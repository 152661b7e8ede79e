"""Importing affected people from the incident page: counts and rejected rows shown, nobody
added twice, refusals that name the field and store nothing, and who may import."""

from __future__ import annotations

from pathlib import Path

from tests.support.people import person, write_csv, write_jsonl
from tests.web.conftest import Web, dashboard, settings_for


def _left_uploads(web: Web) -> list[Path]:
    """What uploads left in the data directory's upload area."""
    area = web.data_dir / "uploads"
    return list(area.iterdir()) if area.exists() else []


def _upload(path: Path) -> dict[str, tuple[str, bytes, str]]:
    """The multipart files of a form posting ``path`` as its ``file`` field."""
    return {"file": (path.name, path.read_bytes(), "application/octet-stream")}


def test_a_csv_upload_imports_the_people_and_lists_rejected_rows_without_values(
    web: Web, tmp_path: Path
) -> None:
    """Ten rows, one with a bad address: nine people on record, the page says so and names
    the bad row's number and field but not its value; the same file again adds nobody."""
    incident = web.report()
    rows = [person(i) for i in range(10)]
    rows[3]["email"] = "not-an-address-planted"
    people = write_csv(tmp_path / "people.csv", rows)
    browser = web.sign_in("responder")
    browser.get(f"/incidents/{incident}")
    before = web.events()
    first = browser.post(f"/incidents/{incident}/people", files=_upload(people))
    assert first.status_code == 200, first.text
    assert "People file read: 10 rows; 9 imported, 0 already on record, 1 rejected." in first.text
    assert "9 on record" in first.text
    assert "<td>4</td><td>email</td>" in first.text  # the fourth person
    assert "not-an-address-planted" not in first.text
    assert "candidate0@" not in first.text
    stored = web.events()
    assert stored > before
    again = browser.post(f"/incidents/{incident}/people", files=_upload(people))
    assert "0 imported, 9 already on record, 1 rejected" in again.text
    assert web.events() == stored
    assert _left_uploads(web) == []


def test_a_json_lines_upload_is_imported_too(web: Web, tmp_path: Path) -> None:
    """A .jsonl file is read as JSON Lines."""
    incident = web.report()
    people = write_jsonl(tmp_path / "people.jsonl", [person(i) for i in range(3)])
    browser = web.sign_in("dpo")
    browser.get(f"/incidents/{incident}")
    answer = browser.post(f"/incidents/{incident}/people", files=_upload(people))
    assert "3 imported" in answer.text


def test_no_file_or_another_kind_of_file_is_refused_and_nothing_is_stored(
    web: Web, tmp_path: Path
) -> None:
    """Without a file, or with a .xlsx, the page answers 422 naming the file field, and the
    store holds the same events."""
    incident = web.report()
    browser = web.sign_in("responder")
    browser.get(f"/incidents/{incident}")
    before = web.events()
    missing = browser.post(f"/incidents/{incident}/people", data={"x": "y"})
    assert missing.status_code == 422
    assert "file: choose a CSV or JSON Lines file" in missing.text
    sheet = tmp_path / "people.xlsx"
    sheet.write_bytes(b"PK\x03\x04")
    wrong = browser.post(f"/incidents/{incident}/people", files=_upload(sheet))
    assert wrong.status_code == 422
    assert "file: the file must be CSV" in wrong.text
    assert web.events() == before
    assert _left_uploads(web) == []


def test_rejected_rows_and_refused_files_never_show_what_the_file_held(
    web: Web, tmp_path: Path
) -> None:
    """Rows with a bad address, a badly named attribute column or a faked reading error, and
    a file whose columns repeat: the page names rows and fields but never the file's text."""
    mark = "Zqx7Mark"
    incident = web.report()
    browser = web.sign_in("responder")
    browser.get(f"/incidents/{incident}")
    rows = [
        {**person(0), "email": f"bob@bob\u0640{mark}-domain"},
        {**person(1), f"{mark} column": "x"},
        person(2),
    ]
    people = write_csv(tmp_path / "people.csv", rows, columns=[*person(0), f"{mark} column"])
    page = browser.post(f"/incidents/{incident}/people", files=_upload(people))
    assert page.status_code == 200, page.text
    assert "1 imported" in page.text
    assert "<td>1</td><td>email</td>" in page.text
    assert "<td>2</td><td>attributes</td>" in page.text
    assert mark.lower() not in page.text.lower()
    lines = write_jsonl(tmp_path / "people.jsonl", [{**person(3), "__error__": mark}])
    page = browser.post(f"/incidents/{incident}/people", files=_upload(lines))
    assert "<td>1</td><td>attributes</td>" in page.text
    assert mark.lower() not in page.text.lower()
    before = web.events()
    twice = tmp_path / "twice.csv"
    twice.write_text(
        f"email,name,language,jurisdiction,{mark},{mark}\nann@example.org,Ann,en,DE,1,2\n",
        encoding="utf-8",
    )
    page = browser.post(f"/incidents/{incident}/people", files=_upload(twice))
    assert page.status_code == 422
    assert "file: " in page.text
    assert mark.lower() not in page.text.lower()
    assert web.events() == before


def test_only_importers_see_the_form_and_may_post_it(web: Web, tmp_path: Path) -> None:
    """An auditor sees the counts but no form, and a post of theirs is refused (403) with
    nothing stored; a form without the session's CSRF token is refused too."""
    incident = web.report()
    people = write_csv(tmp_path / "people.csv", [person(0)])
    auditor = web.sign_in("auditor")
    page = auditor.get(f"/incidents/{incident}")
    assert "Affected people" in page.text
    assert 'id="people-form"' not in page.text
    before = web.events()
    refused = auditor.post(f"/incidents/{incident}/people", files=_upload(people))
    assert refused.status_code == 403
    responder = web.sign_in("responder")
    assert 'id="people-form"' in responder.get(f"/incidents/{incident}").text
    forged = responder.post(
        f"/incidents/{incident}/people", data={"csrf": "forged"}, files=_upload(people)
    )
    assert forged.status_code == 403
    assert web.events() == before


def _padded(path: Path, size: int) -> Path:
    """A people file of at least ``size`` bytes (a long attribute on each row)."""
    rows = []
    i = 0
    while sum(len(str(r)) for r in rows) < size:
        rows.append({**person(i), "notes": "n" * 400})
        i += 1
    return write_csv(path, rows)


def test_only_an_importer_may_send_a_people_file_over_the_general_limit(tmp_path: Path) -> None:
    """With a general body limit of 64 KiB: a responder's 80 KiB people file is imported;
    the same upload from a reporter (no people.import) is refused 413 by the general limit,
    and without a session it is refused 413 by the anonymous limit, both before the form is
    read; nothing is stored by either."""
    settings = settings_for(tmp_path / "var").model_copy(
        update={"http_max_body": 64 * 1024, "http_max_anonymous_body": 8 * 1024}
    )
    with dashboard(settings) as web:
        incident = web.report()
        people = _padded(tmp_path / "people.csv", 80 * 1024)
        before = web.events()
        reporter = web.sign_in("reporter")
        refused = reporter.post(f"/incidents/{incident}/people", files=_upload(people))
        assert refused.status_code == 413
        assert "limit of 65536 bytes" in refused.json()["detail"]
        anonymous = web.client().post(f"/incidents/{incident}/people", files=_upload(people))
        assert anonymous.status_code == 413
        assert "limit of 8192 bytes" in anonymous.json()["detail"]
        assert web.events() == before
        responder = web.sign_in("responder")
        responder.get(f"/incidents/{incident}")
        imported = responder.post(f"/incidents/{incident}/people", files=_upload(people))
        assert imported.status_code == 200, imported.text
        assert " imported, 0 already on record, 0 rejected." in imported.text


def test_a_form_without_a_session_is_not_read(web: Web) -> None:
    """A form posted without a session is sent to the sign-in page before its body is
    parsed: even a malformed multipart body gets the redirect, not a parsing error."""
    incident = web.report()
    client = web.client()
    for path in (f"/incidents/{incident}/people", f"/incidents/{incident}/note", "/users"):
        answer = client.post(
            path,
            content=b"--b\r\nnot a part",
            headers={"Content-Type": "multipart/form-data; boundary=b"},
            follow_redirects=False,
        )
        assert answer.status_code == 303, (path, answer.status_code)
        assert answer.headers["location"].startswith("/login")
