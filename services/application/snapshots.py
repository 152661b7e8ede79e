"""Snapshots of aggregates whose state is one pydantic value, so long histories load fast.

A snapshot records the aggregate's state at a version, with the times of its first and last
events, so that an as-of replay can start from the latest snapshot recorded before a moment.
A snapshot is dated by the last event it covers (a time from the application's clock).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import CanSnapshotAggregate
from eventsourcing.utils import get_topic, resolve_topic
from pydantic import AwareDatetime, BaseModel, ConfigDict


class StateSnapshot(BaseModel, CanSnapshotAggregate[UUID]):
    """The state of an aggregate at a version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    originator_id: UUID
    originator_version: int
    timestamp: AwareDatetime
    topic: str
    state: dict[str, Any]
    created_on: AwareDatetime
    modified_on: AwareDatetime

    @classmethod
    def take(cls, aggregate: Any) -> StateSnapshot:
        """Snapshot an aggregate that keeps its state in ``aggregate.state`` (its class names
        the state's model as ``STATE``)."""
        return cls(
            originator_id=aggregate.id,
            originator_version=aggregate.version,
            timestamp=aggregate.modified_on,
            topic=get_topic(type(aggregate)),
            state=aggregate.state.model_dump(mode="json"),
            created_on=aggregate.created_on,
            modified_on=aggregate.modified_on,
        )

    def mutate(self, _: Any) -> Any:
        """Rebuild the aggregate from the snapshot."""
        cls = resolve_topic(self.topic)
        aggregate = cls.__new__(cls)
        aggregate.__base_init__(
            originator_id=self.originator_id,
            originator_version=self.originator_version,
            timestamp=self.created_on,
        )
        aggregate.modified_on = self.modified_on
        aggregate.state = cls.STATE.model_validate(self.state)
        return aggregate
