"""No personal datum outlives its erasure anywhere we keep bytes: plant two people, take
them through everything the ledger does (an upload through the API, an assessment, a
campaign through a relay that echoes their addresses and names in its 250, 451 and 550
replies, an auditor's bundle), erase them, then read every byte under the data directory,
the logs, the bundle and the temporary folder, as an intruder holding all of them would."""

from __future__ import annotations

import base64
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
import yaml

from services.vault.sealing import Lookups
from tests.e2e.conftest import Cli
from tests.support.facts import PORTAL_LEAK
from tests.support.people import person, write_csv
from tests.support.server import running_server
from tests.support.smtp import smtp_sink

PLANTED = [
    {
        "email": "zofia.quillfeather@plant.example.net",
        "name": "Zofia Quillfeather",
        "reference": "HR-PLANTED-7731",
        "language": "en",
        "jurisdiction": "DE",
    },
    {
        "email": "ignatius.brackenbury@plant.example.net",
        "name": "Ignatius Brackenbury",
        "reference": "HR-PLANTED-9402",
        "language": "de",
        "jurisdiction": "DE",
    },
]
GREYLISTED, REFUSED = PLANTED[0]["email"], PLANTED[1]["email"]
CONTENT = {
    "nature": "Personnel files were readable by an unknown party.",
    "consequences": "Your contact details may be misused for phishing.",
    "measures": "The share is closed and access keys were rotated.",
    "advice": "Do not answer messages asking for your password.",
}


def needles(data_dir: Path) -> dict[str, bytes]:
    """What must not be found: each planted address, its local part, each word of each name,
    each reference, and the keyed lookup of each address (which would confirm it)."""
    lookups = Lookups(_lookup_secret(data_dir))
    found: dict[str, bytes] = {}
    for p in PLANTED:
        found[p["email"]] = p["email"].encode()
        found[p["email"].split("@")[0]] = p["email"].split("@")[0].encode()
        for word in p["name"].split():
            found[word] = word.encode()
        found[p["reference"]] = p["reference"].encode()
        found[f"lookup of {p['email']}"] = lookups.email(p["email"]).encode()
        found[f"lookup of {p['reference']}"] = lookups.reference(p["reference"]).encode()
    return found


def _lookup_secret(data_dir: Path) -> bytes:
    return base64.b64decode((data_dir / "secrets" / "lookup.key").read_bytes().strip())


def every_byte(*places: Path) -> dict[str, bytes]:
    """Every file under ``places`` (zip members opened too), by path."""
    out: dict[str, bytes] = {}
    for place in places:
        files = [place] if place.is_file() else [f for f in place.rglob("*") if f.is_file()]
        for f in files:
            data = f.read_bytes()
            out[str(f)] = data
            if zipfile.is_zipfile(f):
                with zipfile.ZipFile(f) as z:
                    for member in z.namelist():
                        out[f"{f}!{member}"] = z.read(member)
    return out


def _wait_for(check: Any, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError("timed out")


def test_nothing_of_an_erased_person_is_left_in_any_byte_we_keep(tmp_path: Path) -> None:
    """After import (uploaded through the API), assessment, a campaign through an echoing
    relay, a bundle export and erasure: 0 hits for every planted datum and lookup in the
    data directory, the server's and the commands' logs, the bundle and the temp folder."""
    data_dir, temp, logs = tmp_path / "var", tmp_path / "tmp", tmp_path / "logs"
    temp.mkdir()
    logs.mkdir()
    names = tmp_path / "names.json"
    names.write_text(json.dumps({p["email"]: p["name"] for p in PLANTED}))
    cli = Cli(data_dir, actor="resp")
    env = {
        "TMPDIR": str(temp),
        "BREACH_LOG_FORMAT": "json",
        "BREACH_LOG_LEVEL": "debug",
        "BREACH_PASSWORD_HASH_MEMORY_KIB": "64",
        "BREACH_SMTP_BACKOFF_SECONDS": "0.2",
        "BREACH_SMTP_BACKOFF_MAX_SECONDS": "0.5",
    }
    cli.env.update(env)
    cli.user("resp", "responder")
    cli.user("dana", "dpo")
    command_log: list[str] = []

    def run(*args: str, actor: str = "resp") -> str:
        result = cli.ok("-v", *args, actor=actor)
        command_log.append(result.err)
        return result.out

    with smtp_sink(
        tmp_path, "--echo", str(names), "--greylist", GREYLISTED, "--fail-to", REFUSED
    ) as sink:
        server_env = {**env, "BREACH_SMTP_URL": f"smtp://127.0.0.1:{sink.port}"}
        with running_server(data_dir, env=server_env, log=logs / "serve.log") as server:
            api = httpx.Client(
                base_url=f"{server.url}/api/v1",
                headers={"Authorization": f"Bearer {cli.user('resp')}"},
                timeout=60,
            )
            incident = run("report", "--title", "HR share exposed", "--discovered-at", "now")
            incident = incident.strip()
            rows = [*PLANTED, *(person(i) for i in range(3))]
            body = write_csv(tmp_path / "people.csv", rows).read_bytes()
            uploaded = api.post(
                f"/incidents/{incident}/people",
                content=body,
                headers={"Content-Type": "text/csv"},
            )
            assert uploaded.status_code == 200, uploaded.text
            assert uploaded.json()["imported"] == 5
            facts = tmp_path / "facts.yaml"
            facts.write_text(yaml.safe_dump(PORTAL_LEAK), encoding="utf-8")
            run("assess", incident, "--file", str(facts), actor="dana")
            content = tmp_path / "content.yaml"
            content.write_text(yaml.safe_dump(CONTENT), encoding="utf-8")
            campaign = run(
                "notify", "draft", incident, "--audience", "people", "--content", str(content)
            ).strip()
            run("notify", "preview", campaign)
            run("notify", "approve", campaign, actor="dana")
            started = api.post(f"/campaigns/{campaign}/send")
            assert started.status_code == 202, started.text

            def completed() -> bool:
                doc = api.get(f"/campaigns/{campaign}").json()
                return bool(doc["status"] == "completed")

            _wait_for(completed)
            done = api.get(f"/campaigns/{campaign}").json()["progress"]
            assert (done["sent"], done["failed"]) == (4, 1), done
            bundle = tmp_path / "bundle.zip"
            run("audit", "export", incident, "--out", str(bundle), actor="dana")
            for p in PLANTED:
                erase = ("people", "erase", "--reference", p["reference"], "--reason", "asked")
                run(*erase, actor="dana")
            stranger = run("people", "export", "nobody.at.all@plant.example.net", actor="dana")
            for p in PLANTED:
                assert run("people", "export", p["email"], actor="dana") == stranger
            api.close()
    state = sink.state()
    assert state["accepted"]
    (logs / "commands.log").write_text("".join(command_log), encoding="utf-8")
    hay = every_byte(data_dir, logs, bundle, temp)
    assert any(path.endswith("events.db") for path in hay)
    hits = [
        f"{what} in {path}"
        for what, needle in needles(data_dir).items()
        for path, data in hay.items()
        if needle.lower() in data.lower()
    ]
    assert hits == []
