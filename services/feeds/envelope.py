"""The envelope of a stored event on the event stream: canonical JSON, keyed by aggregate.

One message per stored event. Its key is the aggregate id (so every event of an aggregate
lands in one partition, in order), its header ``position`` is the event's position in the
log, and its value is this JSON object (sorted keys, no insignificant whitespace, UTF-8, so
the bytes depend on the event alone)::

    {"actor": ..., "aggregate_id": ..., "aggregate_version": ..., "class_version": ...,
     "correlation_id": ..., "envelope": 1, "payload": {...}, "position": ...,
     "recorded_at": ..., "type": "events.incident:IncidentReported"}

``payload`` holds the event's fields exactly as the application stores them, at the schema
version ``class_version`` they were stored with (a reader upcasts them through the
application's mapper). Affected people's data is sealed per person inside the events, so
nothing personal travels in clear. The store's optional at-rest cipher is not applied here:
the stream is protected by the broker's transport security and access control instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification, StoredEvent

from events.base import DomainEvent
from events.canonical import Form, canonical_json
from services.feeds.base import Positioned

ENVELOPE_VERSION = 1
POSITION_HEADER = "position"


@dataclass(frozen=True)
class Message:
    """One message of the stream: key, value and headers, as bytes."""

    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    position: int
    aggregate_id: UUID


def stored_state(notification: Notification | StoredEvent, mapper: Mapper[UUID]) -> dict[str, Any]:
    """The stored fields of an event: its stored bytes opened (at-rest cipher and compression
    undone) and decoded, not upcast."""
    data = notification.state
    if mapper.cipher is not None:
        data = mapper.cipher.decrypt(data)
    if mapper.compressor is not None:
        data = mapper.compressor.decompress(data)
    state = mapper.transcoder.decode(data)
    if not isinstance(state, dict):
        msg = f"stored event {notification.originator_id} is not a JSON object"
        raise TypeError(msg)
    return cast(dict[str, Any], state)


def envelope(notification: Notification, mapper: Mapper[UUID]) -> dict[str, Any]:
    """The envelope of a stored event (see the module's description)."""
    payload = stored_state(notification, mapper)
    class_version = int(payload.pop("class_version", 1))
    return {
        "envelope": ENVELOPE_VERSION,
        "type": notification.topic,
        "class_version": class_version,
        "aggregate_id": str(notification.originator_id),
        "aggregate_version": notification.originator_version,
        "position": notification.id,
        "recorded_at": payload.get("timestamp"),
        "actor": payload.get("actor"),
        "correlation_id": payload.get("correlation_id"),
        "payload": payload,
    }


def encode(notification: Notification, mapper: Mapper[UUID]) -> Message:
    """The message that carries a stored event."""
    aggregate = notification.originator_id
    return Message(
        key=str(notification.originator_id).encode(),
        value=canonical_json(envelope(notification, mapper), Form.COMPACT),
        headers=((POSITION_HEADER, str(notification.id).encode()),),
        position=notification.id,
        aggregate_id=aggregate if isinstance(aggregate, UUID) else UUID(aggregate),
    )


def plain_mapper(mapper: Mapper[UUID]) -> Mapper[UUID]:
    """The application's mapper without the at-rest cipher and compression (envelopes
    carry the fields in clear JSON); it still upcasts old schema versions."""
    return type(mapper)(transcoder=mapper.transcoder)


def decode(value: bytes, mapper: Mapper[UUID]) -> Positioned:
    """The event an envelope carries, upcast to the current schema through ``mapper``
    (a :func:`plain_mapper`), with its log position."""
    data = json.loads(value)
    if data.get("envelope") != ENVELOPE_VERSION:
        msg = f"unknown envelope version {data.get('envelope')!r}"
        raise ValueError(msg)
    state = dict(data["payload"])
    if data["class_version"] > 1:
        state["class_version"] = data["class_version"]
    stored = StoredEvent(
        originator_id=UUID(data["aggregate_id"]),
        originator_version=int(data["aggregate_version"]),
        topic=data["type"],
        state=mapper.transcoder.encode(state),
    )
    event = cast(DomainEvent, mapper.to_domain_event(stored))
    return Positioned(int(data["position"]), event)
