"""Outbound webhooks on the real stores: signed deliveries from the log to a real local
receiver, in log order (with one delivery in flight at a time) or in log order per incident
(with several), through outages, 500s, 410s and restarts; two senders on one store sharing
the work by lease; and URLs refused with nothing recorded."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from services.application.context import RequestContext
from services.application.errors import InvalidInput
from services.bootstrap import Runtime, bootstrap, webhook_retry, webhook_sending
from services.config import Settings
from services.webhooks.delivery import WebhookWorkers
from services.webhooks.signing import delivery_id
from services.webhooks.store import DEAD, DELIVERED, GONE, PENDING, Delivery
from tests.support.reports import report_input
from tests.support.store import RawStore, Store, count_events
from tests.support.webhook_receiver import Received, Receiver

ADMIN = RequestContext(actor="admin.alice")
KINDS = ["incident.reported", "incident.triaged", "incident.closed"]
WINDOWS = pytest.mark.parametrize("window", [1, 16])
"""Deliveries in flight per subscription: one (the log's order throughout) and several (the
log's order per incident)."""


@pytest.fixture
def settings(store: Store, data_dir: Path) -> Settings:
    return store.settings(
        data_dir,
        log_format="json",
        log_level="warning",
        webhook_allow_loopback=True,
        webhook_backoff_seconds=0.01,
        webhook_backoff_max_seconds=0.05,
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def runtime_of(settings: Settings, **changes: Any) -> Runtime:
    """A runtime on the system clock (receivers check signatures against their own)."""
    return bootstrap(settings.model_copy(update=changes), configure_logs=False)


class Running:
    """The webhook senders of a runtime, started and stopped by a test."""

    def __init__(self, rt: Runtime) -> None:
        self.stop = threading.Event()
        self.workers = WebhookWorkers(
            rt.app.webhooks,
            rt.feed,
            webhook_retry(rt.settings),
            refresh=0.05,
            sending=webhook_sending(rt.settings),
        )
        self.thread = self.workers.start(self.stop)

    def halt(self) -> None:
        self.stop.set()
        self.thread.join(10)


def subscribe(rt: Runtime, receiver: Receiver, kinds: list[str] = KINDS) -> UUID:
    """Subscribe the receiver and tell it the secret."""
    subscription, secret = rt.gateway.run(rt.app.webhooks.add_webhook, receiver.url, kinds, ADMIN)
    receiver.secret = secret
    return subscription.id


def report(rt: Runtime, n: int, title: str = "Resumes downloadable") -> list[UUID]:
    """Report ``n`` incidents; their ids."""
    now = datetime.now(UTC)
    return [
        rt.gateway.run(
            rt.app.incidents.report_incident, report_input(now, title=f"{title} {i}"), ADMIN
        ).id
        for i in range(n)
    ]


def positions_of(rt: Runtime, sub: UUID, kinds: list[str] = KINDS) -> list[int]:
    """The log positions a subscription asked for, after its creation."""
    from services.webhooks.payloads import kind_of

    start = rt.app.core.stored_events_of([sub])[0].id
    out = []
    for item in rt.feed.read(start, 100_000):
        kind = kind_of(item.event)
        if kind is not None and kind.value in kinds:
            out.append(item.position)
    return out


def in_log_order(got: list[Received], expected: list[int], window: int) -> None:
    """Each delivery arrived once: with one in flight, in log order; with several, in log
    order per incident."""
    positions = [r.document["position"] for r in got]
    if window == 1:
        assert positions == expected
        return
    assert sorted(positions) == expected
    lanes: dict[str, list[int]] = {}
    for r in got:
        lanes.setdefault(r.document["incident_id"], []).append(r.document["position"])
    assert all(lane == sorted(lane) for lane in lanes.values())


def metric(rt: Runtime, name: str, **labels: str) -> float:
    """The value of one sample of the runtime's metrics."""
    from services.metrics.collector import RuntimeCollector

    for family in RuntimeCollector(rt).collect():
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    raise AssertionError(f"no sample {name} {labels}")


@WINDOWS
def test_deliveries_arrive_signed_in_log_order_without_text_that_may_name_a_person(
    settings: Settings, receiver: Receiver, window: int
) -> None:
    """Each subscribed event reaches the receiver once, signed, in log order (per incident
    with several in flight), with the delivery id derived from subscription and position,
    and no title or description."""
    rt = runtime_of(settings, webhook_concurrency=window)
    running = None
    try:
        sub = subscribe(rt, receiver)
        incidents = report(rt, 3, title="Jane Doe's laptop")
        rt.gateway.run(
            rt.app.incidents.triage_incident,
            incidents[1],
            {"severity": "high", "incident_type": "ransomware"},
            ADMIN,
        )
        rt.gateway.run(
            rt.app.incidents.close_incident, incidents[0], {"resolution": "Handled fully"}, ADMIN
        )
        expected = positions_of(rt, sub)
        assert len(expected) == 5
        running = Running(rt)
        got = receiver.wait_for(len(expected))
        in_log_order(got, expected, window)
        got.sort(key=lambda r: r.document["position"])
        assert [r.delivery_id for r in got] == [str(delivery_id(sub, p)) for p in expected]
        assert [r.kind for r in got] == [
            "incident.reported",
            "incident.reported",
            "incident.reported",
            "incident.triaged",
            "incident.closed",
        ]
        assert got[3].document["data"]["severity"] == "high"
        assert got[3].document["incident_id"] == str(incidents[1])
        assert all(r.signed for r in receiver.received)
        assert not any(b"Jane" in r.body or b"Handled" in r.body for r in receiver.received)
        running.halt()
        log = rt.app.webhooks.deliveries(sub)
        assert {d.status for d in log} == {DELIVERED}
        assert sorted(d.position for d in log) == expected
        assert all(d.attempts == 1 and d.last_code == 204 for d in log)
    finally:
        if running is not None:
            running.halt()
        rt.close()


@WINDOWS
def test_a_receiver_down_for_a_while_gets_everything_afterwards_in_order_once(
    settings: Settings, receiver: Receiver, window: int
) -> None:
    """While the receiver refuses connections nothing passes the first event (its row
    pending with the attempts made: a failing receiver gets one delivery at a time); once
    it is back, every delivery arrives, in order, once per delivery id."""
    rt = runtime_of(settings, webhook_concurrency=window)
    running = None
    try:
        sub = subscribe(rt, receiver)
        receiver.stop()
        report(rt, 4)
        running = Running(rt)
        expected = positions_of(rt, sub)
        deadline = threading.Event()
        for _ in range(200):
            pending = rt.app.webhooks.deliveries(sub, status=PENDING)
            if pending and pending[0].attempts >= 3:
                break
            deadline.wait(0.02)
        assert [d.position for d in pending] == [expected[0]]
        assert pending[0].last_error == "connection"
        assert metric(rt, "breach_webhook_deliveries", status="pending") == 1
        assert metric(rt, "breach_webhook_oldest_undelivered_seconds") > 0
        report(rt, 2)
        expected = positions_of(rt, sub)
        receiver.start()
        got = receiver.wait_for(len(expected))
        in_log_order(got, expected, window)
        assert len(receiver.accepted()) == len(expected)
        running.halt()
        first = rt.app.webhooks.store.delivery(delivery_id(sub, expected[0]))
        assert first is not None
        assert first.status == DELIVERED
        assert first.attempts >= 4
    finally:
        if running is not None:
            running.halt()
        rt.close()


def test_a_receiver_stopped_after_deliveries_gets_nothing_more_until_it_is_back(
    settings: Settings, receiver: Receiver
) -> None:
    """A receiver stopped while the sender keeps a connection to it alive gets nothing more
    on that connection: the next delivery waits, pending, until the receiver is back, then
    everything arrives in order (one delivery in flight, so the order is the log's)."""
    rt = runtime_of(settings, webhook_concurrency=1)
    running = None
    try:
        sub = subscribe(rt, receiver)
        running = Running(rt)
        report(rt, 2)
        assert len(receiver.wait_for(2)) == 2
        receiver.stop()
        report(rt, 2)
        expected = positions_of(rt, sub)
        pending: list[Any] = []
        for _ in range(500):
            pending = rt.app.webhooks.deliveries(sub, status=PENDING)
            if pending and pending[0].attempts >= 2:
                break
            threading.Event().wait(0.02)
        assert [d.position for d in pending] == [expected[2]]
        assert pending[0].last_error == "connection"
        assert len(receiver.unique()) == 2
        receiver.start()
        got = receiver.wait_for(len(expected))
        assert [r.document["position"] for r in got] == expected
    finally:
        if running is not None:
            running.halt()
        rt.close()


@WINDOWS
def test_a_500_is_tried_again_then_dead_lettered_and_the_subscription_moves_on(
    settings: Settings, receiver: Receiver, window: int
) -> None:
    """A receiver answering 500 to one delivery gets it again and again until the retry
    window closes; the delivery is dead-lettered with its attempts and last code, and the
    next event is delivered."""
    rt = runtime_of(settings, webhook_give_up_hours=0.4 / 3600, webhook_concurrency=window)
    running = None
    try:
        sub = subscribe(rt, receiver)
        report(rt, 2)
        expected = positions_of(rt, sub)
        doomed = str(delivery_id(sub, expected[0]))
        receiver.answer = lambda r: 500 if r.delivery_id == doomed else 204
        running = Running(rt)
        got = receiver.wait_for(1)
        assert [r.document["position"] for r in got] == [expected[1]]
        running.halt()
        dead = rt.app.webhooks.store.delivery(UUID(doomed))
        assert dead is not None
        assert dead.status == DEAD
        assert dead.attempts >= 2
        assert dead.last_code == 500
        tries = [r for r in receiver.received if r.delivery_id == doomed]
        assert len(tries) == dead.attempts
        assert len({r.body for r in tries}) == 1
        assert metric(rt, "breach_webhook_deliveries", status="dead") == 1
        assert metric(rt, "breach_webhook_deliveries", status="delivered") == 1
        assert metric(rt, "breach_webhook_oldest_undelivered_seconds") == 0
    finally:
        if running is not None:
            running.halt()
        rt.close()


@WINDOWS
def test_a_410_dead_letters_the_delivery_and_disables_the_subscription(
    settings: Settings, receiver: Receiver, window: int
) -> None:
    """A receiver answering 410 Gone is not tried again: the delivery is recorded gone, the
    subscription is disabled (an event saying why), and later events are not sent."""
    rt = runtime_of(settings, webhook_concurrency=window)
    running = None
    try:
        sub = subscribe(rt, receiver)
        receiver.answer = lambda _r: 410
        report(rt, 1)
        running = Running(rt)
        for _ in range(500):
            if rt.app.webhooks.get_webhook(sub).state.disabled:
                break
            threading.Event().wait(0.02)
        subscription = rt.app.webhooks.get_webhook(sub)
        assert subscription.state.disabled
        assert subscription.state.disabled_reason == "the receiver answered 410 Gone"
        report(rt, 2)
        threading.Event().wait(0.3)
        running.halt()
        assert len(receiver.received) == 1
        (row,) = rt.app.webhooks.deliveries(sub)
        assert (row.status, row.attempts, row.last_code) == (GONE, 1, 410)
    finally:
        if running is not None:
            running.halt()
        rt.close()


@WINDOWS
def test_a_restart_mid_way_loses_no_delivery_and_repeats_none(
    settings: Settings, receiver: Receiver, window: int
) -> None:
    """Senders stopped part-way and a new runtime started on the same store: every
    delivery id arrives, the first arrivals in log order, none accepted twice."""
    import time

    def slow(_r: Any) -> int:
        time.sleep(0.01 if window == 1 else 0.05)
        return 204

    receiver.answer = slow
    settings = settings.model_copy(update={"webhook_concurrency": window})
    rt = runtime_of(settings)
    try:
        sub = subscribe(rt, receiver)
        report(rt, 40)
        expected = positions_of(rt, sub)
        running = Running(rt)
        receiver.wait_for(10)
        running.halt()
    finally:
        rt.close()
    part = len(receiver.unique())
    assert 10 <= part < len(expected)
    rt = runtime_of(settings)
    try:
        running = Running(rt)
        got = receiver.wait_for(len(expected))
        running.halt()
    finally:
        rt.close()
    in_log_order(got, expected, window)
    assert len(receiver.accepted()) == len(expected)


def test_a_slow_incident_holds_up_only_its_own_deliveries_which_keep_their_order(
    settings: Settings, receiver: Receiver
) -> None:
    """Two incidents' events interleaved in the log, the receiver slow to answer for one of
    them: with several deliveries in flight, the other incident's all arrive while the slow
    one's first is still being answered, and each incident's arrive in log order."""
    import time

    rt = runtime_of(settings, webhook_concurrency=8)
    running = None
    try:
        sub = subscribe(rt, receiver)
        [quick] = report(rt, 1, title="Quick")
        [slow] = report(rt, 1, title="Slow")
        for incident in (slow, quick):
            rt.gateway.run(
                rt.app.incidents.triage_incident,
                incident,
                {"severity": "high", "incident_type": "ransomware"},
                ADMIN,
            )
        for incident in (slow, quick):
            rt.gateway.run(
                rt.app.incidents.close_incident, incident, {"resolution": "Handled"}, ADMIN
            )
        expected = positions_of(rt, sub)
        assert len(expected) == 6

        def answer(r: Received) -> int:
            if r.document["incident_id"] == str(slow):
                time.sleep(0.4)
            return 204

        receiver.answer = answer
        running = Running(rt)
        got = receiver.wait_for(len(expected))
        running.halt()
        arrived = [(r.document["incident_id"], r.document["position"]) for r in got]
        of_quick = [p for i, p in arrived if i == str(quick)]
        of_slow = [p for i, p in arrived if i == str(slow)]
        assert len(of_quick) == len(of_slow) == 3
        assert of_quick == sorted(of_quick)
        assert of_slow == sorted(of_slow)
        assert [i for i, _ in arrived][:3] == [str(quick)] * 3
        assert [r.kind for r in got if r.document["incident_id"] == str(slow)] == KINDS
        assert len(receiver.accepted()) == len(expected)
        log = rt.app.webhooks.deliveries(sub)
        assert sorted(d.position for d in log) == expected
        assert {d.status for d in log} == {DELIVERED}
    finally:
        if running is not None:
            running.halt()
        rt.close()


def test_two_senders_on_one_store_deliver_each_event_once_and_take_over_after_expiry(
    settings: Settings, receiver: Receiver
) -> None:
    """Two runtimes on the same store, each with its senders: the lease lets one of them
    deliver the subscription, each delivery id accepted exactly once between them; a
    stopped holder gives the lease up and the other delivers what follows; a holder that
    died holding it (its lease left in the store) holds up the subscription until the lease
    expires, and then a sender takes over and delivers the rest, once each."""
    import time

    settings = settings.model_copy(update={"webhook_lease_seconds": 1.5})
    first, second = runtime_of(settings), runtime_of(settings)
    runs: list[Running] = []
    try:
        sub = subscribe(first, receiver)
        report(first, 12)
        runs = [Running(first), Running(second)]
        expected = positions_of(first, sub)
        got = receiver.wait_for(len(expected))
        assert sorted(r.document["position"] for r in got) == expected
        assert len(receiver.accepted()) == len(expected)
        store = first.app.webhooks.store
        holder = store.holder(sub)
        [lead] = [r for r in runs if r.workers.sending.holder == holder]
        [other] = [r for r in runs if r is not lead]
        lead.halt()
        report(first, 5)
        expected = positions_of(first, sub)
        got = receiver.wait_for(len(expected))
        assert sorted(r.document["position"] for r in got) == expected
        assert len(receiver.accepted()) == len(expected)
        assert store.holder(sub) == other.workers.sending.holder
        other.halt()

        assert store.lease(sub, "died-holding-it", 1.5)
        held = time.monotonic()
        runs.append(Running(second))
        report(second, 8)
        expected = positions_of(first, sub)
        got = receiver.wait_for(len(expected), timeout=30)
        assert time.monotonic() - held >= 1.4
        assert sorted(r.document["position"] for r in got) == expected
        assert len(receiver.accepted()) == len(expected)
        assert store.holder(sub) == runs[-1].workers.sending.holder
        assert all(r.signed for r in receiver.received)
        runs[-1].halt()
        log = first.app.webhooks.deliveries(sub)
        assert sorted(d.position for d in log) == expected
    finally:
        for run in runs:
            run.halt()
        first.close()
        second.close()


BAD_URLS = [
    ("ftp://hooks.example.org/breach", "http or https"),
    ("javascript:alert(1)", "http or https"),
    ("http://alice:s3cret@hooks.example.org/x", "credentials"),
    ("https://token@hooks.example.org/x", "credentials"),
    ("http://127.0.0.1:9/private-path", "loopback"),
    ("http://localhost/private-path", "loopback"),
    ("http://[::1]/private-path", "loopback"),
    ("http://[::ffff:127.0.0.1]/private-path", "loopback"),
    ("http://169.254.169.254/latest/meta-data", "metadata"),
    ("http://10.1.2.3/private-path", "private"),
    ("http://192.168.0.10:8080/private-path", "private"),
    ("http://0.0.0.0/private-path", "private"),
    ("http:///no-host", "no host"),
    ("http://no-such-host.invalid/private-path", "does not resolve"),
    ("", "required"),
]


@pytest.mark.parametrize(("url", "words"), BAD_URLS)
def test_a_bad_url_is_refused_naming_the_field_without_echoing_it(
    store: Store, data_dir: Path, url: str, words: str
) -> None:
    """A URL that is not http(s), holds credentials, or points inside the machine or the
    network is refused with the field named and the URL not repeated; nothing is recorded
    in the log and nothing sealed."""
    settings = store.settings(data_dir, webhook_allow_loopback=False)
    rt = runtime_of(settings)
    try:
        before = count_events(settings)
        with pytest.raises(InvalidInput) as refused:
            rt.gateway.run(rt.app.webhooks.add_webhook, url, KINDS, ADMIN)
        assert refused.value.field == "url"
        assert words in refused.value.reason
        if url:
            assert url not in str(refused.value)
            assert "private-path" not in str(refused.value)
        assert count_events(settings) == before
        assert rt.app.webhooks.store.subscription_ids() == []
        assert rt.app.webhooks.list_webhooks() == []
    finally:
        rt.close()


def test_the_secret_and_the_urls_path_are_kept_only_sealed(
    settings: Settings, receiver: Receiver
) -> None:
    """The signing secret and the URL's path appear nowhere in the store's files or tables
    in clear; the log records the origin and the URL's digest."""
    rt = runtime_of(settings)
    try:
        subscription, secret = rt.gateway.run(
            rt.app.webhooks.add_webhook, receiver.url, KINDS, ADMIN, shape="chat"
        )
        assert rt.app.webhooks.sealed(subscription.id).secret == secret
        assert subscription.state.origin == f"http://127.0.0.1:{receiver.port}"
    finally:
        rt.close()
    everything = RawStore(settings).everything()
    assert secret.encode() not in everything
    assert b"/hooks/breach" not in everything
    assert subscription.state.origin.encode() in everything


def test_the_webhook_tables_are_the_tables_the_migrations_made(settings: Settings) -> None:
    """The webhook store's table definitions are, column for column and index for index,
    the tables its migration made, and the database records the branch's head."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine, text

    from services.storage.schema import WEBHOOKS
    from services.webhooks.tables import metadata
    from tests.support import postgres

    runtime_of(settings).close()
    if settings.database_url is not None:
        url = postgres.URL.replace("postgresql://", "postgresql+psycopg://", 1)
        engine = create_engine(
            url, connect_args={"options": f"-c search_path={settings.database_schema}"}
        )
    else:
        engine = create_engine(f"sqlite:///{settings.webhooks_db}")

    def ours(name: str | None, kind: str, parent: Any) -> bool:
        return kind != "table" or name in metadata.tables

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": ours})
        diff = compare_metadata(context, metadata)
        heads = {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))}
    engine.dispose()
    assert diff == []
    assert WEBHOOKS.head in heads


def test_the_latest_delivery_and_the_counts_are_read_per_subscription(
    settings: Settings, receiver: Receiver
) -> None:
    """Each subscription's latest delivery is its row at the highest position (whatever its
    status, and none for one that never delivered), and its counts by status are its own;
    an unknown status is refused naming the field."""
    rt = runtime_of(settings)
    try:
        first = subscribe(rt, receiver)
        second = subscribe(rt, receiver)
        quiet = subscribe(rt, receiver)
        store = rt.app.webhooks.store
        at = datetime.now(UTC).isoformat()

        def row(sub: UUID, position: int, status: str) -> Delivery:
            return Delivery(
                delivery_id=str(delivery_id(sub, position)),
                subscription_id=str(sub),
                position=position,
                kind="incident.reported",
                status=status,
                attempts=1,
                last_code=204 if status == DELIVERED else None,
                last_error=None if status == DELIVERED else "connection",
                first_at=at,
                last_at=at,
            )

        for delivery in (
            row(first, 7, DELIVERED),
            row(first, 9, DEAD),
            row(first, 8, DELIVERED),
            row(second, 3, PENDING),
            row(second, 2, DELIVERED),
        ):
            store.note(delivery)
        latest = rt.app.webhooks.latest_deliveries([first, second, quiet])
        assert set(latest) == {first, second}
        assert (latest[first].position, latest[first].status) == (9, DEAD)
        assert latest[first].last_error == "connection"
        assert (latest[second].position, latest[second].status) == (3, PENDING)
        assert rt.app.webhooks.latest_deliveries([]) == {}
        assert rt.app.webhooks.delivery_counts(first) == {
            PENDING: 0,
            DELIVERED: 2,
            DEAD: 1,
            GONE: 0,
        }
        assert rt.app.webhooks.delivery_counts(quiet) == dict.fromkeys(
            (PENDING, DELIVERED, DEAD, GONE), 0
        )
        assert store.counts() == {DELIVERED: 3, DEAD: 1, PENDING: 1}
        assert [d.position for d in rt.app.webhooks.deliveries(first, status=DELIVERED)] == [8, 7]
        with pytest.raises(InvalidInput) as refused:
            rt.app.webhooks.deliveries(first, status="lost")
        assert refused.value.field == "status"
        assert "lost" not in refused.value.reason
    finally:
        rt.close()
