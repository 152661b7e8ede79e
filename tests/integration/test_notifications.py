"""Notifications against a real SMTP server in its own process: exactly once, retries,
permanent failures, crashes, escaping, approval rules, suppression and fallback."""

from __future__ import annotations

import asyncio
import email
import email.policy
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from events.notifications import CampaignStatus, NoticeStatus
from events.people import AffectedPerson
from events.users import Role
from services.application.context import RequestContext
from services.application.errors import RuleBroken
from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from services.notifications import queueing
from services.notifications.templates import NoticeTemplates
from services.smtp_target import SmtpTarget
from services.vault.sealing import PersonData
from tests.support.campaigns import CONTENT, DPO, start_people_campaign
from tests.support.identity import dpo_of, provision
from tests.support.people import person, write_csv
from tests.support.reports import report_input
from tests.support.smtp import send_and_kill, smtp_sink
from tests.support.store import RawStore, Store


@pytest.fixture
def settings(store: Store, data_dir: Path) -> Settings:
    return store.settings(
        data_dir,
        smtp_backoff_seconds=0.05,
        smtp_backoff_max_seconds=0.2,
        smtp_max_attempts=8,
        smtp_connections=4,
        dispatch_batch_size=250,
    )


@pytest.fixture
def rt(settings: Settings) -> Any:
    runtime = bootstrap(settings, configure_logs=False)
    yield runtime
    runtime.close()


def campaign_for(rt: Runtime, tmp_path: Path, rows: list[dict[str, Any]]) -> tuple[UUID, UUID]:
    """An incident with these people and an approved, started people campaign."""
    alice = RequestContext(actor="alice")
    incident = rt.app.incidents.report_incident(report_input(rt.app.core.clock.now()), alice)
    rt.app.people.import_people(incident.id, write_csv(tmp_path / "people.csv", rows), alice)
    rt.settle()
    return incident.id, start_people_campaign(rt, incident.id, alice)


def record_unchecked(
    rt: Runtime, incident_id: UUID, row: dict[str, Any], ctx: RequestContext
) -> None:
    """Record a person without the import's checks, as a ledger from before a rule did."""
    vault = rt.app.vault
    assert vault is not None
    data = PersonData(email=row["email"], name=row["name"], reference=row["reference"])
    [sealed] = vault.seal_new([data])
    person_ = AffectedPerson.record(
        rt.app.core.cause(ctx),
        person_id=uuid4(),
        incident_id=incident_id,
        language=row["language"],
        jurisdiction=row["jurisdiction"],
        sealed=sealed,
        source="test",
        row=0,
    )
    rt.app.core.save_aggregates([person_])


def dispatch(rt: Runtime, port: int, **kwargs: Any) -> Any:
    return asyncio.run(rt.dispatcher(SmtpTarget("127.0.0.1", port)).run(**kwargs))


def test_two_thousand_people_are_each_notified_exactly_once(rt: Runtime, tmp_path: Path) -> None:
    """2,000 notices: 2,000 distinct Message-IDs at the server, each once; campaign done."""
    _, campaign = campaign_for(rt, tmp_path, [person(i) for i in range(2000)])
    with smtp_sink(tmp_path) as sink:
        report = dispatch(rt, sink.port)
        state = sink.state()
    assert report.sent == 2000
    assert (state["accepted"], state["unique"], state["duplicates"]) == (2000, 2000, {})
    progress = rt.notifications.progress(campaign, rt.app.core.clock.now())
    assert (progress["status"], progress["sent"], progress["total"]) == ("completed", 2000, 2000)
    assert report.completed == [campaign]


def test_temporary_refusals_are_retried_until_delivered(rt: Runtime, tmp_path: Path) -> None:
    """Every 5th message refused with 451: all 300 end delivered, each once."""
    _, campaign = campaign_for(rt, tmp_path, [person(i) for i in range(300)])
    with smtp_sink(tmp_path, "--refuse-every", "5") as sink:
        report = dispatch(rt, sink.port, idle_grace=5)
        state = sink.state()
    assert report.deferred > 0
    assert (report.sent, state["unique"], state["duplicates"]) == (300, 300, {})
    assert rt.notifications.counts(campaign)["sent"] == 300


def test_permanent_refusals_fail_with_the_reason_and_are_not_retried(
    rt: Runtime, tmp_path: Path
) -> None:
    """550 for two addresses: those two fail with the server's reason, the rest are sent."""
    _, campaign = campaign_for(rt, tmp_path, [person(i) for i in range(20)])
    bad = [person(3)["email"], person(11)["email"]]
    with smtp_sink(tmp_path, "--fail-to", bad[0], "--fail-to", bad[1]) as sink:
        report = dispatch(rt, sink.port)
        state = sink.state()
    assert (report.sent, report.failed, state["unique"]) == (18, 2, 18)
    failed = [
        n for n in rt.notifications.store.query("SELECT * FROM notices") if n["status"] == "failed"
    ]
    assert len(failed) == 2
    assert all(n["reason"].startswith("550") and n["attempts"] == 1 for n in failed)
    assert rt.notifications.progress(campaign, rt.app.core.clock.now())["status"] == "completed"


def test_a_dispatcher_killed_mid_campaign_resumes_without_duplicates(
    settings: Settings, store: Store, rt: Runtime, tmp_path: Path
) -> None:
    """SIGKILL the sending process mid-way; restart: no Message-ID twice at the server, the
    crash window reported as uncertain, and settling it delivers the rest exactly once."""
    _, campaign = campaign_for(rt, tmp_path, [person(i) for i in range(2000)])
    with smtp_sink(tmp_path) as sink:
        env = store.env(
            BREACH_DATA_DIR=str(settings.data_dir),
            BREACH_SMTP_URL=f"smtp://127.0.0.1:{sink.port}",
            BREACH_DISPATCH_BATCH_SIZE="100",
            BREACH_TOKEN=provision(rt, "sender", [Role.RESPONDER]),
        )
        send_and_kill(env, str(campaign), sink, 400)
        time.sleep(0.5)
        before = sink.state()
        assert 0 < before["accepted"] < 2000
        restarted = bootstrap(
            settings.model_copy(update={"sending_lease_seconds": 0}), configure_logs=False
        )
        report = dispatch(restarted, sink.port)
        uncertain = restarted.notifications.uncertain()
        assert report.recovered.get("uncertain", 0) == len(uncertain)
        assert 0 < len(uncertain) <= 200  # two batches: one on the wire, one claimed
        delivered = set(sink.state()["ids"])
        for row in uncertain:
            arrived = row["message_id"] in delivered
            restarted.app.notifications.resolve_uncertain(
                UUID(row["notice_id"]),
                delivered=arrived,
                reason="checked the server's log",
                ctx=DPO,
            )
        head = restarted.feed.head()
        with pytest.raises(RuleBroken, match="only an uncertain one"):
            restarted.app.notifications.resolve_uncertain(
                UUID(uncertain[0]["notice_id"]), delivered=True, reason="again", ctx=DPO
            )
        assert restarted.feed.head() == head
        dispatch(restarted, sink.port)
        final = sink.state()
        restarted.close()
    assert final["duplicates"] == {}
    assert final["unique"] == 2000
    assert rt.notifications.counts(campaign)["sent"] == 2000
    row, now = rt.notifications.campaign(campaign), rt.app.core.clock.now()
    assert row is not None
    (listed,) = rt.notifications.with_progress([row], now)
    one = rt.notifications.progress(campaign, now)
    lease_and_stall = ("in_flight_resolved_by", "last_moved_at", "stalled_since")
    assert {k: v for k, v in listed["progress"].items() if k not in lease_and_stall} == {
        k: v for k, v in one.items() if k not in lease_and_stall
    }
    assert listed["progress"]["sent"] == 2000


def test_names_with_markup_newlines_and_other_scripts_are_escaped_and_correct(
    rt: Runtime, tmp_path: Path
) -> None:
    """Markup is escaped in HTML and intact in text; a newline cannot inject a header (an
    import refuses such a name, and one recorded before that rule is still sent safely); a
    Chinese name survives in the To header, the text and the HTML."""
    rows = [
        {**person(1), "name": '<script>alert("x")</script> & Co', "language": "en"},
        {**person(2), "name": "Eve\r\nBcc: attacker@evil.example", "language": "en"},
        {**person(3), "name": "王小明", "language": "zh-CN"},
    ]
    keep = tmp_path / "kept"
    keep.mkdir()
    alice = RequestContext(actor="alice")
    incident = rt.app.incidents.report_incident(report_input(rt.app.core.clock.now()), alice)
    imported = rt.app.people.import_people(
        incident.id, write_csv(tmp_path / "people.csv", rows), alice
    )
    assert (imported.imported, imported.rejected) == (2, 1)
    assert imported.rejections_file is not None
    assert Path(imported.rejections_file).read_text(encoding="utf-8").splitlines()[1] == (
        "2,name,must be one line without control characters"
    )
    record_unchecked(rt, incident.id, rows[1], alice)
    rt.settle()
    campaign = rt.app.notifications.draft_campaign(
        incident.id, {"audience": "people", **CONTENT}, alice
    )
    rt.app.notifications.preview_campaign(campaign.id, alice)
    rt.app.notifications.approve_campaign(campaign.id, dpo_of(rt, DPO))
    rt.app.notifications.start_dispatch(campaign.id, alice)
    rt.settle()
    with smtp_sink(tmp_path, "--keep", str(keep)) as sink:
        dispatch(rt, sink.port)
    messages = [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(keep.glob("*.eml"))
    ]
    by_to = {m["To"].addresses[0].addr_spec: m for m in messages}
    markup = by_to[rows[0]["email"]]
    html = markup.get_body(("html",)).get_content()
    text = markup.get_body(("plain",)).get_content()
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in html
    assert "<script>" not in html
    assert 'Dear <script>alert("x")</script> & Co,' in text
    injected = by_to[rows[1]["email"]]
    assert injected["Bcc"] is None
    assert [a.addr_spec for a in injected["To"].addresses] == [rows[1]["email"]]
    chinese = by_to[rows[2]["email"]]
    assert chinese["To"].addresses[0].display_name == "王小明"
    assert "王小明，您好" in chinese.get_body(("plain",)).get_content()
    assert "王小明，您好" in chinese.get_body(("html",)).get_content()
    assert "关于您个人信息的重要通知" in str(chinese["Subject"])


def test_approval_needs_a_dpo_who_did_not_draft_it_and_freezes_the_content(
    rt: Runtime, tmp_path: Path
) -> None:
    """Not a DPO, no preview, or the drafter: refused. A redraft voids the approval, and a
    template edited after approval blocks dispatch."""
    alice = RequestContext(actor="alice")
    incident = rt.app.incidents.report_incident(report_input(rt.app.core.clock.now()), alice)
    campaign = rt.app.notifications.draft_campaign(
        incident.id, {"audience": "people", **CONTENT}, alice
    )
    with pytest.raises(RuleBroken, match="not a DPO"):
        rt.app.notifications.approve_campaign(campaign.id, alice)
    with pytest.raises(RuleBroken, match="preview"):
        rt.app.notifications.approve_campaign(campaign.id, dpo_of(rt, DPO))
    rt.app.notifications.preview_campaign(campaign.id, alice)
    approved = rt.app.notifications.approve_campaign(campaign.id, dpo_of(rt, DPO))
    assert approved.state.status is CampaignStatus.APPROVED
    assert approved.state.approved_hash == rt.app.notifications.approval_hash(approved)
    [*_, previewed, approval] = rt.app.core.events.get(campaign.id)
    assert approval.body_hash == previewed.body_hash
    rt.app.notifications.redraft_campaign(
        campaign.id, {"audience": "people", **CONTENT, "measures": "Updated measures."}, alice
    )
    with pytest.raises(RuleBroken, match="only an approved campaign"):
        rt.app.notifications.start_dispatch(campaign.id, alice)
    rt.app.notifications.preview_campaign(campaign.id, alice)
    rt.app.notifications.approve_campaign(campaign.id, dpo_of(rt, DPO))
    changed = tmp_path / "notices"
    shutil.copytree(rt.settings.templates_dir / "notices", changed)
    subject = changed / "people" / "en" / "subject.txt"
    subject.write_text("URGENT " + subject.read_text(), encoding="utf-8")
    rt.app.notifications.templates = NoticeTemplates(changed)
    with pytest.raises(RuleBroken, match="changed since approval"):
        rt.app.notifications.start_dispatch(campaign.id, alice)
    own = rt.app.notifications.draft_campaign(incident.id, {"audience": "people", **CONTENT}, DPO)
    rt.app.notifications.preview_campaign(own.id, DPO)
    with pytest.raises(RuleBroken, match="drafted"):
        rt.app.notifications.approve_campaign(own.id, dpo_of(rt, DPO))


def test_erased_and_opted_out_people_are_suppressed_and_fallback_is_recorded(
    rt: Runtime, tmp_path: Path
) -> None:
    """An erased person and one who opted out are not sent to; German falls back to English."""
    rows = [
        {**person(1), "language": "de"},
        {**person(2)},
        {**person(3), "opt_out": "yes"},
    ]
    alice = RequestContext(actor="alice")
    incident = rt.app.incidents.report_incident(report_input(rt.app.core.clock.now()), alice)
    path = tmp_path / "p.csv"
    write_csv(path, rows, columns=[*person(0).keys(), "opt_out"])
    rt.app.people.import_people(incident.id, path, alice)
    rt.app.people.erase_person(
        rt.app.people.person_on(incident.id, person(2)["email"]).id, "request", alice
    )
    rt.settle()
    campaign = rt.app.notifications.draft_campaign(
        incident.id, {"audience": "people", **CONTENT}, alice
    )
    rt.app.notifications.preview_campaign(campaign.id, alice)
    rt.app.notifications.approve_campaign(campaign.id, dpo_of(rt, DPO))
    rt.app.notifications.start_dispatch(campaign.id, alice)
    rt.settle()
    with smtp_sink(tmp_path) as sink:
        dispatch(rt, sink.port)
        assert sink.state()["unique"] == 1
    rows_ = {r["reason"]: r for r in rt.notifications.store.query("SELECT * FROM notices")}
    assert {"person erased", "opted out"} <= set(rows_)
    sent = [r for r in rows_.values() if r["status"] == "sent"]
    assert [(r["language"], r["fallback"]) for r in sent] == [("en", 1)]
    person_one = rt.app.people.person_on(incident.id, person(1)["email"]).id
    [told] = rt.notifications.for_person(person_one)
    assert told["status"] == NoticeStatus.SENT.value


def test_authority_campaign_sends_to_organisation_recipients_once_each(
    rt: Runtime, tmp_path: Path
) -> None:
    """Authority recipients from the draft; a duplicate address is suppressed; content
    carries categories and counts from the assessment."""
    alice = RequestContext(actor="alice")
    incident = rt.app.incidents.report_incident(report_input(rt.app.core.clock.now()), alice)
    recipients = [
        {"name": "BfDI", "email": "poststelle@bfdi.example.org"},
        {"name": "CNIL", "email": "notifications@cnil.example.org", "language": "fr"},
        {"name": "BfDI again", "email": "POSTSTELLE@bfdi.example.org"},
    ]
    campaign = rt.app.notifications.draft_campaign(
        incident.id,
        {
            "audience": "authority",
            **CONTENT,
            "categories": ["resume_cv"],
            "people_count": 2300,
            "recipients": recipients,
        },
        alice,
    )
    rt.app.notifications.preview_campaign(campaign.id, alice, recipient_index=0)
    rt.app.notifications.approve_campaign(campaign.id, dpo_of(rt, DPO))
    rt.app.notifications.start_dispatch(campaign.id, alice)
    rt.settle()
    keep = tmp_path / "kept"
    keep.mkdir()
    with smtp_sink(tmp_path, "--keep", str(keep)) as sink:
        dispatch(rt, sink.port)
        assert sink.state()["unique"] == 2
    body = email.message_from_bytes(
        sorted(keep.glob("*.eml"))[0].read_bytes(), policy=email.policy.default
    )
    text = body.get_body(("plain",)).get_content()
    assert "Approximate number of data subjects: 2300" in text
    assert "resume_cv" in text
    counts = rt.notifications.counts(campaign.id)
    assert (counts["sent"], counts["suppressed"]) == (2, 1)


def test_pause_stops_sending_and_resume_continues(rt: Runtime, tmp_path: Path) -> None:
    """A paused campaign sends nothing; resumed, it completes."""
    _, campaign = campaign_for(rt, tmp_path, [person(i) for i in range(30)])
    rt.app.notifications.pause_dispatch(
        campaign, "legal review of the wording", RequestContext(actor="dpo")
    )
    rt.settle()
    with smtp_sink(tmp_path) as sink:
        dispatch(rt, sink.port)
        assert sink.state().get("accepted", 0) == 0
        rt.app.notifications.resume_dispatch(campaign, RequestContext(actor="dpo"))
        rt.settle()
        dispatch(rt, sink.port)
        assert sink.state()["unique"] == 30
    assert rt.notifications.progress(campaign, rt.app.core.clock.now())["status"] == "completed"


def test_the_template_check_catches_a_missing_required_element(tmp_path: Path) -> None:
    """A people template without the contact point fails the check, naming the element."""
    copy = tmp_path / "notices"
    shutil.copytree(Settings().templates_dir / "notices", copy)
    assert NoticeTemplates(copy).check() == []
    body = copy / "people" / "en" / "body.txt"
    body.write_text(body.read_text().replace("{{ notice.contact.email }}", ""), encoding="utf-8")
    problems = NoticeTemplates(copy).check()
    assert ("people/en", "contact point", "missing from the text body") in problems


def test_queueing_cut_short_after_some_chunks_queues_everyone_once_when_handled_again(
    rt: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Queueing saves a people campaign's notices a few at a time as it reads the people a
    page at a time; cut short after two chunks (the people reader fails), handling the
    event again queues every person exactly once, and the campaign counts them once."""
    monkeypatch.setattr(queueing, "QUEUE_CHUNK", 3)
    alice = RequestContext(actor="alice")
    incident = rt.app.incidents.report_incident(report_input(rt.app.core.clock.now()), alice)
    rt.app.people.import_people(
        incident.id, write_csv(tmp_path / "people.csv", [person(i) for i in range(11)]), alice
    )
    rt.settle()
    campaign = rt.app.notifications.draft_campaign(
        incident.id, {"audience": "people", **CONTENT}, alice
    )
    rt.app.notifications.preview_campaign(campaign.id, alice)
    rt.app.notifications.approve_campaign(campaign.id, dpo_of(rt, DPO))
    real = rt.people_of.read

    def cut_short(incident_id: UUID) -> Iterator[dict[str, Any]]:
        for taken, row in enumerate(rt.people.recipients_of(incident_id, page=4)):
            if taken == 7:
                raise ConnectionError("the people view went away")
            yield row

    rt.people_of.read = cut_short
    rt.app.notifications.start_dispatch(campaign.id, alice)
    with pytest.raises(ConnectionError):
        rt.policies.catch_up()
    assert RawStore(rt.settings).count_events("events.notifications:NoticeQueued") == 6
    rt.people_of.read = real
    rt.settle()
    assert RawStore(rt.settings).count_events("events.notifications:NoticeQueued") == 11
    assert RawStore(rt.settings).count_events("events.notifications:NoticesQueued") == 1
    progress = rt.notifications.progress(campaign.id, rt.app.core.clock.now())
    assert (progress["queued"], progress["total"]) == (11, 11)
