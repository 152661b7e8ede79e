"""Alert emails on the embedded default, driven by the background workers of `breach serve`:
each step of the ladder reaches the owner and the DPO on duty once, in their language, at the
local capture server while a webhook receiver gets one signed delivery per step; a decision
stops the emails, a moved deadline starts new ones; a restart sends nothing twice; the
addresses appear in no event, log line or audit bundle."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from pydantic import SecretStr

from events.alerts import Alert, AlertEmailed, AlertEmailFailed, AlertEmailSkipped
from services.alerts.mailer import message_id
from services.application.context import RequestContext
from services.application.errors import ServiceError
from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from services.demo import DEMO_FACTS
from services.metrics.collector import RuntimeCollector
from services.notifications.mailbox import CaptureServer, Mailbox
from services.operations.audit import export
from services.policies.worker import PolicyWorker
from services.server.workers import Workers
from services.webhooks.signing import SIGNATURE_HEADER, verify
from tests.support.clocks import ManualClock
from tests.support.smtp import smtp_sink
from tests.support.store import RawStore, count_events
from tests.support.webhook_receiver import Receiver

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
AWARE = START - timedelta(hours=12)
DEADLINE = AWARE + timedelta(hours=72)
GDPR = "eu_gdpr/supervisory_authority"
STEPS = {"due_24h": 24, "due_6h": 6, "due_1h": 1, "overdue": 0}
OLGA = "olga.owner@alerts.example.net"
DORA = "dora.duty@alerts.example.net"
FACTS = {
    **DEMO_FACTS,
    "people_by_jurisdiction": {"DE": 900, "FR": 400},
    "records": {"count": 1300, "confirmed": True},
}
"""A leak under the GDPR alone: one obligation with a deadline (the supervisory authority)."""
ADMIN = RequestContext(actor="ada", correlation_id="req-ada")
ALICE = RequestContext(actor="alice", correlation_id="req-alice")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        log_format="json",
        log_level="info",
        timezone="Europe/Paris",
        alert_scan_seconds=0.05,
        webhook_allow_loopback=True,
        webhook_backoff_seconds=0.01,
        webhook_backoff_max_seconds=0.05,
        dashboard_url="https://breach.example.org/",
    )


@pytest.fixture
def receiver(clock: ManualClock) -> Iterator[Receiver]:
    r = Receiver(now=lambda: clock.current.timestamp()).start()
    yield r
    r.stop()


class Serving:
    """The background workers of `breach serve` on a runtime, with the local capture
    server, started and stopped by a test."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        target, delivery, capture = rt.smtp_target()
        assert capture is not None
        self.capture: CaptureServer = capture
        self.workers = Workers(rt, target, delivery).start()

    @property
    def mailbox(self) -> Mailbox:
        return self.capture.mailbox

    def stop(self) -> None:
        self.workers.stop()
        self.capture.stop()
        self.mailbox.close()


def wait_until(check: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def messages(mailbox: Mailbox) -> list[dict[str, str]]:
    """Every message the capture server kept, oldest first: To, Subject, language, id."""
    out = []
    for stored in reversed(mailbox.page(limit=1000)):
        parsed = Mailbox.parse(stored)
        out.append(
            {
                "to": str(parsed["To"]).strip("<>"),
                "subject": str(parsed["Subject"]),
                "language": str(parsed["Content-Language"]),
                "message_id": str(parsed["Message-ID"]),
                "body": parsed.get_content(),
            }
        )
    return out


def metric(rt: Runtime, label: str, value: str) -> float:
    """The value of one sample of breach_alert_emails_total."""
    for family in RuntimeCollector(rt).collect():
        for sample in family.samples:
            if sample.name == "breach_alert_emails_total" and sample.labels == {label: value}:
                return float(sample.value)
    raise AssertionError(f"no breach_alert_emails_total sample {label}={value}")


def people(rt: Runtime) -> None:
    """olga (responder, en) owns incidents, dora (dpo, zh-CN) is on duty, ada (admin) has
    no address."""
    users = rt.app.users
    users.add_user("ada", ["admin"], RequestContext(actor="setup"))
    users.add_user("olga", ["responder"], ADMIN)
    users.add_user("dora", ["dpo"], ADMIN)
    users.set_contact("olga", {"email": OLGA}, ADMIN)
    users.set_contact("dora", {"email": DORA, "language": "zh-CN"}, ADMIN)
    rt.app.alerts.schedule_duty(
        {"user": "dora", "starts_at": START - timedelta(days=1), "ends_at": START + timedelta(30)},
        ALICE,
    )


def leak(rt: Runtime, aware: datetime = AWARE) -> UUID:
    """A GDPR leak owned by olga."""
    reported = rt.app.incidents.report_incident(
        {
            "title": "Careers portal CV leak",
            "reporter": "soc",
            "discovered_at": aware - timedelta(hours=2),
            "aware_at": aware,
            "incident_type": "web_application_exfiltration",
        },
        ALICE,
    )
    rt.app.assessment.assess_impact(reported.id, FACTS, ALICE)
    rt.app.incidents.assign_owner(reported.id, {"owner": "olga"}, ALICE)
    return reported.id


def alerts_of(rt: Runtime, incident: UUID) -> list[Alert]:
    rt.views.catch_up_only("alerts")
    return [rt.app.alerts.get_alert(i) for i in rt.alerts.ids_of_incident(incident)]


def test_each_step_reaches_owner_and_dpo_once_in_their_language_with_one_signed_delivery(
    settings: Settings, clock: ManualClock, receiver: Receiver, capfd: pytest.CaptureFixture[str]
) -> None:
    """Through 24 h, 6 h, 1 h and overdue the owner and the DPO on duty each get exactly one
    email per step (English for olga, Chinese for dora, the deadline in Paris time and UTC,
    the dashboard link), the admin without an address is skipped and counted, the receiver
    gets one signed alert.raised delivery per step in order, and nothing follows; the
    addresses are in no event, log line or audit bundle."""
    rt = bootstrap(settings, clock=clock)
    serving = None
    try:
        people(rt)
        incident = leak(rt)
        _, secret = rt.gateway.run(
            rt.app.webhooks.add_webhook, receiver.url, ["alert.raised"], ADMIN
        )
        receiver.secret = secret
        rt.settle()
        serving = Serving(rt)
        for n, (step, hours) in enumerate(STEPS.items(), start=1):
            clock.current = DEADLINE - timedelta(hours=hours) + timedelta(seconds=5)
            assert wait_until(lambda n=n: serving.mailbox.count() >= 2 * n), step
            assert len(receiver.wait_for(n)) == n
        clock.current = DEADLINE + timedelta(hours=30)
        time.sleep(1.0)
        got = messages(serving.mailbox)
        assert len(got) == 8
        deliveries = receiver.unique()
        assert len(deliveries) == 4
        assert len(receiver.accepted()) == 4
        assert [d.document["data"]["step"] for d in deliveries] == list(STEPS)
        for d in deliveries:
            header = d.headers[SIGNATURE_HEADER]
            signed_at = int(header.split(",")[0].removeprefix("t="))
            assert d.signed
            assert verify(secret, header, d.body, signed_at)
            assert not verify("another secret", header, d.body, signed_at)
        alerts = alerts_of(rt, incident)
        assert [a.state.step for a in alerts] == list(STEPS)
        for alert, pair in zip(alerts, [got[i : i + 2] for i in range(0, 8, 2)], strict=True):
            by_to = {m["to"]: m for m in pair}
            assert set(by_to) == {OLGA, DORA}
            assert by_to[OLGA]["message_id"] == message_id(alert.id, "olga", "breachledger.invalid")
            assert by_to[DORA]["message_id"] == message_id(alert.id, "dora", "breachledger.invalid")
            assert by_to[OLGA]["language"] == "en"
            assert by_to[DORA]["language"] == "zh-CN"
            assert GDPR in by_to[OLGA]["subject"]
            assert "截止时间" in by_to[DORA]["body"]
            assert alert.state.emailed["olga"] == alert.state.emailed["dora"] == "sent"
        overdue = alerts[-1].state
        assert overdue.emailed["ada"] == "skipped"
        first = got[0]["body"]
        assert f"https://breach.example.org/incidents/{incident}" in first
        assert "2026-12-03 22:00 CET" in first
        assert "2026-12-03 21:00 UTC" in first
        assert "Careers" not in "".join(m["body"] + m["subject"] for m in got)
        stored = [
            e
            for e in rt.app.core.stored_events_of([a.id for a in alerts])
            if e.topic.endswith((AlertEmailed.__name__, AlertEmailSkipped.__name__))
        ]
        assert len(stored) == 9
        assert metric(rt, "outcome", "sent") == 8
        assert metric(rt, "outcome", "skipped") == 1
        rt.link()
        bundle = export(rt, incident, settings.data_dir.parent / "bundle.zip")
        assert bundle
        serving.stop()
        serving = None
        raw = RawStore(settings)
        logged = capfd.readouterr()
        assert '"alert.emailed"' in logged.err + logged.out
        for address in (OLGA, DORA):
            for where, data in (
                ("events", raw.event_bytes()),
                ("logs", (logged.err + logged.out).encode()),
                ("bundle", (settings.data_dir.parent / "bundle.zip").read_bytes()),
                ("credentials", (settings.data_dir / "credentials.db").read_bytes()),
            ):
                assert address.encode() not in data, where
                assert address.split("@")[0].encode() not in data, where
    finally:
        if serving is not None:
            serving.stop()
        rt.close()


def test_a_decision_stops_the_emails_and_a_moved_deadline_starts_new_ones(
    settings: Settings, clock: ManualClock
) -> None:
    """Two leaks at their 24-hour step: deciding the first's obligation stops its emails for
    good; correcting the second's awareness moves its deadline, and its new 24-hour step is
    emailed again to both (a new alert, a new Message-ID)."""
    rt = bootstrap(settings, clock=clock, configure_logs=False)
    serving = None
    try:
        people(rt)
        decided, moved = leak(rt), leak(rt)
        rt.settle()
        serving = Serving(rt)
        clock.current = DEADLINE - timedelta(hours=24) + timedelta(seconds=5)
        assert wait_until(lambda: serving.mailbox.count() >= 4)
        rt.gateway.run(
            rt.app.assessment.decide_obligation,
            decided,
            {
                "obligation": GDPR,
                "decision": "notified",
                "reason": "Filed with the lead authority",
                "notified_at": clock.current,
                "reference": "DPC-1",
            },
            ALICE,
        )
        later = AWARE + timedelta(hours=20)
        rt.gateway.run(
            rt.app.incidents.amend_facts,
            moved,
            {"aware_at": later, "reason": "escalation ticket found"},
            ALICE,
        )
        clock.current = DEADLINE - timedelta(hours=6) + timedelta(seconds=5)
        time.sleep(0.5)
        assert serving.mailbox.count() == 4
        clock.current = later + timedelta(hours=72 - 24, seconds=5)
        assert wait_until(lambda: serving.mailbox.count() >= 6)
        clock.current = later + timedelta(hours=72 + 5)
        assert wait_until(lambda: serving.mailbox.count() >= 8)
        time.sleep(0.5)
        assert serving.mailbox.count() == 8
        assert [a.state.step for a in alerts_of(rt, decided)] == ["due_24h"]
        steps = [(a.state.step, a.state.deadline) for a in alerts_of(rt, moved)]
        assert steps == [
            ("due_24h", DEADLINE),
            ("due_24h", later + timedelta(hours=72)),
            ("overdue", later + timedelta(hours=72)),
        ]
        ids = [m["message_id"] for m in messages(serving.mailbox)]
        assert len(ids) == len(set(ids)) == 8
    finally:
        if serving is not None:
            serving.stop()
        rt.close()


def test_a_restart_after_a_step_was_emailed_sends_nothing_twice(
    settings: Settings, clock: ManualClock
) -> None:
    """Stopped after the 24-hour step was emailed and started again: the next step is
    emailed, and no message reaches the capture server twice."""
    rt = bootstrap(settings, clock=clock, configure_logs=False)
    serving = None
    try:
        people(rt)
        incident = leak(rt)
        rt.settle()
        serving = Serving(rt)
        clock.current = DEADLINE - timedelta(hours=24) + timedelta(seconds=5)
        assert wait_until(lambda: serving.mailbox.count() >= 2)
        assert wait_until(lambda: rt.app.core.tracked_position("alert_mail") > 0)
        serving.stop()
        serving = None
        rt.close()
        rt = bootstrap(settings, clock=clock, configure_logs=False)
        serving = Serving(rt)
        time.sleep(0.5)
        assert serving.mailbox.count() == 2
        clock.current = DEADLINE - timedelta(hours=6) + timedelta(seconds=5)
        assert wait_until(lambda: serving.mailbox.count() >= 4)
        time.sleep(0.5)
        ids = [m["message_id"] for m in messages(serving.mailbox)]
        assert len(ids) == len(set(ids)) == 4
        assert all(a.state.emailed.keys() == {"olga", "dora"} for a in alerts_of(rt, incident))
    finally:
        if serving is not None:
            serving.stop()
        rt.close()


def test_a_message_that_arrived_before_a_crash_is_recorded_not_sent_again(
    settings: Settings, clock: ManualClock
) -> None:
    """When the capture mailbox already holds an alert's message to a recipient (sent, then
    the process stopped before recording it), the mailer records it as emailed without a
    reply code and sends only the other recipient's."""
    rt = bootstrap(settings, clock=clock, configure_logs=False)
    capture = None
    mailer = None
    try:
        people(rt)
        incident = leak(rt)
        rt.settle()
        clock.current = DEADLINE - timedelta(hours=24) + timedelta(seconds=5)
        [alert_id] = rt.alarm_clock().scan()
        target, delivery, capture = rt.smtp_target()
        assert capture is not None
        olga = message_id(alert_id, "olga", settings.message_id_domain)
        capture.mailbox.store(
            f"Message-ID: {olga}\r\nTo: <{OLGA}>\r\n\r\nsent before".encode(), [OLGA]
        )
        mailer = rt.alert_mailer(target, delivery)
        PolicyWorker(rt.feed, rt.app.core, mailer).catch_up()
        got = messages(capture.mailbox)
        assert [m["message_id"] for m in got].count(olga) == 1
        assert [m["to"] for m in got] == [OLGA, DORA]
        [alert] = alerts_of(rt, incident)
        assert alert.state.emailed == {"olga": "sent", "dora": "sent"}
        decoded = map(rt.app.core.mapper.to_domain_event, rt.app.core.stored_events_of([alert.id]))
        codes = [e.reply_code for e in decoded if isinstance(e, AlertEmailed)]
        assert sorted(codes, key=str) == [250, None]
    finally:
        if mailer is not None:
            mailer.close()
        if capture is not None:
            capture.stop()
        rt.close()


@pytest.mark.parametrize(
    ("actor", "data", "field"),
    [
        ("ada", {"email": "not-an-address-x9q"}, "email"),
        ("ada", {"email": "x9q@"}, "email"),
        ("ada", {"language": "klingon-x9q"}, "language"),
        ("ada", {"language": None}, "language"),
        ("ada", {"email": "olga.owner@alerts.example.net", "extra": "x9q"}, "input"),
        ("ada", {}, "input"),
        ("dora", {"email": "dora.other@alerts.example.net"}, "username"),
        ("olga", {"email": None}, "email"),
        ("olga", {"language": "en"}, "language"),
    ],
)
def test_bad_contact_input_names_the_field_echoes_nothing_and_records_nothing(
    runtime: Runtime, actor: str, data: dict[str, Any], field: str
) -> None:
    """Each refusal (bad address, unknown language, unknown field, nothing given, another
    user's contact, a change of nothing) names the field, repeats no value given, and
    stores no event nor address."""
    users = runtime.app.users
    users.add_user("ada", ["admin"], RequestContext(actor="setup"))
    users.add_user("olga", ["responder"], ADMIN)
    users.add_user("dora", ["dpo"], ADMIN)
    before = count_events(runtime.settings)
    with pytest.raises(ServiceError) as caught:
        users.set_contact("olga", data, RequestContext(actor=actor))
    assert caught.value.field == field
    for value in data.values():
        if isinstance(value, str):
            assert value not in caught.value.reason
            assert value.split("@")[0] not in caught.value.reason
    assert count_events(runtime.settings) == before
    assert users.email_of(users.get_user("olga")) is None


def test_omitted_fields_stay_and_the_address_is_sealed_to_its_user(runtime: Runtime) -> None:
    """Setting the language keeps the address and setting the address keeps the language;
    removing it records the removal; the log holds neither address; a sealed address
    copied to another user's row does not open."""
    users = runtime.app.users
    users.add_user("ada", ["admin"], RequestContext(actor="setup"))
    users.add_user("olga", ["responder"], ADMIN)
    users.add_user("dora", ["dpo"], ADMIN)
    olga = RequestContext(actor="olga")
    users.set_contact("olga", {"email": OLGA}, olga)
    users.set_contact("olga", {"language": "zh-CN"}, olga)
    user = users.get_user("olga")
    assert (users.email_of(user), user.state.language) == (OLGA, "zh-CN")
    users.set_contact("olga", {"email": DORA}, ADMIN)
    user = users.get_user("olga")
    assert (users.email_of(user), user.state.language) == (DORA, "zh-CN")
    users.set_contact("olga", {"email": None}, olga)
    assert users.email_of(users.get_user("olga")) is None
    assert users.get_user("olga").state.has_email is False
    users.set_contact("olga", {"email": OLGA}, olga)
    book = users.addresses
    from sqlalchemy import select

    from services.users.tables import user_addresses

    [(sealed,)] = book.db.query(select(user_addresses.c.sealed))
    with book.db.transaction() as c:
        c.execute(
            user_addresses.insert().values(user_id=str(users.get_user("dora").id), sealed=sealed)
        )
    with pytest.raises(ValueError, match="does not authenticate"):
        book.address(users.get_user("dora").id)
    raw = RawStore(runtime.settings).event_bytes()
    assert OLGA.encode() not in raw
    assert DORA.encode() not in raw
    topics = [e.topic.rsplit(":", 1)[-1] for e in runtime.app.core.stored_events_of([user.id])]
    assert topics.count("EmailAddressSet") == 3
    assert topics.count("EmailAddressRemoved") == 1
    assert topics.count("LanguageSet") == 1


def test_a_greylisted_recipient_is_retried_and_a_refused_one_recorded_failed_without_echo(
    settings: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    """Through a relay that greylists olga once (451) and refuses dora for good (550),
    echoing addresses and names in its replies: olga's email is sent on the second attempt,
    dora's recorded failed with the codes and no address, each counted by outcome."""
    with smtp_sink(tmp_path, "--greylist", OLGA, "--fail-to", DORA) as sink:
        relayed = settings.model_copy(
            update={
                "smtp_url": SecretStr(f"smtp://127.0.0.1:{sink.port}"),
                "smtp_backoff_seconds": 0.01,
                "smtp_backoff_max_seconds": 0.05,
            }
        )
        rt = bootstrap(relayed, clock=clock, configure_logs=False)
        mailer = None
        try:
            people(rt)
            incident = leak(rt)
            rt.settle()
            clock.current = DEADLINE - timedelta(hours=24) + timedelta(seconds=5)
            assert len(rt.alarm_clock().scan()) == 1
            target, delivery, capture = rt.smtp_target()
            assert delivery is None
            assert capture is None
            mailer = rt.alert_mailer(target, delivery)
            PolicyWorker(rt.feed, rt.app.core, mailer).catch_up()
            [alert] = alerts_of(rt, incident)
            assert alert.state.emailed == {"olga": "sent", "dora": "failed"}
            decoded = list(
                map(rt.app.core.mapper.to_domain_event, rt.app.core.stored_events_of([alert.id]))
            )
            [failed] = [e for e in decoded if isinstance(e, AlertEmailFailed)]
            assert failed.reply_code == 550
            assert failed.reason.startswith("550 5.1.1")
            assert DORA not in failed.reason
            assert DORA.split("@")[0] not in failed.reason
            rt.views.catch_up()
            assert metric(rt, "outcome", "sent") == 1
            assert metric(rt, "outcome", "failed") == 1
            state = sink.state()
            assert (state["accepted"], state["duplicates"]) == (1, {})
            assert state["ids"] == [message_id(alert.id, "olga", settings.message_id_domain)]
        finally:
            if mailer is not None:
                mailer.close()
            rt.close()
