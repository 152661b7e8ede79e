"""The Incident aggregate: what was reported, corrected, triaged, noted, closed and reopened.

Commands are the public methods; each checks the rules, then triggers exactly one event.
Events only move state (their ``apply``); they never check rules, so that a history that
was valid when it was written always replays, whatever the rules are today.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import BaseAggregate
from pydantic import AliasChoices, AwareDatetime, BaseModel, ConfigDict, Field, computed_field

from events.assessment import (
    AssessmentFacts,
    Decision,
    DecisionKind,
    Evaluation,
    SeverityAssessment,
    digest,
)
from events.base import AggregateCreated, Cause, DomainEvent
from events.errors import RuleViolation
from events.values import (
    BreachDetermination,
    IncidentStatus,
    IncidentType,
    LegalMoments,
    Severity,
    SeveritySource,
    SourceChannel,
    severity_of_band,
    shown_severity,
)


class AmendableFact(StrEnum):
    """Facts of a report that a later correction may change."""

    TITLE = "title"
    DESCRIPTION = "description"
    OCCURRED_AT = "occurred_at"
    DISCOVERED_AT = "discovered_at"
    AWARE_AT = "aware_at"
    DETERMINED_AT = "determined_at"


TITLE_MAX = 200
TEXT_MAX = 20_000


class AssessmentRecord(BaseModel):
    """The current impact assessment: the facts, their digest, and the severity derived."""

    model_config = ConfigDict(frozen=True)

    facts: AssessmentFacts
    digest: str
    severity: SeverityAssessment
    actor: str
    at: AwareDatetime


class IncidentState(BaseModel):
    """Everything the Incident aggregate knows, as one immutable value."""

    model_config = ConfigDict(frozen=True)

    title: str
    description: str
    reporter: str
    source: SourceChannel
    incident_type: IncidentType
    moments: LegalMoments
    initial_severity: Severity | None = Field(
        default=None, validation_alias=AliasChoices("initial_severity", "severity")
    )
    """The triage estimate. States saved before it had this name called it ``severity``
    (the alias reads those snapshots)."""
    personal_data_breach: BreachDetermination = BreachDetermination.UNDETERMINED
    status: IncidentStatus = IncidentStatus.OPEN
    resolution: str | None = None
    closed_at: AwareDatetime | None = None
    notes: int = 0
    assessment: AssessmentRecord | None = None
    assessments: int = 0
    evaluation: Evaluation | None = None
    decisions: dict[str, Decision] = Field(default_factory=dict)
    tasks: dict[str, bool] = Field(default_factory=dict)
    playbooks: dict[str, int] = Field(default_factory=dict)
    containment_reached_at: AwareDatetime | None = None
    time_to_contain_seconds: float | None = None
    owner: str | None = None
    """The user answering for the incident (None: nobody assigned)."""

    @property
    def assessed_severity(self) -> Severity | None:
        """The severity the current assessment's ENISA band stands for, if assessed."""
        if self.assessment is None:
            return None
        return severity_of_band(self.assessment.severity.band)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def severity(self) -> Severity | None:
        """The one severity people see (see :func:`events.values.shown_severity`)."""
        return shown_severity(self.initial_severity, self.assessed_severity)[0]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def severity_source(self) -> SeveritySource | None:
        """Where :attr:`severity` comes from: the assessment or the triage estimate."""
        return shown_severity(self.initial_severity, self.assessed_severity)[1]

    def notified(self) -> dict[str, datetime]:
        """When each obligation was recorded as notified."""
        return {
            key: d.notified_at
            for key, d in self.decisions.items()
            if d.decision is DecisionKind.NOTIFIED and d.notified_at is not None
        }

    def fact(self, name: AmendableFact) -> Any:
        """Return the current value of an amendable fact."""
        if name in (AmendableFact.TITLE, AmendableFact.DESCRIPTION):
            return getattr(self, name.value)
        return getattr(self.moments, name.value)

    def with_facts(self, changes: Mapping[AmendableFact, Any]) -> IncidentState:
        """Return a copy with the given facts replaced (moments validated as a whole)."""
        top = {k.value: v for k, v in changes.items() if k in _TEXT_FACTS}
        moment_changes = {k.value: v for k, v in changes.items() if k not in _TEXT_FACTS}
        moments = self.moments
        if moment_changes:
            moments = LegalMoments.model_validate({**self.moments.model_dump(), **moment_changes})
        return self.model_copy(update={**top, "moments": moments})


_TEXT_FACTS = (AmendableFact.TITLE, AmendableFact.DESCRIPTION)


class IncidentEvent(DomainEvent):
    """Base class of every event in an incident's history."""


class IncidentReported(AggregateCreated):
    """An incident was reported: the first event of every incident."""

    title: str
    description: str
    reporter: str
    source: SourceChannel
    incident_type: IncidentType
    occurred_at: AwareDatetime | None = None
    discovered_at: AwareDatetime
    aware_at: AwareDatetime | None = None
    determined_at: AwareDatetime | None = None

    def apply(self, aggregate: Incident) -> None:
        """Start the incident's state from the report."""
        aggregate.state = IncidentState(
            title=self.title,
            description=self.description,
            reporter=self.reporter,
            source=self.source,
            incident_type=self.incident_type,
            moments=LegalMoments(
                occurred_at=self.occurred_at,
                discovered_at=self.discovered_at,
                aware_at=self.aware_at,
                determined_at=self.determined_at,
            ),
        )


class IncidentFactsAmended(IncidentEvent):
    """Facts of the report were corrected; ``amended`` lists which, with the new values.

    A moment listed in ``amended`` whose value is None was cleared (it is not known after
    all). Facts not listed kept their value.
    """

    reason: str
    amended: tuple[AmendableFact, ...]
    title: str | None = None
    description: str | None = None
    occurred_at: AwareDatetime | None = None
    discovered_at: AwareDatetime | None = None
    aware_at: AwareDatetime | None = None
    determined_at: AwareDatetime | None = None

    def changes(self) -> dict[AmendableFact, Any]:
        """Return the amended facts with their new values."""
        return {name: getattr(self, name.value) for name in self.amended}

    def apply(self, aggregate: Incident) -> None:
        """Replace the amended facts."""
        aggregate.state = aggregate.state.with_facts(self.changes())


class IncidentTriaged(IncidentEvent):
    """The incident was triaged: its severity, breach determination and type were set.

    Version 1 stored the breach determination as ``personal_data_breach: bool | None``;
    version 2 stores the three-valued :class:`BreachDetermination`.
    """

    class_version = 2

    severity: Severity
    personal_data_breach: BreachDetermination
    incident_type: IncidentType

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Map the version 1 boolean (or null) determination onto the three values."""
        old = state.get("personal_data_breach")
        state["personal_data_breach"] = "undetermined" if old is None else ("yes" if old else "no")

    def apply(self, aggregate: Incident) -> None:
        """Record the triage."""
        aggregate.state = aggregate.state.model_copy(
            update={
                "initial_severity": self.severity,
                "personal_data_breach": self.personal_data_breach,
                "incident_type": self.incident_type,
            }
        )


class IncidentNoteAdded(IncidentEvent):
    """A note was added to the incident's record."""

    text: str

    def apply(self, aggregate: Incident) -> None:
        """Count the note (its text stays in the event; the state keeps only what rules
        and views need, so snapshots of long histories stay small)."""
        aggregate.state = aggregate.state.model_copy(update={"notes": aggregate.state.notes + 1})


class IncidentClosed(IncidentEvent):
    """The incident was closed with a resolution."""

    resolution: str

    def apply(self, aggregate: Incident) -> None:
        """Mark the incident closed."""
        aggregate.state = aggregate.state.model_copy(
            update={
                "status": IncidentStatus.CLOSED,
                "resolution": self.resolution,
                "closed_at": self.timestamp,
            }
        )


class IncidentReopened(IncidentEvent):
    """A closed incident was reopened, with the reason."""

    reason: str

    def apply(self, aggregate: Incident) -> None:
        """Mark the incident open again."""
        aggregate.state = aggregate.state.model_copy(
            update={"status": IncidentStatus.OPEN, "resolution": None, "closed_at": None}
        )


class ImpactAssessed(IncidentEvent):
    """The impact was (re)assessed: the facts established, and the severity derived from them
    under the named policy version. Earlier assessments stay in the history."""

    facts: AssessmentFacts
    digest: str
    severity: SeverityAssessment

    def apply(self, aggregate: Incident) -> None:
        """Make this the current assessment."""
        state = aggregate.state
        record = AssessmentRecord(
            facts=self.facts,
            digest=self.digest,
            severity=self.severity,
            actor=self.actor,
            at=self.timestamp,
        )
        aggregate.state = state.model_copy(
            update={"assessment": record, "assessments": state.assessments + 1}
        )


class ObligationsEvaluated(IncidentEvent):
    """The obligations were (re)computed: after an assessment, or because a moment, a
    decision or the status they count from changed. Superseded deadlines stay in history."""

    evaluation: Evaluation
    assessment_digest: str
    reason: str

    def apply(self, aggregate: Incident) -> None:
        """Make this the current evaluation."""
        aggregate.state = aggregate.state.model_copy(update={"evaluation": self.evaluation})


class ObligationDecided(IncidentEvent):
    """The DPO decided on an obligation. ``log_position`` and ``assessment_digest`` pin what
    was known when deciding: the log up to that position, and that assessment."""

    obligation_id: str
    decision: DecisionKind
    reason: str
    notified_at: AwareDatetime | None = None
    reference: str | None = None
    log_position: int
    assessment_digest: str

    def apply(self, aggregate: Incident) -> None:
        """Record the decision as the current one for its obligation."""
        decision = Decision(
            obligation_id=self.obligation_id,
            decision=self.decision,
            reason=self.reason,
            notified_at=self.notified_at,
            reference=self.reference,
            actor=self.actor,
            at=self.timestamp,
            log_position=self.log_position,
            assessment_digest=self.assessment_digest,
        )
        decisions = {**aggregate.state.decisions, self.obligation_id: decision}
        aggregate.state = aggregate.state.model_copy(update={"decisions": decisions})


class TaskRef(BaseModel):
    """A containment task attached to the incident, and whether containment needs it."""

    model_config = ConfigDict(frozen=True)

    task_id: UUID
    mandatory: bool


class PlaybookApplied(IncidentEvent):
    """A playbook's steps were opened as tasks of this incident (at most once per playbook)."""

    playbook: str
    version: int
    title: str
    tasks: tuple[TaskRef, ...]

    def apply(self, aggregate: Incident) -> None:
        """Remember the playbook and its tasks."""
        state = aggregate.state
        tasks = {**state.tasks, **{str(t.task_id): t.mandatory for t in self.tasks}}
        playbooks = {**state.playbooks, self.playbook: self.version}
        aggregate.state = state.model_copy(update={"tasks": tasks, "playbooks": playbooks})


class TaskAttached(IncidentEvent):
    """A task opened by hand was attached to the incident."""

    task_id: UUID
    mandatory: bool

    def apply(self, aggregate: Incident) -> None:
        """Remember the task."""
        tasks = {**aggregate.state.tasks, str(self.task_id): self.mandatory}
        aggregate.state = aggregate.state.model_copy(update={"tasks": tasks})


class ContainmentReached(IncidentEvent):
    """Every mandatory containment task is done. ``reached_at`` is when the last one was
    completed; the time to contain counts from ``counted_from`` (awareness, or discovery
    when awareness is not recorded, then ``provisional`` says so)."""

    reached_at: AwareDatetime
    counted_from: AwareDatetime
    time_to_contain_seconds: float
    provisional: str | None = None

    def apply(self, aggregate: Incident) -> None:
        """Record containment."""
        aggregate.state = aggregate.state.model_copy(
            update={
                "containment_reached_at": self.reached_at,
                "time_to_contain_seconds": self.time_to_contain_seconds,
            }
        )


class IncidentOwnerAssigned(IncidentEvent):
    """The incident was given to an owner (``owner`` None: the owner was removed)."""

    owner: str | None

    def apply(self, aggregate: Incident) -> None:
        """Set the owner."""
        aggregate.state = aggregate.state.model_copy(update={"owner": self.owner})


class ContainmentLost(IncidentEvent):
    """Containment no longer holds: a mandatory task was reopened or added."""

    reason: str

    def apply(self, aggregate: Incident) -> None:
        """Forget the containment time."""
        aggregate.state = aggregate.state.model_copy(
            update={"containment_reached_at": None, "time_to_contain_seconds": None}
        )


def _required_text(field: str, value: str, limit: int = TEXT_MAX) -> str:
    text = value.strip()
    if not text:
        raise RuleViolation(field, "must not be empty")
    if len(text) > limit:
        raise RuleViolation(field, f"must be at most {limit} characters")
    return text


def _check_moments(moments: LegalMoments, at: datetime) -> None:
    problem = moments.problem(at)
    if problem is not None:
        raise RuleViolation(*problem)


class Incident(BaseAggregate[UUID]):
    """A security incident, possibly a personal-data breach, and everything recorded on it."""

    STATE = IncidentState

    if TYPE_CHECKING:
        state: IncidentState

    @classmethod
    def report(
        cls,
        cause: Cause,
        *,
        incident_id: UUID,
        title: str,
        description: str,
        reporter: str,
        source: SourceChannel,
        incident_type: IncidentType,
        moments: LegalMoments,
    ) -> Incident:
        """Open a new incident from a report."""
        _check_moments(moments, cause.at)
        if len(description) > TEXT_MAX:
            raise RuleViolation("description", f"must be at most {TEXT_MAX} characters")
        return cls._create(
            IncidentReported,
            id=incident_id,
            title=_required_text("title", title, TITLE_MAX),
            description=description.strip(),
            reporter=_required_text("reporter", reporter, TITLE_MAX),
            source=source,
            incident_type=incident_type,
            **moments.model_dump(),
            **cause.stamp(),
        )

    @property
    def is_closed(self) -> bool:
        """Whether the incident is closed."""
        return self.state.status is IncidentStatus.CLOSED

    def _require_open(self, doing: str) -> None:
        if self.is_closed:
            raise RuleViolation("status", f"the incident is closed; reopen it before {doing}")

    def amend_facts(
        self, cause: Cause, *, reason: str, changes: Mapping[AmendableFact, Any]
    ) -> None:
        """Correct facts of the report; only facts whose value really changes are recorded."""
        self._require_open("amending it")
        reason = _required_text("reason", reason)
        effective: dict[AmendableFact, Any] = {}
        for name, value in changes.items():
            if name in _TEXT_FACTS:
                value = (
                    _required_text("title", value, TITLE_MAX)
                    if name is AmendableFact.TITLE
                    else str(value).strip()
                )
            if value != self.state.fact(name):
                effective[name] = value
        if not effective:
            raise RuleViolation(
                ", ".join(n.value for n in changes) or "changes",
                "the correction changes nothing",
            )
        if effective.get(AmendableFact.DISCOVERED_AT, ...) is None:
            raise RuleViolation("discovered_at", "is required and cannot be cleared")
        if len(effective.get(AmendableFact.DESCRIPTION) or "") > TEXT_MAX:
            raise RuleViolation("description", f"must be at most {TEXT_MAX} characters")
        _check_moments(self.state.with_facts(effective).moments, cause.at)
        self.trigger_event(
            IncidentFactsAmended,
            reason=reason,
            amended=tuple(effective),
            **{name.value: value for name, value in effective.items()},
            **cause.stamp(),
        )

    def assign_owner(self, cause: Cause, *, owner: str | None) -> None:
        """Give the incident to an owner, or remove the owner (None); must change it."""
        self._require_open("assigning an owner")
        if owner is not None:
            owner = _required_text("owner", owner, TITLE_MAX)
        if owner == self.state.owner:
            raise RuleViolation("owner", "changes nothing: the incident already has this owner")
        self.trigger_event(IncidentOwnerAssigned, owner=owner, **cause.stamp())

    def triage(
        self,
        cause: Cause,
        *,
        severity: Severity | None,
        personal_data_breach: BreachDetermination,
        incident_type: IncidentType,
    ) -> None:
        """Set severity, whether it is a personal-data breach, and the incident type (a
        first triage needs the severity)."""
        self._require_open("triaging it")
        if severity is None:
            raise RuleViolation("severity", "is required the first time an incident is triaged")
        state = self.state
        if (severity, personal_data_breach, incident_type) == (
            state.initial_severity,
            state.personal_data_breach,
            state.incident_type,
        ):
            raise RuleViolation(
                "triage", "changes nothing: severity, breach and type already have these values"
            )
        self.trigger_event(
            IncidentTriaged,
            severity=severity,
            personal_data_breach=personal_data_breach,
            incident_type=incident_type,
            **cause.stamp(),
        )

    def add_note(self, cause: Cause, *, text: str) -> None:
        """Add a note (allowed on closed incidents too: post-incident notes matter)."""
        self.trigger_event(IncidentNoteAdded, text=_required_text("text", text), **cause.stamp())

    def close(self, cause: Cause, *, resolution: str) -> None:
        """Close the incident with a resolution."""
        if self.is_closed:
            raise RuleViolation("status", "the incident is already closed")
        self.trigger_event(
            IncidentClosed, resolution=_required_text("resolution", resolution), **cause.stamp()
        )

    def reopen(self, cause: Cause, *, reason: str) -> None:
        """Reopen a closed incident."""
        if not self.is_closed:
            raise RuleViolation("status", "the incident is open; only a closed one can reopen")
        self.trigger_event(
            IncidentReopened, reason=_required_text("reason", reason), **cause.stamp()
        )

    def assess(self, cause: Cause, *, facts: AssessmentFacts, severity: SeverityAssessment) -> None:
        """Record an impact assessment; it must differ from the current one."""
        self._require_open("assessing it")
        current = self.state.assessment
        facts_digest = digest(facts)
        if current is not None and current.digest == facts_digest and current.severity == severity:
            raise RuleViolation(
                "facts", "the assessment changes nothing: same facts as the current one"
            )
        if severity_of_band(severity.band) is None:
            raise RuleViolation("severity", "the assessed band is not on the severity scale")
        self.trigger_event(
            ImpactAssessed, facts=facts, digest=facts_digest, severity=severity, **cause.stamp()
        )

    def record_evaluation(self, cause: Cause, *, evaluation: Evaluation, reason: str) -> bool:
        """Record recomputed obligations if they differ from the current ones."""
        if self.state.assessment is None:
            raise RuleViolation("assessment", "assess the impact before evaluating obligations")
        if self.state.evaluation == evaluation:
            return False
        self.trigger_event(
            ObligationsEvaluated,
            evaluation=evaluation,
            assessment_digest=self.state.assessment.digest,
            reason=reason,
            **cause.stamp(),
        )
        return True

    def decide(
        self,
        cause: Cause,
        *,
        obligation_id: str,
        decision: DecisionKind,
        reason: str,
        notified_at: datetime | None,
        reference: str | None,
        log_position: int,
    ) -> None:
        """Record the DPO's decision on an obligation of the current evaluation."""
        evaluation = self.state.evaluation
        assessment = self.state.assessment
        if evaluation is None or assessment is None:
            raise RuleViolation("obligation", "assess the impact before deciding on obligations")
        if evaluation.find(obligation_id) is None:
            raise RuleViolation("obligation", "is not an obligation of this incident")
        reason = _required_text("reason", reason)
        if decision is DecisionKind.NOTIFIED:
            if notified_at is None:
                raise RuleViolation("notified_at", "is required when recording a notification")
            if notified_at > cause.at:
                raise RuleViolation("notified_at", "is in the future")
            if notified_at < self.state.moments.discovered_at:
                raise RuleViolation("notified_at", "must not be before discovered_at")
            reference = _required_text("reference", reference or "", TITLE_MAX)
        elif notified_at is not None or reference:
            raise RuleViolation(
                "notified_at", "only a 'notified' decision takes a time and a reference"
            )
        current = self.state.decisions.get(obligation_id)
        if current is not None and (current.decision, current.notified_at, current.reference) == (
            decision,
            notified_at,
            reference,
        ):
            raise RuleViolation("decision", "changes nothing: the same decision is on record")
        self.trigger_event(
            ObligationDecided,
            obligation_id=obligation_id,
            decision=decision,
            reason=reason,
            notified_at=notified_at,
            reference=reference,
            log_position=log_position,
            assessment_digest=assessment.digest,
            **cause.stamp(),
        )

    def apply_playbook(
        self, cause: Cause, *, playbook: str, version: int, title: str, tasks: Sequence[TaskRef]
    ) -> None:
        """Record that a playbook's tasks were opened; a playbook applies once."""
        if playbook in self.state.playbooks:
            raise RuleViolation(
                "playbook", f"{playbook} v{self.state.playbooks[playbook]} was already applied"
            )
        self.trigger_event(
            PlaybookApplied,
            playbook=playbook,
            version=version,
            title=title,
            tasks=tuple(tasks),
            **cause.stamp(),
        )

    def attach_task(self, cause: Cause, *, task_id: UUID, mandatory: bool) -> None:
        """Attach a task opened by hand."""
        self._require_open("adding tasks")
        self.trigger_event(TaskAttached, task_id=task_id, mandatory=mandatory, **cause.stamp())

    def record_containment(
        self, cause: Cause, *, completed: Sequence[datetime] | None, reason: str = ""
    ) -> bool:
        """Record containment reached (``completed``: completion times of every mandatory
        task) or lost (``completed`` is None); records only a change. Returns whether it did."""
        reached = self.state.containment_reached_at is not None
        if completed is not None and completed and not reached:
            moments = self.state.moments
            start = moments.aware_at or moments.discovered_at
            provisional = (
                None if moments.aware_at else "aware_at not recorded; counted from discovered_at"
            )
            at = max(completed)
            self.trigger_event(
                ContainmentReached,
                reached_at=at,
                counted_from=start,
                time_to_contain_seconds=(at - start).total_seconds(),
                provisional=provisional,
                **cause.stamp(),
            )
            return True
        if completed is None and reached:
            self.trigger_event(
                ContainmentLost, reason=reason or "a mandatory task is open", **cause.stamp()
            )
            return True
        return False
