"""Two assessments of different bands and triage estimates apart from both, for tests of
the one severity an incident shows (the bands come from the shipped severity policy, so the
tests follow it wherever it puts these facts)."""

from __future__ import annotations

from typing import Any

from events.assessment import AssessmentFacts
from events.values import Severity, severity_of_band
from services.assessment.rules import severity_policy
from services.assessment.severity import assess_severity
from tests.support.facts import PORTAL_LEAK

HEALTH_LEAK: dict[str, Any] = {**PORTAL_LEAK, "data_categories": ["health"]}
"""The portal leak, had the CVs been health records."""


def band_of(facts: dict[str, Any]) -> Severity:
    """The severity the shipped policy assesses for these facts."""
    band = assess_severity(AssessmentFacts.model_validate(facts), severity_policy()).band
    severity = severity_of_band(band)
    assert severity is not None, "the policy's band is off the severity scale"
    return severity


def apart_from(*taken: Severity) -> Severity:
    """The lowest severity that is none of ``taken``."""
    return next(s for s in Severity if s not in taken)
