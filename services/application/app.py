"""The composed application: one class whose methods are all of breachledger's commands."""

from __future__ import annotations

from typing import Any, ClassVar

from events.containment import ContainmentTask
from events.incident import Incident
from events.notifications import Campaign
from services.application.snapshots import StateSnapshot
from services.assessment.handlers import AssessmentHandlers
from services.containment.handlers import ContainmentHandlers
from services.notifications.handlers import NotificationHandlers
from services.people.handlers import PeopleHandlers
from services.users.handlers import UserHandlers

SNAPSHOT_INTERVAL = 50


class BreachLedger(
    UserHandlers, NotificationHandlers, PeopleHandlers, ContainmentHandlers, AssessmentHandlers
):
    """breachledger's application; capabilities contribute their command methods as bases.

    Incidents, campaigns and tasks can grow long histories, so they are snapshotted every
    ``SNAPSHOT_INTERVAL`` events.
    """

    snapshot_class = StateSnapshot
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {
        Incident: SNAPSHOT_INTERVAL,
        Campaign: SNAPSHOT_INTERVAL,
        ContainmentTask: SNAPSHOT_INTERVAL,
    }
