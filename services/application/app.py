"""The composed application: one class whose methods are all of breachledger's commands."""

from __future__ import annotations

from services.assessment.handlers import AssessmentHandlers


class BreachLedger(AssessmentHandlers):
    """breachledger's application; capabilities contribute their command methods as bases."""
