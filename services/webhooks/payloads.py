"""What a delivery says: the kind of an event of the log, and a payload of ids, kinds, times
and severities only.

Never personal data of affected people, and never free text: titles, descriptions, notes,
reasons, resolutions and references are written by people about people and may name one,
and a receiver (a chat channel, a ticketing tool) is outside the ledger's erasure and
retention. Usernames are left out too (the staff acting are people). A receiver that needs
more asks the API with the ids given.

Two shapes: the full JSON document, and a chat message (``{"text": ...}``, which Slack's
and Microsoft Teams' incoming webhooks accept).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from events.alerts import AlertRaised, SubjectKind
from events.base import DomainEvent
from events.canonical import canonical_json
from events.incident import (
    ImpactAssessed,
    IncidentClosed,
    IncidentReported,
    IncidentTriaged,
    ObligationDecided,
)
from events.notifications import CampaignApproved, CampaignCompleted
from events.webhooks import PayloadShape, WebhookKind

K = WebhookKind

OWN_TOPICS: dict[str, WebhookKind] = {
    get_topic(IncidentReported): K.INCIDENT_REPORTED,
    get_topic(IncidentTriaged): K.INCIDENT_TRIAGED,
    get_topic(IncidentClosed): K.INCIDENT_CLOSED,
    get_topic(ImpactAssessed): K.ASSESSMENT_RECORDED,
    get_topic(ObligationDecided): K.OBLIGATION_DECIDED,
    get_topic(CampaignApproved): K.CAMPAIGN_APPROVED,
    get_topic(CampaignCompleted): K.CAMPAIGN_COMPLETED,
}
"""The kinds of the log's own events, by topic."""

NAMED_KINDS: dict[str, WebhookKind] = {"AlertRaised": K.ALERT_RAISED}
"""Kinds of events known by their class name wherever they are defined."""

def alert_kind(event: AlertRaised) -> WebhookKind | None:
    """The kind a raised alert is also known by: a step due before an obligation's deadline
    is ``obligation.due``, a step due at or after it ``obligation.overdue``, and a task's
    step at or after its due time ``task.overdue`` (whatever the ladder names the steps)."""
    overdue = event.due_at >= event.deadline
    if event.subject_kind is SubjectKind.OBLIGATION:
        return K.OBLIGATION_OVERDUE if overdue else K.OBLIGATION_DUE
    return K.TASK_OVERDUE if overdue else None


SAFE_FIELDS = frozenset(
    {
        "step",
        "late",
        "channels",
        "incident_id",
        "obligation_id",
        "task_id",
        "campaign_id",
        "deadline",
        "deadline_version",
        "due_at",
        "severity",
        "regime",
    }
)
"""The fields of an event known by name that a payload may carry: ids, steps, times and
severities (recipients, who are people, are not among them)."""

IncidentOf = Callable[[UUID], UUID | None]
"""The incident a campaign belongs to."""


def kinds_of(event: DomainEvent) -> tuple[WebhookKind, ...]:
    """Every webhook kind an event of the log is known by, most general first (a raised
    alert is ``alert.raised`` and, by its subject and step, ``obligation.due``,
    ``obligation.overdue`` or ``task.overdue``); empty when no subscription is told of it."""
    topic = get_topic(type(event))
    found = OWN_TOPICS.get(topic) or NAMED_KINDS.get(type(event).__name__)
    if found is None:
        return ()
    if isinstance(event, AlertRaised):
        also = alert_kind(event)
        if also is not None:
            return (found, also)
    return (found,)


def kind_of(
    event: DomainEvent, wants: Callable[[WebhookKind], bool] = lambda _k: True
) -> WebhookKind | None:
    """The kind an event is delivered as to a subscription that ``wants`` some kinds: the
    first of :func:`kinds_of` it wants (one delivery per event and subscription), else
    None."""
    return next((k for k in kinds_of(event) if wants(k)), None)


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def facts(event: DomainEvent, incident_of: IncidentOf) -> tuple[UUID | None, dict[str, Any]]:
    """The incident an event concerns (None when none) and the facts a payload carries."""
    match event:
        case IncidentReported():
            return event.originator_id, {
                "incident_type": event.incident_type.value,
                "source": event.source.value,
                "discovered_at": _time(event.discovered_at),
                "aware_at": _time(event.aware_at),
            }
        case IncidentTriaged():
            return event.originator_id, {
                "severity": event.severity.value,
                "personal_data_breach": event.personal_data_breach.value,
                "incident_type": event.incident_type.value,
            }
        case IncidentClosed():
            return event.originator_id, {}
        case ImpactAssessed():
            return event.originator_id, {
                "severity": event.severity.band,
                "risk": event.severity.risk,
                "score": event.severity.score,
                "policy_version": event.severity.policy_version,
            }
        case ObligationDecided():
            return event.originator_id, {
                "obligation_id": event.obligation_id,
                "decision": event.decision.value,
                "notified_at": _time(event.notified_at),
            }
        case AlertRaised():
            subject = "task_id" if event.subject_kind is SubjectKind.TASK else "obligation_id"
            return event.incident_id, {
                "step": event.step,
                "late": event.late,
                "channels": list(event.channels),
                subject: event.subject_id,
                "deadline": _time(event.deadline),
                "due_at": _time(event.due_at),
            }
        case CampaignApproved():
            return incident_of(event.originator_id), {"campaign_id": str(event.originator_id)}
        case CampaignCompleted():
            return incident_of(event.originator_id), {
                "campaign_id": str(event.originator_id),
                "sent": event.sent,
                "failed": event.failed,
                "suppressed": event.suppressed,
            }
    dumped = event.model_dump(mode="json")
    kept = {k: v for k, v in dumped.items() if k in SAFE_FIELDS}
    incident = kept.pop("incident_id", None)
    return (UUID(incident) if isinstance(incident, str) else None), kept


def document(
    *,
    delivery: UUID,
    subscription: UUID,
    kind: WebhookKind,
    position: int,
    event: DomainEvent,
    incident_of: IncidentOf,
) -> dict[str, Any]:
    """The full JSON document of a delivery."""
    incident, data = facts(event, incident_of)
    return {
        "delivery_id": str(delivery),
        "subscription_id": str(subscription),
        "kind": kind.value,
        "position": position,
        "recorded_at": event.timestamp.isoformat(),
        "incident_id": None if incident is None else str(incident),
        "subject": {"id": str(event.originator_id), "version": event.originator_version},
        "data": data,
    }


def chat_text(doc: dict[str, Any]) -> str:
    """One line a chat channel shows for a delivery's document."""
    data = doc["data"]
    details = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(data.items()) if v)
    about = f"incident {doc['incident_id']}" if doc["incident_id"] else f"{doc['subject']['id']}"
    line = f"[breachledger] {doc['kind']}: {about}"
    if details:
        line += f" ({details})"
    return f"{line} at {doc['recorded_at']}"


def body(shape: PayloadShape, doc: dict[str, Any]) -> bytes:
    """The bytes sent for ``doc`` in ``shape`` (canonical JSON, so a receiver can check the
    signature over exactly what it received)."""
    if shape is PayloadShape.CHAT:
        return canonical_json({"text": chat_text(doc)})
    return canonical_json(doc)


def ping(subscription: UUID, delivery: UUID, at: datetime) -> dict[str, Any]:
    """The document of a test delivery (``breach webhooks test``): no event, kind ``ping``."""
    return {
        "delivery_id": str(delivery),
        "subscription_id": str(subscription),
        "kind": "ping",
        "position": None,
        "recorded_at": at.isoformat(),
        "incident_id": None,
        "subject": {"id": str(subscription), "version": 0},
        "data": {},
    }
