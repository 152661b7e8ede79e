"""The dashboard's webhook pages, against a real receiver on loopback: an admin lists and
subscribes receivers (the signing secret shown once), reads a subscription's delivery log,
sends a signed test delivery, disables and enables; forms need the CSRF token, other roles
are refused, and bad input names the field without repeating it and records nothing."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest

from services.webhooks.delivery import RetryPolicy, SubscriptionProcessor
from services.webhooks.signing import SIGNATURE_HEADER, delivery_id, verify
from tests.support.webhook_receiver import Receiver
from tests.web.conftest import ROLES, Browser, Web, dashboard, settings_for

KINDS = ["incident.reported", "alert.raised"]
SECRET = re.compile(r"whsec_[A-Za-z0-9_-]+")
ONCE = "it will not be shown again"
MARK = "zq7marker"
RETRY = RetryPolicy(
    base=0.001, max_pause=0.01, give_up=timedelta(0), timeout=5.0, allow_loopback=True
)
"""Deliveries tried once: a failure is dead-lettered at once (the retry window is empty)."""


@pytest.fixture
def hooks(tmp_path: Path) -> Iterator[Web]:
    settings = settings_for(tmp_path / "var").model_copy(update={"webhook_allow_loopback": True})
    with dashboard(settings) as out:
        yield out


@pytest.fixture
def receiver(hooks: Web) -> Iterator[Receiver]:
    r = Receiver().start()
    r.now = lambda: hooks.clock.current.timestamp()
    yield r
    r.stop()


def subscribe(admin: Browser, receiver: Receiver, shape: str = "json") -> tuple[UUID, str]:
    """Subscribe the receiver through the form; tell it the secret the answer showed."""
    admin.get("/webhooks")
    r = admin.post("/webhooks", {"url": receiver.url, "kinds": KINDS, "shape": shape})
    assert r.status_code == 200, r.text
    found = SECRET.search(r.text)
    assert found is not None, "the answer shows no signing secret"
    receiver.secret = found.group(0)
    hook = re.search(r'action="/webhooks/([0-9a-f-]{36})/test"', r.text)
    assert hook is not None
    return UUID(hook.group(1)), receiver.secret


def deliver(web: Web, hook: UUID) -> None:
    """Run the subscription's sender once over everything it has not handled yet."""
    rt = web.rt
    rt.settle()
    processor = SubscriptionProcessor(rt.app.webhooks, hook, RETRY, threading.Event())
    try:
        at = processor.position()
        items = rt.feed.read(at, 1000)
        if items:
            processor.process(items, at)
    finally:
        processor.close()


def test_an_admin_subscribes_a_receiver_and_sees_its_secret_once(
    hooks: Web, receiver: Receiver
) -> None:
    """The admin's header links the page; subscribing records one event and answers with the
    secret and the copy-it-now note; neither a reload of the list nor the subscription's page
    shows the secret again, and no page shows the URL's path."""
    admin = hooks.sign_in("admin")
    empty = admin.get("/webhooks")
    assert empty.status_code == 200
    assert '<a href="/webhooks">Webhooks</a>' in empty.text
    assert "No receiver is subscribed." in empty.text
    before = hooks.events()
    admin.get("/webhooks")
    r = admin.post("/webhooks", {"url": receiver.url, "kinds": KINDS, "shape": "chat"})
    assert r.status_code == 200, r.text
    secret = SECRET.search(r.text)
    assert secret is not None
    assert ONCE in r.text
    assert "/hooks/breach" not in r.text
    assert hooks.events() == before + 1
    (subscription,) = hooks.rt.app.webhooks.list_webhooks()
    assert hooks.rt.app.webhooks.sealed(subscription.id).secret == secret.group(0)
    listed = admin.get("/webhooks")
    origin = f"http://127.0.0.1:{receiver.port}"
    assert f'<a href="/webhooks/{subscription.id}"><code>{origin}</code></a>' in listed.text
    assert "incident.reported, alert.raised" in listed.text
    assert "<td>chat</td>" in listed.text
    assert "<td>active</td>" in listed.text
    assert "none yet" in listed.text
    for reloaded in (listed, admin.get(f"/webhooks/{subscription.id}")):
        assert reloaded.status_code == 200
        assert secret.group(0) not in reloaded.text
        assert SECRET.search(reloaded.text) is None
        assert ONCE not in reloaded.text
        assert "/hooks/breach" not in reloaded.text


def test_the_delivery_log_shows_each_delivery_newest_first_and_filters_by_status(
    hooks: Web, receiver: Receiver
) -> None:
    """After real deliveries (two answered 204, one answered 500, one to a receiver that is
    down) the subscription's page lists them newest first with status, attempts, answer
    code, recorded error and delivery id; the status filter and counts follow; the list
    shows the latest delivery's outcome."""
    admin = hooks.sign_in("admin")
    hook, _ = subscribe(admin, receiver)
    hooks.report("responder")
    hooks.report("responder")
    deliver(hooks, hook)
    assert len(receiver.accepted()) == 2
    assert all(r.signed for r in receiver.received)
    receiver.answer = lambda _r: 500
    hooks.report("responder")
    deliver(hooks, hook)
    receiver.stop()
    hooks.report("responder")
    deliver(hooks, hook)
    log = hooks.rt.app.webhooks.deliveries(hook)
    assert [d.status for d in log] == ["dead", "dead", "delivered", "delivered"]
    page = admin.get(f"/webhooks/{hook}")
    assert page.status_code == 200
    assert "Showing 4 of 4, latest first" in page.text
    assert "pending 0, delivered 2, dead 2, gone 0" in page.text
    shown = re.findall(r"<code>([0-9a-f-]{36})</code></td>\s*</tr>", page.text)
    assert shown == [d.delivery_id for d in log]
    assert shown[0] == str(delivery_id(hook, log[0].position))
    rows = re.findall(r'<tr class="delivery-(\w+)">(.*?)</tr>', page.text, re.S)
    assert [status for status, _ in rows] == ["dead", "dead", "delivered", "delivered"]
    assert "<td>connection</td>" in rows[0][1]
    assert "<td>500</td>" in rows[1][1]
    assert "<td>204</td>" in rows[2][1]
    assert '<td class="num">1</td>' in rows[2][1]
    dead = admin.get(f"/webhooks/{hook}?status=dead")
    assert "Showing 2 of 2 dead" in dead.text
    assert dead.text.count('<tr class="delivery-dead">') == 2
    assert 'class="delivery-delivered"' not in dead.text
    gone = admin.get(f"/webhooks/{hook}?status=gone")
    assert "No deliveries gone yet." in gone.text
    listed = admin.get("/webhooks")
    assert "no answer (connection)" in listed.text
    assert "/hooks/breach" not in page.text + listed.text


def test_the_test_button_sends_a_signed_ping_and_shows_the_answer(
    hooks: Web, receiver: Receiver
) -> None:
    """The Test button sends a ping the receiver verifies with the secret, shows the code it
    answered, then the kind of failure once the receiver is down; it records nothing and
    never shows the URL."""
    admin = hooks.sign_in("admin")
    hook, secret = subscribe(admin, receiver)
    admin.get(f"/webhooks/{hook}")
    before = hooks.events()
    r = admin.post(f"/webhooks/{hook}/test")
    assert r.status_code == 200, r.text
    assert "Test delivery: delivered" in r.text
    assert "The receiver answered 204." in r.text
    (ping,) = receiver.accepted()
    assert ping.kind == "ping"
    assert ping.document["kind"] == "ping"
    assert verify(secret, ping.headers[SIGNATURE_HEADER], ping.body, receiver.now())
    assert not verify("whsec_another", ping.headers[SIGNATURE_HEADER], ping.body, receiver.now())
    receiver.stop()
    down = admin.post(f"/webhooks/{hook}/test")
    assert down.status_code == 200
    assert "Test delivery: retry" in down.text
    assert "No answer (connection)." in down.text
    assert "/hooks/breach" not in r.text + down.text
    assert SECRET.search(r.text + down.text) is None
    assert hooks.events() == before
    assert hooks.rt.app.webhooks.deliveries(hook) == []


def test_an_admin_disables_with_a_reason_and_enables_again(hooks: Web, receiver: Receiver) -> None:
    """Disable records one event and shows the reason and an Enable form; a disable without
    a reason is refused naming the field with nothing recorded; a stale version is refused;
    enable records one event."""
    admin = hooks.sign_in("admin")
    hook, _ = subscribe(admin, receiver)
    page = admin.get(f"/webhooks/{hook}")
    assert 'id="disable-form"' in page.text
    before = hooks.events()
    empty = admin.post(f"/webhooks/{hook}/disable", {"reason": " ", "version": "1"})
    assert empty.status_code == 422
    assert 'role="alert">reason:' in empty.text
    assert hooks.events() == before
    r = admin.post(f"/webhooks/{hook}/disable", {"reason": "receiver retired", "version": "1"})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/webhooks/{hook}?ok=webhook_disabled"
    assert hooks.events() == before + 1
    off = admin.get(r.headers["location"])
    assert "Webhook disabled." in off.text
    assert "receiver retired" in off.text
    assert 'id="enable-form"' in off.text
    assert 'id="disable-form"' not in off.text
    assert hooks.rt.app.webhooks.get_webhook(hook).state.disabled
    stale = admin.post(f"/webhooks/{hook}/enable", {"version": "1"})
    assert stale.status_code == 412
    assert hooks.events() == before + 1
    on = admin.post(f"/webhooks/{hook}/enable", {"version": "2"})
    assert on.status_code == 303
    assert hooks.events() == before + 2
    assert not hooks.rt.app.webhooks.get_webhook(hook).state.disabled
    assert "<td>active</td>" in admin.get("/webhooks").text


def test_every_webhook_form_refuses_a_missing_or_wrong_csrf_token(
    hooks: Web, receiver: Receiver
) -> None:
    """Subscribing, disabling, enabling and testing without the session's CSRF token (or
    with another) are refused with 403; nothing is recorded and nothing reaches the
    receiver."""
    admin = hooks.sign_in("admin")
    hook, _ = subscribe(admin, receiver)
    before = hooks.events()
    forms = {
        "/webhooks": {"url": receiver.url, "kinds": KINDS},
        f"/webhooks/{hook}/disable": {"reason": "because", "version": "1"},
        f"/webhooks/{hook}/enable": {"version": "1"},
        f"/webhooks/{hook}/test": {},
    }
    for path, data in forms.items():
        for token in (None, "forged-token"):
            fields = {**data, **({"csrf": token} if token else {})}
            r = admin.client.post(path, data=fields, follow_redirects=False)
            assert r.status_code == 403, (path, r.status_code)
            assert "nothing was recorded" in r.text
    assert hooks.events() == before
    assert receiver.received == []
    assert len(hooks.rt.app.webhooks.list_webhooks()) == 1


def test_other_roles_are_refused_and_see_no_link(hooks: Web, receiver: Receiver) -> None:
    """Every role but admin gets 403 from the pages and forms, records nothing, sends
    nothing and has no Webhooks link; a user holding admin among other roles has it."""
    admin = hooks.sign_in("admin")
    hook, _ = subscribe(admin, receiver)
    before = hooks.events()
    for role in (r for r in ROLES if r != "admin"):
        browser = hooks.sign_in(role)
        home = browser.get("/")
        assert home.status_code == 200, role
        assert '<nav aria-label="Main">' in home.text
        assert 'href="/webhooks"' not in home.text, role
        for path in ("/webhooks", f"/webhooks/{hook}"):
            assert browser.get(path).status_code == 403, (role, path)
        for path, data in (
            ("/webhooks", {"url": receiver.url, "kinds": KINDS}),
            (f"/webhooks/{hook}/test", {}),
            (f"/webhooks/{hook}/disable", {"reason": "x", "version": "1"}),
        ):
            assert browser.post(path, data).status_code == 403, (role, path)
    assert hooks.events() == before
    assert receiver.received == []
    assert '<a href="/webhooks">Webhooks</a>' in hooks.sign_in("chief").get("/").text


BAD = [
    ({"url": f"http://169.254.169.254/latest/meta-data/{MARK}", "kinds": KINDS}, "url"),
    ({"url": f"gopher://hooks.example.org/{MARK}", "kinds": KINDS}, "url"),
    ({"url": f"http://user:{MARK}@hooks.example.org/x", "kinds": KINDS}, "url"),
    ({"url": f"http://10.1.2.3/{MARK}", "kinds": KINDS}, "url"),
    ({"url": f"http://127.0.0.1:9/{MARK}"}, "kinds"),
    ({"url": f"http://127.0.0.1:9/{MARK}", "kinds": [f"incident.{MARK}"]}, "kinds"),
    ({"url": f"http://127.0.0.1:9/{MARK}", "kinds": KINDS, "shape": f"xml{MARK}"}, "shape"),
]


@pytest.mark.parametrize(("data", "field"), BAD)
def test_bad_input_names_the_field_without_echo_and_records_nothing(
    hooks: Web, data: dict[str, object], field: str
) -> None:
    """A URL that is not allowed, no kind, an unknown kind or an unknown shape re-renders
    the form (422) with an error naming the field; the value given appears nowhere on the
    page; no event is appended and nothing is sealed."""
    admin = hooks.sign_in("admin")
    admin.get("/webhooks")
    before = hooks.events()
    r = admin.post("/webhooks", data)
    assert r.status_code == 422, r.text
    assert f'role="alert">{field}:' in r.text
    assert MARK not in r.text
    assert 'id="add-webhook-form"' in r.text
    assert hooks.events() == before
    assert hooks.rt.app.webhooks.store.subscription_ids() == []
