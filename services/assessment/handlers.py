"""The assessment commands of the application: assess, evaluate what-ifs, decide.

Obligations are recomputed inside every command on an assessed incident (an incident
follower: :meth:`AssessmentHandlers.reevaluate_obligations`), so a corrected awareness
time, a recorded notification or a closure moves the deadlines that count from it in the
same atomic save.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import BaseAggregate
from pydantic import ValidationError

from events.assessment import AssessmentFacts, Evaluation, SeverityAssessment
from events.base import Cause
from events.incident import Incident, IncidentState
from events.values import LegalMoments
from services.application.base import LedgerApplication
from services.application.context import RequestContext
from services.application.errors import InvalidInput
from services.assessment.commands import AssessImpact, DecideObligation, WhatIfMoments
from services.assessment.engine import IncidentClocks, evaluate_obligations
from services.assessment.risk import assess_risk
from services.assessment.rules import rule_set, severity_policy
from services.incidents.handlers import IncidentHandlers
from services.incidents.presentation import in_words

ASSESSED_NOW = (
    "assessed_notifiable_at not given; counted from when this what-if ran, "
    "so the deadline moves with it"
)
DISCOVERED_NOW = (
    "moments.discovered_at not given; counted from when this what-if ran, "
    "so the deadline moves with it"
)


@dataclass(frozen=True)
class WhatIf:
    """An evaluation that was not recorded."""

    facts: AssessmentFacts
    severity: SeverityAssessment
    evaluation: Evaluation
    moments: LegalMoments


class AssessmentHandlers:
    """Impact assessment, obligations and decisions. An assessment or a decision changes
    the incident through ``incidents``, so the incident's followers run as for any change."""

    def __init__(self, core: LedgerApplication, incidents: IncidentHandlers) -> None:
        self.core = core
        self.incidents = incidents

    def evaluate(self, state: IncidentState, *, assessed_at: datetime) -> Evaluation:
        """The obligations for an incident's current facts, moments and decisions."""
        assert state.assessment is not None
        clocks = IncidentClocks(
            moments=state.moments,
            assessed_at=assessed_at,
            closed_at=state.closed_at,
            notified=state.notified(),
        )
        return evaluate_obligations(
            state.assessment.facts, state.assessment.severity, clocks, rule_set()
        )

    def reevaluate_obligations(
        self, incident: Incident, cause: Cause
    ) -> Sequence[BaseAggregate[UUID]]:
        """Recompute the obligations of an assessed incident after a change to it (an
        incident follower: a new evaluation is recorded when a deadline or duty moved)."""
        if incident.state.assessment is not None:
            reason = ", ".join(in_words(type(e).__name__) for e in incident.pending_events)
            evaluation = self.evaluate(incident.state, assessed_at=incident.state.assessment.at)
            incident.record_evaluation(cause, evaluation=evaluation, reason=reason)
        return ()

    def assess_impact(
        self, incident_id: UUID, request: AssessImpact | Mapping[str, Any], ctx: RequestContext
    ) -> Incident:
        """Record an impact assessment; its risk judgement (counted from the incident's
        moments) and obligations follow in the same save."""
        facts = self.core.validated(AssessImpact, request).facts()

        def assess(inc: Incident, cause: Cause) -> None:
            moments = inc.state.moments
            severity = assess_risk(
                facts,
                severity_policy(),
                occurred_at=moments.occurred_at,
                discovered_at=moments.discovered_at,
            )
            inc.assess(cause, facts=facts, severity=severity)

        return self.incidents.change_incident(incident_id, ctx, assess, logged="incident.assessed")

    def what_if(
        self,
        request: AssessImpact | Mapping[str, Any],
        *,
        incident_id: UUID | None = None,
        moments: WhatIfMoments | Mapping[str, Any] | None = None,
    ) -> WhatIf:
        """Evaluate facts without recording anything, on an incident's moments or given ones."""
        facts = self.core.validated(AssessImpact, request).facts()
        now = self.core.clock.now()
        # Nothing records when this breach was assessed as notifiable: the what-if counts
        # from the moment it runs, and says so.
        assumed = {"assessed": ASSESSED_NOW}
        if incident_id is not None:
            state = self.core.load(incident_id, Incident).state
            legal = state.moments
            clocks = IncidentClocks(legal, now, state.closed_at, state.notified(), assumed)
        else:
            given = self.core.validated(WhatIfMoments, moments or {})
            if given.discovered_at is None:
                assumed["discovered"] = DISCOVERED_NOW
            try:
                legal = LegalMoments.model_validate(given.filled(now))
            except ValidationError as e:
                raise InvalidInput.from_validation(e, "moments.") from None
            problem = legal.problem(now)
            if problem is not None:
                raise InvalidInput(f"moments.{problem[0]}", problem[1])
            clocks = IncidentClocks(legal, now, assumed=assumed)
        severity = assess_risk(
            facts,
            severity_policy(),
            occurred_at=legal.occurred_at,
            discovered_at=legal.discovered_at,
        )
        evaluation = evaluate_obligations(facts, severity, clocks, rule_set())
        return WhatIf(facts=facts, severity=severity, evaluation=evaluation, moments=legal)

    def decide_obligation(
        self, incident_id: UUID, request: DecideObligation | Mapping[str, Any], ctx: RequestContext
    ) -> Incident:
        """Record a decision on an obligation, pinned to the current log position."""
        cmd = self.core.validated(DecideObligation, request)
        position = self.core.recorder.max_notification_id() or 0

        def decide(inc: Incident, cause: Cause) -> None:
            inc.decide(
                cause,
                obligation_id=self._obligation_id(inc, cmd.obligation),
                decision=cmd.decision,
                reason=cmd.reason,
                notified_at=cmd.notified_at,
                reference=cmd.reference,
                log_position=position,
            )

        return self.incidents.change_incident(
            incident_id,
            ctx,
            decide,
            logged="obligation.decided",
            decision=cmd.decision.value,
        )

    @staticmethod
    def _obligation_id(incident: Incident, given: str) -> str:
        """Resolve an obligation id given whole or as a unique prefix."""
        evaluation = incident.state.evaluation
        if evaluation is None:
            return given
        ids = [o.id for o in evaluation.obligations]
        if given in ids:
            return given
        matches = [i for i in ids if i.startswith(given)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InvalidInput(
                "obligation", f"matches several obligations ({', '.join(matches)}); give more"
            )
        return given
