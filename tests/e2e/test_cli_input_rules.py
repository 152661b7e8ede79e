"""Input rules of the command line: refusals name the field without quoting the value, an
omitted option leaves its field as it was, and nonsense is refused with nothing stored.

The commands run through the console script's entry point in this process
(:class:`~tests.e2e.conftest.InProcessCli`): there are hundreds of them, and what is
checked is what each answers and stores, not the process around it."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import Cli, InProcessCli, Result
from tests.support.assessment import BASE_FACTS
from tests.support.people import person, write_csv, write_jsonl
from tests.support.store import count_events

MARK = "Zqx7Mark"
DISCOVERED = "2026-11-20T08:30:00Z"
CONTENT = {
    "nature": "CVs were downloaded from our careers portal.",
    "consequences": "Phishing that mentions your application.",
    "measures": "The flaw is closed; access keys were rotated.",
    "advice": "Do not answer messages asking for your password.",
    "reference": "CASE-1",
}


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return InProcessCli(tmp_path / "var")


def report(cli: Cli, *extra: str) -> str:
    """Report an incident; return its id."""
    return cli.ok(
        "report", "--title", "Stolen laptop", "--discovered-at", DISCOVERED, *extra
    ).out.strip()


def unquoted(result: Result) -> None:
    """Nothing the command printed holds the marker."""
    printed = (result.out + result.err).lower()
    assert MARK.lower() not in printed, result.err


def refused(cli: Cli, field: str, *args: str) -> Result:
    """Run a command that must be refused: exit 2, one error line naming ``field`` without
    the marker, and nothing stored."""
    cli.user(cli.actor)
    before = count_events(cli.data_dir)
    result = cli(*args)
    assert result.code == 2, (result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("breach: error: ")
    assert field in lines[0], result.err
    unquoted(result)
    assert count_events(cli.data_dir) == before
    return result


def write(path: Path, document: dict[str, Any]) -> Path:
    """Write a YAML document."""
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


# 1. Errors say what is wrong without quoting the input


def test_refusals_of_options_and_arguments_name_the_field_without_the_value(
    cli: Cli, tmp_path: Path
) -> None:
    """Bad choices, times, ids, roles, numbers, evidence, playbooks, recipients, users and
    files: each refusal names the field and never repeats what was typed."""
    incident = report(cli)
    task = cli.ok("task", "add", incident[:8], "--title", "Wipe", "--due", "now").out.strip()
    content = write(tmp_path / "content.yaml", CONTENT)
    cli.ok("users", "add", "carol", "--role", "responder")
    cases: list[tuple[str, list[str]]] = [
        ("--severity", ["triage", incident, "--severity", MARK]),
        ("--type", ["list", "--type", MARK]),
        ("--limit", ["list", "--limit", MARK]),
        ("--role", ["users", "add", "dave", "--role", MARK]),
        ("discovered_at", ["report", "--title", "x", "--discovered-at", f"{MARK}-01"]),
        ("id", ["show", MARK]),
        ("id", ["show", f"{MARK}abc"]),
        ("due_at", ["task", "due", task[:8], "--at", MARK, "--reason", "later"]),
        ("evidence", ["task", "done", task[:8], "--outcome", "wiped", "--evidence", MARK]),
        ("evidence", ["task", "done", task[:8], "--outcome", "o", "--evidence", f"url:{MARK}"]),
        ("playbook", ["playbooks", "show", MARK]),
        (
            "recipient",
            [
                "notify",
                "draft",
                incident[:8],
                "--audience",
                "authority",
                "--content",
                str(content),
                "--recipient",
                f"{MARK} without an address",
            ],
        ),
        ("username", ["users", "role", MARK, "--role", "dpo"]),
        ("token_id", ["users", "revoke", "carol", MARK]),
        ("file", ["report", "--file", str(tmp_path / f"{MARK}.yaml")]),
        ("KIND", ["worker", MARK]),
        ("task", ["task", "start", MARK]),
        ("--clear", ["amend", incident, "--reason", "r", "--clear", MARK]),
        ("campaign", ["notify", "approve", MARK]),
    ]
    for field, args in cases:
        refused(cli, field, *args)


def test_assessment_refusals_name_the_field_without_the_code_given(
    cli: Cli, tmp_path: Path
) -> None:
    """An unknown jurisdiction code, an unknown fact name and an unknown category are
    refused naming the fact, not repeating what the file said."""
    incident = report(cli)
    for field, facts in (
        ("people_by_jurisdiction", {**BASE_FACTS, "people_by_jurisdiction": {MARK: 100}}),
        ("establishments", {**BASE_FACTS, "establishments": [MARK]}),
        ("data_categories", {**BASE_FACTS, "data_categories": [MARK]}),
        ("input", {**BASE_FACTS, MARK: True}),
    ):
        path = write(tmp_path / "facts.yaml", facts)
        refused(cli, field, "assess", incident[:8], "--file", str(path))


def test_people_imports_report_rejections_without_values_or_header_text(
    cli: Cli, tmp_path: Path
) -> None:
    """CSV and JSON Lines rows with a bad address, an attribute named with spaces, a nested
    value, a row that fakes a reading error and a repeated column: each rejected row names
    its field and reason, and neither the output nor the rejections report holds the marker."""
    incident = report(cli)
    bad_csv = write_csv(
        tmp_path / "people.csv",
        [
            {**person(0), "email": f"bob@bob\u0640{MARK}-domain"},
            {**person(1), "email": f"{MARK}.no-at-sign"},
            {**person(2), f"{MARK} column": "x"},
            person(3),
        ],
        columns=[*person(0), f"{MARK} column"],
    )
    result = cli("people", "import", incident[:8], str(bad_csv), "--json")
    assert result.code == 0, result.err
    unquoted(result)
    rows = Path(result.json()["rejections_file"]).read_text(encoding="utf-8")
    assert MARK.lower() not in rows.lower()
    assert list(csv.reader(io.StringIO(rows)))[1:] == [
        ["1", "email", "is not a valid address: the domain part (after the @-sign) is invalid"],
        ["2", "email", "is not a valid address: it has no @-sign"],
        ["3", "attributes", "field 7 has a name that is not lower-case letters, digits and _"],
    ]
    jsonl = write_jsonl(
        tmp_path / "people.jsonl",
        [
            {**person(4), "email": f"{MARK} bob@example.org"},
            {**person(5), "__error__": MARK},
            {**person(6), "position": {"level": MARK}},
            {**person(7), "name": f"{MARK}\nsecond line"},
        ],
    )
    result = cli("people", "import", incident[:8], str(jsonl), "--json")
    assert result.code == 0, result.err
    unquoted(result)
    rows = Path(result.json()["rejections_file"]).read_text(encoding="utf-8")
    assert MARK.lower() not in rows.lower()
    assert [r[:2] for r in list(csv.reader(io.StringIO(rows)))[1:]] == [
        ["1", "email"],
        ["2", "attributes"],
        ["3", "attributes"],
        ["4", "name"],
    ]
    twice = tmp_path / "twice.csv"
    twice.write_text(
        f"email,name,language,jurisdiction,{MARK},{MARK}\nann@example.org,Ann,en,DE,1,2\n",
        encoding="utf-8",
    )
    refused(cli, "file", "people", "import", incident[:8], str(twice))


def test_a_correction_with_a_bad_address_names_the_field_without_the_address(
    cli: Cli, tmp_path: Path
) -> None:
    """The email validator's own words (which quote the address) never reach the user."""
    incident = report(cli)
    cli.ok("people", "import", incident[:8], str(write_csv(tmp_path / "p.csv", [person(0)])))
    result = refused(
        cli,
        "email",
        "people",
        "correct",
        "--incident",
        incident[:8],
        "--email",
        person(0)["email"],
        "--new-email",
        f"bob@bob\u0640{MARK}-domain",
        "--reason",
        "rectification",
    )
    assert result.err.strip() == (
        "breach: error: email: is not a valid address: "
        "the domain part (after the @-sign) is invalid"
    )


# 2. Omitted means unchanged


def test_triage_changes_only_the_fields_given(cli: Cli) -> None:
    """A confirmed breach stays confirmed when only the severity is raised, and the severity
    stays when only the determination changes; nothing at all, or nothing new, is refused."""
    incident = report(cli)
    refused(cli, "severity", "triage", incident, "--breach", "yes")
    cli.ok("triage", incident, "--severity", "high", "--breach", "yes", "--type", "ransomware")
    cli.ok("triage", incident, "--severity", "very_high")
    shown = cli.ok("show", incident, "--json").json()
    assert (shown["severity"], shown["personal_data_breach"], shown["incident_type"]) == (
        "very_high",
        "yes",
        "ransomware",
    )
    cli.ok("triage", incident, "--breach", "no")
    shown = cli.ok("show", incident, "--json").json()
    assert (shown["severity"], shown["personal_data_breach"], shown["incident_type"]) == (
        "very_high",
        "no",
        "ransomware",
    )
    refused(cli, "triage", "triage", incident)
    refused(cli, "triage", "triage", incident, "--severity", "very_high")


def test_amend_changes_only_the_facts_given(cli: Cli) -> None:
    """A corrected title leaves the description and every moment as they were."""
    incident = report(cli, "--description", "Left on a train", "--occurred-at", "2026-11-19T20:00Z")
    cli.ok(
        "amend",
        incident,
        "--reason",
        "ticket",
        "--aware-at",
        "2026-11-20T10:00Z",
        "--determined-at",
        "2026-11-20T11:00Z",
    )
    before = cli.ok("show", incident, "--json").json()
    cli.ok("amend", incident, "--reason", "typo", "--title", "Stolen work laptop")
    after = cli.ok("show", incident, "--json").json()
    assert after["title"] == "Stolen work laptop"
    for name in ("description", "occurred_at", "discovered_at", "aware_at", "determined_at"):
        assert after[name] == before[name], name


def test_a_person_correction_changes_only_the_fields_given(cli: Cli, tmp_path: Path) -> None:
    """Correcting the name keeps the address, reference, language, jurisdiction and
    attributes."""
    incident = report(cli)
    cli.ok("people", "import", incident[:8], str(write_csv(tmp_path / "p.csv", [person(1)])))
    common = ["--incident", incident[:8], "--email", person(1)["email"]]
    cli.ok(
        "people",
        "correct",
        *common,
        "--language",
        "fr",
        "--jurisdiction",
        "FR",
        "--reference",
        "APP-NEW",
        "--reason",
        "all",
    )
    cli.ok("people", "correct", *common, "--name", "Renamed Person", "--reason", "name")
    [record] = cli.ok("people", "export", person(1)["email"], "--json").json()["records"]
    assert record["data"] == {
        "email": person(1)["email"],
        "name": "Renamed Person",
        "reference": "APP-NEW",
        "attributes": {"position": "Backend engineer"},
    }
    assert (record["language"], record["jurisdiction"]) == ("fr", "FR")


def test_a_redraft_changes_only_the_content_given(cli: Cli, tmp_path: Path) -> None:
    """Redrafting with a new nature alone keeps the other content and the recipients."""
    incident = report(cli)
    content = write(tmp_path / "content.yaml", CONTENT)
    campaign = cli.ok(
        "notify",
        "draft",
        incident[:8],
        "--audience",
        "authority",
        "--content",
        str(content),
        "--recipient",
        "Data Protection Authority <breach@dpa.example> de",
    ).out.strip()
    nature = write(tmp_path / "nature.yaml", {"nature": "Only the nature changes."})
    cli.ok("notify", "draft", incident[:8], "--campaign", campaign[:8], "--content", str(nature))
    status = cli.ok(
        "notify",
        "draft",
        incident[:8],
        "--campaign",
        campaign[:8],
        "--content",
        str(write(tmp_path / "advice.yaml", {"advice": "New advice."})),
        "--json",
    )
    doc = status.json()
    assert doc["content"]["nature"] == "Only the nature changes."
    assert doc["content"]["advice"] == "New advice."
    for name in ("consequences", "measures", "reference"):
        assert doc["content"][name] == CONTENT[name], name
    assert doc["recipients"] == [
        {"name": "Data Protection Authority", "email": "breach@dpa.example", "language": "de"}
    ]
    refused(
        cli,
        "audience",
        "notify",
        "draft",
        incident[:8],
        "--campaign",
        campaign[:8],
        "--audience",
        "customer",
        "--content",
        str(nature),
    )


def test_task_changes_keep_the_other_fields(cli: Cli) -> None:
    """Assigning keeps the due time and priority; moving the due time keeps the owner."""
    incident = report(cli)
    task = cli.ok(
        "task",
        "add",
        incident[:8],
        "--title",
        "Wipe",
        "--due",
        "2099-12-01T10:00Z",
        "--owner",
        "bob",
        "--priority",
        "high",
    ).out.strip()
    cli.ok("task", "assign", task[:8], "carol")
    cli.ok("task", "due", task[:8], "--at", "2099-12-02T10:00Z", "--reason", "waiting")
    rows = cli.ok("tasks", incident[:8], "--json").json()
    [row] = [r for r in rows if r["task_id"] == task]
    assert (row["owner"], row["priority"], row["due_at"][:16]) == (
        "carol",
        "high",
        "2099-12-02T10:00",
    )


# 3. Nonsense is refused, naming the field, with nothing recorded


@pytest.mark.parametrize(
    ("field", "args"),
    [
        ("title", ["report", "--title", "Two\nlines", "--discovered-at", DISCOVERED]),
        ("title", ["report", "--title", "Carriage\rreturn", "--discovered-at", DISCOVERED]),
        ("reporter", ["report", "--title", "x", "--reporter", "a\x1bb", "--discovered-at", "now"]),
        ("discovered_at", ["report", "--title", "x", "--discovered-at", "0001-01-01T00:00:00Z"]),
        (
            "occurred_at",
            [
                "report",
                "--title",
                "x",
                "--discovered-at",
                "now",
                "--occurred-at",
                "1969-12-31T23:59Z",
            ],
        ),
        ("text", ["note", "{id}", "bell\x07inside"]),
        ("reason", ["amend", "{id}", "--title", "New", "--reason", "why\nnot"]),
        ("resolution", ["close", "{id}", "--resolution", "done\r\nreally"]),
        ("title", ["task", "add", "{id}", "--title", "\x1b[31mred", "--due", "now"]),
        ("name", ["users", "token", "alice", "--name", "ci\nbuild"]),
        ("--limit", ["list", "--limit", str(10**30)]),
        ("--limit", ["mailbox", "--limit", str(2**63)]),
        ("reason", ["users", "disable", "alice", "--reason", "left\x1b"]),
    ],
)
def test_control_characters_are_refused_with_nothing_stored(
    cli: Cli, field: str, args: list[str]
) -> None:
    """Line breaks in single-line fields and control characters anywhere: exit 2 naming the
    field, and the store holds the same events."""
    incident = report(cli) if "{id}" in args else ""
    if args[0] == "users":
        cli.ok("users", "add", "root", "--role", "admin")
    refused(cli, field, *(a.replace("{id}", incident) for a in args))


def test_nul_in_a_description_from_a_file_is_refused(cli: Cli, tmp_path: Path) -> None:
    """NUL is refused in multi-line text too, while tabs and line breaks stay allowed."""
    document = {"title": "x", "discovered_at": DISCOVERED, "description": "a\x00b"}
    path = tmp_path / "report.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    refused(cli, "description", "report", "--file", str(path))
    document["description"] = "line one\n\tindented line two"
    path.write_text(json.dumps(document), encoding="utf-8")
    incident = cli.ok("report", "--file", str(path)).out.strip()
    shown = cli.ok("show", incident, "--json").json()
    assert shown["description"] == "line one\n\tindented line two"


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("people.count", {"people": {"count": 10**29}}),
        ("records.count", {"records": {"count": 10**40}}),
        (
            "people_by_jurisdiction.DE",
            {"people": {"count": 100}, "people_by_jurisdiction": {"DE": 10**40}},
        ),
        ("direct_loss_cny", {"direct_loss_cny": 10**30}),
        ("time_to_restore_hours", {"time_to_restore_hours": 1e300}),
        ("summary", {"summary": "one\ntwo"}),
        ("assessed_notifiable_at", {"assessed_notifiable_at": "0001-01-01T00:00:00Z"}),
    ],
)
def test_implausible_assessment_facts_are_refused_with_the_bound(
    cli: Cli, tmp_path: Path, field: str, change: dict[str, Any]
) -> None:
    """Counts beyond 10,000,000,000 (and other implausible facts) are refused naming the
    fact; nothing is stored."""
    incident = report(cli)
    path = tmp_path / "facts.json"
    path.write_text(json.dumps({**BASE_FACTS, **change}), encoding="utf-8")
    result = refused(cli, field, "assess", incident[:8], "--file", str(path))
    if field.endswith("count") or field.startswith("people_by"):
        assert "at most 10,000,000,000" in result.err
