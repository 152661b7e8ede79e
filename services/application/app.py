"""The composed application: one class whose methods are all of breachledger's commands."""

from __future__ import annotations

from services.assessment.handlers import AssessmentHandlers
from services.containment.handlers import ContainmentHandlers
from services.notifications.handlers import NotificationHandlers
from services.people.handlers import PeopleHandlers


class BreachLedger(NotificationHandlers, PeopleHandlers, ContainmentHandlers, AssessmentHandlers):
    """breachledger's application; capabilities contribute their command methods as bases."""
