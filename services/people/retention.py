"""Retention: erase affected people's data a set time after their incident is closed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from services.application.context import RequestContext
from services.incidents.board import Board
from services.people.handlers import PeopleHandlers
from services.people.people_view import People


class OpenNotices(Protocol):
    """Whether an incident still has notices in flight (the notifications reader knows)."""

    def open_for_incident(self, incident_id: UUID) -> int:
        """How many notices of ``incident_id`` are not final yet."""
        ...


@dataclass
class RetentionItem:
    """An incident whose people are due for erasure."""

    incident_id: UUID
    closed_at: datetime
    due_at: datetime
    people: list[UUID] = field(default_factory=list)


def plan(
    app: PeopleHandlers,
    board: Board,
    people: People,
    notifications: OpenNotices,
    *,
    days: int,
    now: datetime,
) -> list[RetentionItem]:
    """Incidents closed at least ``days`` ago whose notices are final, with people to erase."""
    items = []
    for row in board.rows(status="closed"):
        incident_id = UUID(row["incident_id"])
        state = app.incidents.get_incident(incident_id).state
        if state.closed_at is None:
            continue
        due = state.closed_at + timedelta(days=days)
        if due > now or notifications.open_for_incident(incident_id):
            continue
        active = [UUID(r["person_id"]) for r in people.of_incident(incident_id, status="active")]
        if active:
            items.append(RetentionItem(incident_id, state.closed_at, due, active))
    return items


def apply(app: PeopleHandlers, items: list[RetentionItem], days: int, ctx: RequestContext) -> int:
    """Erase every person in the plan; return how many were erased."""
    erased = 0
    reason = f"retention policy: {days} days after the incident was closed"
    for item in items:
        for person in item.people:
            app.erase_person(person, reason, ctx)
            erased += 1
    return erased
