"""What a notice's record keeps of the mail server's replies: the codes, never the person.

A real SMTP server in its own process echoes each recipient's address and name in its 250,
451 and 550 replies (as real servers do); a real campaign is imported, drafted, approved by
another user holding the DPO role, and dispatched. Nothing of the recipients' addresses or
names may then be found in the stored bytes, the views, or the auditor's bundle.
"""

from __future__ import annotations

import asyncio
import json
import unicodedata
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from services.application.context import RequestContext
from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from services.notifications.dispatcher import RunReport
from services.operations import audit as service
from services.smtp_target import SmtpTarget
from tests.support.campaigns import start_people_campaign
from tests.support.people import write_csv
from tests.support.reports import report_input
from tests.support.smtp import smtp_sink
from tests.support.store import RawStore, Store

PEOPLE = [
    {"email": "ovq5521@mail.example.net", "name": "Oriel Vantasque"},
    {"email": "tbrumwell.x@mail.example.net", "name": "Thaddeus Brumwell"},
    {"email": "ikarnavik@mail.example.net", "name": "Isolde Karnavik"},
    {"email": "sorflint@mail.example.net", "name": "Søren Flintholm"},
]
GREYLISTED, REFUSED = PEOPLE[1]["email"], PEOPLE[2]["email"]


@pytest.fixture
def settings(store: Store, data_dir: Path) -> Settings:
    return store.settings(
        data_dir, smtp_backoff_seconds=0.05, smtp_backoff_max_seconds=0.2, smtp_max_attempts=4
    )


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    runtime = bootstrap(settings, configure_logs=False)
    yield runtime
    runtime.close()


def secrets_of(people: list[dict[str, str]]) -> set[str]:
    """Every address, local part and name word (two letters or more) of these people, with
    the name words' unaccented forms."""
    found: set[str] = set()
    for p in people:
        found |= {p["email"], p["email"].split("@")[0]}
        for word in p["name"].split():
            plain = "".join(
                c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c)
            )
            found |= {word, plain}
    return {w for w in found if len(w) >= 2}


def leaks(blob: bytes, secrets: set[str]) -> list[str]:
    """The secrets present in ``blob`` in any case."""
    lowered = blob.lower()
    return sorted(
        s
        for s in secrets
        if any(v.encode() in blob for v in (s, s.upper(), s.title()))
        or s.lower().encode() in lowered
    )


def dispatched_campaign(rt: Runtime, tmp_path: Path, port: int) -> tuple[UUID, RunReport]:
    """Import the people, draft as alice, approve as dora (DPO role), dispatch to ``port``."""
    alice = RequestContext(actor="alice")
    rt.app.users.add_user("alice", ["responder"], RequestContext(actor="os:tests"))
    incident = rt.app.incidents.report_incident(report_input(rt.app.core.clock.now()), alice)
    rows = [{**p, "language": "en", "jurisdiction": "DE"} for p in PEOPLE]
    rt.app.people.import_people(incident.id, write_csv(tmp_path / "people.csv", rows), alice)
    rt.settle()
    start_people_campaign(rt, incident.id, alice, approver=RequestContext(actor="dora"))
    target = SmtpTarget("127.0.0.1", port)
    report = asyncio.run(rt.dispatcher(target).run(idle_grace=5))
    rt.settle()
    return incident.id, report


def recorded(raw: RawStore, kind: str) -> list[dict[str, Any]]:
    """The stored events of one notice event class, decoded."""
    return [
        json.loads(state) for _, _, _, topic, state in raw.stored() if topic.endswith(f":{kind}")
    ]


def test_replies_that_echo_the_recipient_keep_only_codes(
    rt: Runtime, settings: Settings, tmp_path: Path
) -> None:
    """250, 451 and 550 replies naming each person: the notices are sent, deferred then
    sent, and failed as before, their codes are kept, and no address, local part or name
    is anywhere in the store, the views, the notices' rows or an exported bundle."""
    names = tmp_path / "names.json"
    names.write_text(json.dumps({p["email"]: p["name"] for p in PEOPLE}))
    with smtp_sink(
        tmp_path, "--echo", str(names), "--greylist", GREYLISTED, "--fail-to", REFUSED
    ) as sink:
        incident, report = dispatched_campaign(rt, tmp_path, sink.port)
        state = sink.state()
    assert (report.sent, report.failed, report.deferred) == (3, 1, 1)
    assert state["unique"] == 3
    rows = rt.notifications.store.query("SELECT * FROM notices ORDER BY attempts")
    assert sorted((r["status"], r["attempts"]) for r in rows) == [
        ("failed", 1),
        ("sent", 1),
        ("sent", 1),
        ("sent", 2),
    ]
    failed = next(r for r in rows if r["status"] == "failed")
    assert failed["reason"].startswith("550 5.1.1 (bad destination mailbox address) ")
    assert all(r["reason"].startswith("250 2.0.0 ") for r in rows if r["status"] == "sent")
    raw = RawStore(settings)
    (deferred,) = recorded(raw, "NoticeDeferred")
    assert deferred["reason"].startswith("451 4.7.1 (delivery not authorized, message refused)")
    assert "Greylisted" in deferred["reason"]
    assert [e["reason"][:9] for e in recorded(raw, "NoticeFailed")] == ["550 5.1.1"]
    replies = [e["reply"] for e in recorded(raw, "NoticeSent")]
    assert len(replies) == 3
    assert all(r.startswith("250 2.0.0 Ok: queued as ") for r in replies)

    secrets = secrets_of(PEOPLE)
    assert leaks(json.dumps(rows, ensure_ascii=False).encode(), secrets) == []
    assert leaks(raw.everything(), secrets) == []
    bundle = tmp_path / "bundle.zip"
    service.export(rt, incident, bundle)
    with zipfile.ZipFile(bundle) as z:
        members = {name: z.read(name) for name in z.namelist()}
    assert b"NoticeSent" in members["events.jsonl"]
    for name, data in members.items():
        assert leaks(data, secrets) == [], name
