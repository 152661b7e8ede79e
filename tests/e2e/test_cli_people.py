"""People through the console script, and the scan for planted personal data in every log
line and stored byte."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import Cli
from tests.support.people import person, write_csv
from tests.support.store import count_events

PLANTED = {
    "email": "zelda.quintana-marsh@planted.example.net",
    "name": "Zelda Quintana-Marsh",
    "reference": "PLANTED-REF-4471",
}


def test_import_export_correct_and_erase_through_the_cli(cli: Cli, tmp_path: Path) -> None:
    """A realistic round: import with a progress bar, summary, access export, erase; after
    the erasure nothing is held about the address and the reference finds nobody."""
    incident = cli.ok("report", "--title", "CV leak", "--discovered-at", "now").out.strip()
    rows = [person(i) for i in range(30)]
    rows.append({**person(99), "language": "elvish"})
    path = write_csv(tmp_path / "people.csv", rows)
    result = cli.ok("people", "import", incident[:8], str(path), "--json").json()
    assert (result["imported"], result["rejected"]) == (30, 1)
    assert Path(result["rejections_file"]).read_text().splitlines()[1] == (
        "31,language,is not a known language code"
    )
    summary = cli.ok("people", "list", incident[:8], "--json").json()
    assert summary["total"] == 30
    exported = cli.ok("people", "export", person(3)["email"], "--json").json()["records"]
    assert exported[0]["data"]["name"] == person(3)["name"]
    cli.ok(
        "people",
        "correct",
        "--incident",
        incident[:8],
        "--email",
        person(3)["email"],
        "--name",
        "Candidate Renamed",
        "--reason",
        "rectification request",
    )
    cli.ok("people", "erase", "--reference", person(3)["reference"], "--reason", "erasure R-1")
    after = cli.ok("people", "export", person(3)["email"], "--json").json()["records"]
    assert after == []
    assert "Nothing is held" in cli.ok("people", "export", person(3)["email"]).out
    assert "Nothing is held" in cli.ok("people", "export", "stranger@example.org").out
    again = cli("people", "erase", "--reference", person(3)["reference"], "--reason", "twice")
    assert again.code == 2
    assert "reference: no person has this reference" in again.err


def test_bad_people_input_is_refused_with_the_field(in_process_cli: Cli, tmp_path: Path) -> None:
    """Missing email column, unknown file type, no retention configured: exit 2, nothing
    stored."""
    cli = in_process_cli
    incident = cli.ok("report", "--title", "x", "--discovered-at", "now").out.strip()
    before = count_events(cli.data_dir)
    bad = tmp_path / "p.csv"
    bad.write_text("name,language,jurisdiction\nAnn,en,DE\n", encoding="utf-8")
    xlsx = tmp_path / "p.xlsx"
    xlsx.write_bytes(b"PK")
    for args, text in (
        (["people", "import", incident[:8], str(bad)], "file: the header lacks the column"),
        (["people", "import", incident[:8], str(xlsx)], "use .csv or .jsonl"),
        (["retention", "run"], "BREACH_RETENTION_DAYS: no retention period is configured"),
        (["people", "erase", "--reason", "r"], "person: give --incident and --email"),
    ):
        result = cli(*args)
        assert result.code == 2, result.err
        assert text in result.err
    assert count_events(cli.data_dir) == before


def test_planted_personal_data_never_reaches_logs_or_stored_bytes(cli: Cli, tmp_path: Path) -> None:
    """Import, work the incident, fail a row, erase: every log line (debug level, JSON) and
    every stored byte is free of the planted email, name and reference."""
    cli.env["BREACH_LOG_LEVEL"] = "debug"
    cli.env["BREACH_LOG_FORMAT"] = "json"
    logs: list[str] = []

    def run(*args: str) -> str:
        result = cli.ok(*args)
        logs.extend(result.err.splitlines())
        return result.out

    incident = run(
        "report",
        "--title",
        "Careers portal leak",
        "--type",
        "web_application_exfiltration",
        "--discovered-at",
        "now",
    ).strip()
    planted = {**person(1), **PLANTED}
    broken = {
        **person(2),
        "email": PLANTED["name"] + " at planted dot net",
        "name": PLANTED["name"],
    }
    path = write_csv(tmp_path / "people.csv", [person(0), planted, broken])
    run("people", "import", incident[:8], str(path))
    run("triage", incident[:8], "--severity", "high", "--breach", "yes")
    run("note", incident[:8], "Customer support briefed")
    run("tasks", incident[:8])
    run("people", "list", incident[:8])
    run(
        "people",
        "erase",
        "--incident",
        incident[:8],
        "--email",
        PLANTED["email"],
        "--reason",
        "erasure request",
    )
    json_lines = [json.loads(line) for line in logs if line.startswith("{")]
    assert any(line["event"] == "people.imported" for line in json_lines)
    assert any(line["event"] == "person.erased" for line in json_lines)
    text = "\n".join(logs)
    stored = b"".join(p.read_bytes() for p in sorted(cli.data_dir.rglob("*")) if p.is_file())
    rejections = (tmp_path / "people.csv.rejected.csv").read_text(encoding="utf-8")
    for value in PLANTED.values():
        assert value not in text
        assert value.encode() not in stored
        assert value not in rejections
