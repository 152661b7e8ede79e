"""The composed application: one class whose methods are all of breachledger's commands."""

from __future__ import annotations

from services.incidents.handlers import IncidentHandlers


class BreachLedger(IncidentHandlers):
    """breachledger's application; capabilities contribute their command methods as bases."""
