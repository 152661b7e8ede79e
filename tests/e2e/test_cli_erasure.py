"""Erasure through the console script on the embedded default: after a real session (import,
notices through the local capture server, erasure), no file of the data directory holds the
person's data or lookup, the mailbox lost their message, and their export is a stranger's."""

from __future__ import annotations

import base64
from pathlib import Path

from services.vault.sealing import Lookups
from tests.e2e.conftest import Cli
from tests.support.people import person, write_csv

PLANTED = {
    "email": "zelda.quintana-marsh@planted.example.net",
    "name": "Zelda Quintana-Marsh",
    "reference": "PLANTED-REF-4471",
}


def stored_bytes(data_dir: Path) -> bytes:
    """Every byte of every file under the data directory (WAL and journal files too)."""
    return b"".join(p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file())


def test_an_erased_person_leaves_nothing_and_exports_like_a_stranger(
    cli: Cli, tmp_path: Path
) -> None:
    """Import, notify through the capture server, erase: the email, name, reference and the
    email's keyed lookup are in no file; mailbox list and show no longer have the message;
    `people export` answers exactly as for an address never held."""
    incident = cli.ok("report", "--title", "CV leak", "--discovered-at", "now").out.strip()
    rows = [person(0), {**person(1), **PLANTED}, person(2)]
    cli.ok("people", "import", incident[:8], str(write_csv(tmp_path / "people.csv", rows)))
    cli.send_people_campaign(incident[:8], tmp_path)
    [record] = cli.ok("people", "export", PLANTED["email"], "--json").json()["records"]
    [notice] = record["notices"]
    message_id = notice["message_id"]
    assert cli.ok("mailbox", "--json").json()["count"] == 3
    assert PLANTED["name"] in cli.ok("mailbox", "show", message_id).out
    secret = base64.b64decode((cli.data_dir / "secrets" / "lookup.key").read_text().strip())
    lookup = Lookups(secret).email(PLANTED["email"])
    assert lookup.encode() in stored_bytes(cli.data_dir)
    erased = cli.ok(
        "people",
        "erase",
        "--incident",
        incident[:8],
        "--email",
        PLANTED["email"],
        "--reason",
        "erasure request ER-19",
    )
    assert erased.out.startswith("erased person ")
    everything = stored_bytes(cli.data_dir)
    for planted in (*PLANTED.values(), lookup):
        assert planted.encode() not in everything, planted
    box = cli.ok("mailbox", "--json").json()
    assert box["count"] == 2
    assert message_id not in [m["message_id"] for m in box["messages"]]
    shown = cli("mailbox", "show", message_id)
    assert (shown.code, shown.out) == (2, "")
    stranger = "never.held@planted.example.net"
    for args in ([], ["--json"]):
        theirs = cli("people", "export", PLANTED["email"], *args)
        nobody = cli("people", "export", stranger, *args)
        assert (theirs.code, theirs.out, theirs.err) == (nobody.code, nobody.out, nobody.err)
    again = cli(
        "people", "erase", "--incident", incident[:8], "--email", PLANTED["email"], "--reason", "r"
    )
    never = cli("people", "erase", "--incident", incident[:8], "--email", stranger, "--reason", "r")
    assert (again.code, again.err) == (never.code, never.err)
    summary = cli.ok("people", "list", incident[:8], "--json").json()
    assert summary["status"] == {"active": 2, "erased": 1}
