"""Webhook rules without I/O: addresses allowed, signatures, payloads that carry no text
that may name a person, kinds from the log's topics, delivery ids, subscription rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from events.alerts import Alert, SubjectKind
from events.base import Cause
from events.errors import RuleViolation
from events.incident import Incident, IncidentReported
from events.values import IncidentType, LegalMoments, SourceChannel
from events.webhooks import PayloadShape, WebhookKind, WebhookSubscription
from services.webhooks import payloads
from services.webhooks.delivery import RetryPolicy
from services.webhooks.handlers import kinds_of
from services.webhooks.sender import judge
from services.webhooks.signing import delivery_id, mac, signature, verify
from services.webhooks.urls import address_allowed

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
CAUSE = Cause(actor="alice", correlation_id="c-1", at=NOW)


@pytest.mark.parametrize(
    ("address", "loopback", "allowed"),
    [
        ("93.184.216.34", False, True),
        ("2606:2800:220:1::1", False, True),
        ("127.0.0.1", False, False),
        ("127.0.0.1", True, True),
        ("::1", True, True),
        ("::ffff:127.0.0.1", False, False),
        ("169.254.169.254", True, False),
        ("fe80::1", True, False),
        ("10.0.0.1", True, False),
        ("172.16.5.4", True, False),
        ("192.168.1.1", True, False),
        ("100.64.0.1", True, False),
        ("fd00:ec2::254", True, False),
        ("0.0.0.0", True, False),
        ("224.0.0.1", True, False),
    ],
)
def test_only_public_addresses_receive_deliveries(
    address: str, loopback: bool, allowed: bool
) -> None:
    """Public addresses are allowed; loopback only when the setting allows it; private,
    link-local (the metadata address among them), shared, unspecified and multicast never."""
    assert address_allowed(address, allow_loopback=loopback) is allowed


def test_a_signature_verifies_only_for_its_secret_body_and_time() -> None:
    """The header verifies for the body and secret it was made with, within the tolerance,
    and fails for another body, another secret, a stale time or a malformed header."""
    body = b'{"kind":"incident.reported"}'
    header = signature("whsec_x", 1_800_000_000, body)
    assert header == f"t=1800000000,v1=sha256={mac('whsec_x', 1_800_000_000, body)}"
    assert verify("whsec_x", header, body, 1_800_000_100)
    assert not verify("whsec_x", header, body + b" ", 1_800_000_100)
    assert not verify("whsec_y", header, body, 1_800_000_100)
    assert not verify("whsec_x", header, body, 1_800_001_000)
    assert not verify("whsec_x", "t=abc,v1=sha256=00", body, 1_800_000_000)
    assert not verify("whsec_x", "", body, 1_800_000_000)


def test_the_documented_signature_is_hmac_sha256_of_time_dot_body() -> None:
    """The MAC is HMAC-SHA256 keyed with the secret's UTF-8 bytes over ``<t>.<body>``."""
    import hashlib
    import hmac

    want = hmac.new(b"whsec_x", b"1800000000.{}", hashlib.sha256).hexdigest()
    assert mac("whsec_x", 1_800_000_000, b"{}") == want


def test_a_delivery_id_is_the_same_for_one_subscription_and_position() -> None:
    """The delivery id depends on subscription and position only."""
    sub = uuid4()
    assert delivery_id(sub, 7) == delivery_id(sub, 7)
    assert delivery_id(sub, 7) != delivery_id(sub, 8)
    assert delivery_id(sub, 7) != delivery_id(uuid4(), 7)


def reported() -> IncidentReported:
    incident = Incident.report(
        CAUSE,
        incident_id=uuid4(),
        title="Jane Doe's laptop stolen",
        description="Jane Doe of 1 High Street lost it",
        reporter="jane.doe",
        source=SourceChannel("siem"),
        incident_type=IncidentType("lost_or_stolen_device"),
        moments=LegalMoments(discovered_at=NOW),
    )
    (event,) = incident.collect_events()
    assert isinstance(event, IncidentReported)
    return event


def test_a_payload_carries_ids_kinds_and_times_and_no_free_text() -> None:
    """A reported incident's payload has its id, kind, type and times, and neither its
    title, its description nor its reporter, in both shapes."""
    event = reported()
    assert payloads.kind_of(event) is WebhookKind.INCIDENT_REPORTED
    sub = uuid4()
    doc = payloads.document(
        delivery=delivery_id(sub, 3),
        subscription=sub,
        kind=WebhookKind.INCIDENT_REPORTED,
        position=3,
        event=event,
        incident_of=lambda _c: None,
    )
    assert doc["incident_id"] == str(event.originator_id)
    assert doc["data"]["incident_type"] == "lost_or_stolen_device"
    for shape in PayloadShape:
        body = payloads.body(shape, doc)
        assert b"Jane" not in body
        assert b"High Street" not in body
        assert b"jane.doe" not in body
    chat = payloads.body(PayloadShape.CHAT, doc)
    assert chat.startswith(b'{"text":"[breachledger] incident.reported: incident ')


def test_events_known_by_name_are_kinds_and_keep_only_safe_fields() -> None:
    """An event class named AlertRaised, wherever it lives, is the kind alert.raised, and its
    payload keeps ids, steps and times but not its recipients."""
    from events.base import DomainEvent

    class AlertRaised(DomainEvent):
        """A stand-in with the name the kind is known by."""

        incident_id: UUID
        step: str
        recipients: tuple[str, ...]

    event = AlertRaised(
        originator_id=uuid4(),
        originator_version=1,
        incident_id=uuid4(),
        step="due_in_6h",
        recipients=("jane.doe",),
        **CAUSE.stamp(),
    )
    assert payloads.kind_of(event) is WebhookKind.ALERT_RAISED
    incident, data = payloads.facts(event, lambda _c: None)
    assert incident == event.incident_id
    assert data == {"step": "due_in_6h"}


def test_kinds_are_checked_and_a_subscription_needs_one() -> None:
    """Unknown kinds are refused naming their position; a subscription without kinds, or
    disabled twice, or enabled while enabled, is refused."""
    assert kinds_of(["alert.raised", "alert.raised"]) == (WebhookKind.ALERT_RAISED,)
    with pytest.raises(Exception, match="item 2"):
        kinds_of(["incident.reported", "incident.exploded"])
    with pytest.raises(RuleViolation):
        WebhookSubscription.add(
            CAUSE,
            subscription_id=uuid4(),
            origin="https://h",
            url_digest="0",
            kinds=(),
            shape=PayloadShape.JSON,
        )
    sub = WebhookSubscription.add(
        CAUSE,
        subscription_id=uuid4(),
        origin="https://h",
        url_digest="0",
        kinds=(WebhookKind.INCIDENT_REPORTED,),
        shape=PayloadShape.JSON,
    )
    with pytest.raises(RuleViolation):
        sub.enable(CAUSE)
    sub.disable(CAUSE, reason="receiver retired")
    with pytest.raises(RuleViolation):
        sub.disable(CAUSE, reason="again")
    sub.enable(CAUSE)
    assert not sub.state.disabled


def test_answers_are_judged_delivered_gone_or_tried_again() -> None:
    """2xx is delivered, 410 gone, every other code tried again."""
    assert judge(204).outcome == "delivered"
    assert judge(410).outcome == "gone"
    assert {judge(c).outcome for c in (301, 400, 401, 429, 500, 503)} == {"retry"}


@pytest.mark.parametrize(
    ("subject", "hours_before", "kinds"),
    [
        (SubjectKind.OBLIGATION, 6, ("alert.raised", "obligation.due")),
        (SubjectKind.OBLIGATION, 0, ("alert.raised", "obligation.overdue")),
        (SubjectKind.TASK, 0, ("alert.raised", "task.overdue")),
        (SubjectKind.TASK, 2, ("alert.raised",)),
    ],
)
def test_a_raised_alert_is_known_by_its_subject_and_whether_it_is_overdue(
    subject: SubjectKind, hours_before: int, kinds: tuple[str, ...]
) -> None:
    """A raised alert is alert.raised and, by its subject and whether its step is due at
    the deadline, obligation.due, obligation.overdue or task.overdue; a subscription gets
    the first kind it asked for, and the payload names the subject without recipients."""
    deadline = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    alert = Alert.raise_step(
        CAUSE,
        step="reminder",
        subject_kind=subject,
        subject_id="eu_gdpr/supervisory_authority" if subject is SubjectKind.OBLIGATION else "t1",
        incident_id=uuid4(),
        deadline=deadline,
        due_at=deadline - timedelta(hours=hours_before),
        recipients=("jane.doe",),
        channels=("bell",),
        late=False,
    )
    [event] = alert.collect_events()
    assert tuple(k.value for k in payloads.kinds_of(event)) == kinds
    assert payloads.kind_of(event, lambda k: k != WebhookKind.ALERT_RAISED) == (
        WebhookKind(kinds[-1]) if len(kinds) > 1 else None
    )
    _, data = payloads.facts(event, lambda _c: None)
    named = "obligation_id" if subject is SubjectKind.OBLIGATION else "task_id"
    assert data[named]
    assert "recipients" not in data
    assert "jane.doe" not in str(data)


def test_a_retry_pause_is_random_up_to_a_doubling_ceiling_capped_at_the_longest() -> None:
    """The pause after the n-th failed attempt is random between 0 and base * 2**(n-1),
    never above the longest pause, and spreads over that range (full jitter)."""
    policy = RetryPolicy(base=2.0, max_pause=20.0)
    for failed, ceiling in ((1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0), (5, 20.0), (9, 20.0)):
        pauses = [policy.pause(failed) for _ in range(400)]
        assert all(0 <= p <= ceiling for p in pauses)
        assert max(pauses) > ceiling * 0.8
        assert min(pauses) < ceiling * 0.2
