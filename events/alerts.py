"""Who is told when a deadline nears: the DPO duty rota and alerts.

The :class:`DutyRota` is one aggregate with a fixed id: the shifts of the DPO on duty
(a user and a period). An :class:`Alert` is one step of an escalation ladder raised for
one subject (an obligation or a task) and one version of its deadline; its id is derived
from that identity (:func:`alert_id`), so the same step can only ever be created once: a
second creation fails on the event store's uniqueness of (aggregate id, version 1).

An alert on the email channel records, for each recipient, that it was emailed (with the
Message-ID and the server's reply code), that the email failed, or why none was sent: never
the address, nor the server's words (which may echo it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import BaseAggregate
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from events.base import AggregateCreated, Cause, DomainEvent
from events.errors import RuleViolation

ALERT_NAMESPACE = uuid5(NAMESPACE_URL, "https://breachledger.invalid/alert")
DUTY_ROTA_ID = uuid5(NAMESPACE_URL, "https://breachledger.invalid/duty-rota/dpo")
"""The one DPO duty rota of the organisation."""


class SubjectKind(StrEnum):
    """What an alert is about."""

    OBLIGATION = "obligation"
    TASK = "task"


def deadline_version(deadline: datetime) -> str:
    """The version of a deadline: its moment in ISO 8601, in UTC (a moved deadline is a
    new version, and so gets a ladder of its own)."""
    return deadline.astimezone(UTC).isoformat()


def alert_id(
    kind: SubjectKind, incident_id: UUID, subject_id: str, deadline: datetime, step: str
) -> UUID:
    """The id of the alert for one step of one subject's ladder at one deadline version."""
    identity = f"{kind.value}|{incident_id}|{subject_id}|{deadline_version(deadline)}|{step}"
    return uuid5(ALERT_NAMESPACE, identity)


class DutyShift(BaseModel):
    """A user on duty as DPO from ``starts_at`` until ``ends_at`` (excluded)."""

    model_config = ConfigDict(frozen=True)

    shift_id: str
    user: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class DutyRotaState(BaseModel):
    """The shifts on the rota (cancelled ones removed)."""

    model_config = ConfigDict(frozen=True)

    shifts: tuple[DutyShift, ...] = ()

    def on_duty(self, now: datetime) -> str | None:
        """The user on duty at ``now``: of the shifts covering it, the one starting last
        (None: no shift covers it)."""
        covering = [s for s in self.shifts if s.starts_at <= now < s.ends_at]
        if not covering:
            return None
        return max(covering, key=lambda s: (s.starts_at, s.shift_id)).user


def _shift(event: DutyRotaStarted | DutyShiftScheduled) -> DutyShift:
    """The shift an event of the rota records."""
    return DutyShift(
        shift_id=event.shift_id, user=event.user, starts_at=event.starts_at, ends_at=event.ends_at
    )


class DutyRotaStarted(AggregateCreated):
    """The DPO duty rota was started (with its first shift)."""

    shift_id: str
    user: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime

    def apply(self, aggregate: DutyRota) -> None:
        """Start the rota with its first shift."""
        aggregate.state = DutyRotaState(shifts=(_shift(self),))


class DutyRotaEvent(DomainEvent):
    """Base class of the rota's later events."""


class DutyShiftScheduled(DutyRotaEvent):
    """A shift was added to the rota."""

    shift_id: str
    user: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime

    def apply(self, aggregate: DutyRota) -> None:
        """Add the shift."""
        aggregate.state = DutyRotaState(shifts=(*aggregate.state.shifts, _shift(self)))


class DutyShiftCancelled(DutyRotaEvent):
    """A shift was taken off the rota."""

    shift_id: str

    def apply(self, aggregate: DutyRota) -> None:
        """Remove the shift."""
        kept = tuple(s for s in aggregate.state.shifts if s.shift_id != self.shift_id)
        aggregate.state = DutyRotaState(shifts=kept)


def _check_shift(user: str, starts_at: datetime, ends_at: datetime) -> None:
    if not user.strip():
        raise RuleViolation("user", "must not be empty")
    if ends_at <= starts_at:
        raise RuleViolation("ends_at", "must be after starts_at")


class DutyRota(BaseAggregate[UUID]):
    """Who is DPO on duty when: shifts of users over periods."""

    STATE = DutyRotaState

    if TYPE_CHECKING:
        state: DutyRotaState

    @classmethod
    def start(
        cls, cause: Cause, *, shift_id: str, user: str, starts_at: datetime, ends_at: datetime
    ) -> DutyRota:
        """Start the rota with a first shift."""
        _check_shift(user, starts_at, ends_at)
        return cls._create(
            DutyRotaStarted,
            id=DUTY_ROTA_ID,
            shift_id=shift_id,
            user=user,
            starts_at=starts_at,
            ends_at=ends_at,
            **cause.stamp(),
        )

    def schedule(
        self, cause: Cause, *, shift_id: str, user: str, starts_at: datetime, ends_at: datetime
    ) -> None:
        """Add a shift; the same user over the same period is refused as changing nothing."""
        _check_shift(user, starts_at, ends_at)
        for s in self.state.shifts:
            if (s.user, s.starts_at, s.ends_at) == (user, starts_at, ends_at):
                raise RuleViolation("shift", "changes nothing: this shift is on the rota")
        self.trigger_event(
            DutyShiftScheduled,
            shift_id=shift_id,
            user=user,
            starts_at=starts_at,
            ends_at=ends_at,
            **cause.stamp(),
        )

    def cancel(self, cause: Cause, *, shift_id: str) -> None:
        """Take a shift off the rota."""
        if all(s.shift_id != shift_id for s in self.state.shifts):
            raise RuleViolation("shift", "is not on the rota")
        self.trigger_event(DutyShiftCancelled, shift_id=shift_id, **cause.stamp())


class AlertState(BaseModel):
    """Everything an alert knows."""

    model_config = ConfigDict(frozen=True)

    step: str
    subject_kind: SubjectKind
    subject_id: str
    incident_id: UUID
    deadline: AwareDatetime
    due_at: AwareDatetime
    recipients: tuple[str, ...]
    channels: tuple[str, ...]
    late: bool
    acknowledged: dict[str, AwareDatetime] = Field(default_factory=dict)
    emailed: dict[str, str] = Field(default_factory=dict)
    """How each recipient's email went (by username): sent, failed or skipped."""


class AlertRaised(AggregateCreated):
    """One step of an escalation ladder was raised: for whom (``recipients``, resolved to
    users when raised), on which channels, and whether it came later than its moment
    ``due_at`` (the alarm clock was not running then)."""

    step: str
    subject_kind: SubjectKind
    subject_id: str
    incident_id: UUID
    deadline: AwareDatetime
    due_at: AwareDatetime
    recipients: tuple[str, ...]
    channels: tuple[str, ...]
    late: bool

    def apply(self, aggregate: Alert) -> None:
        """Start the alert's state."""
        aggregate.state = AlertState(
            step=self.step,
            subject_kind=self.subject_kind,
            subject_id=self.subject_id,
            incident_id=self.incident_id,
            deadline=self.deadline,
            due_at=self.due_at,
            recipients=self.recipients,
            channels=self.channels,
            late=self.late,
        )


class AlertAcknowledged(DomainEvent):
    """A recipient acknowledged the alert (the actor)."""

    def apply(self, aggregate: Alert) -> None:
        """Record who acknowledged, and when."""
        acknowledged = {**aggregate.state.acknowledged, self.actor: self.timestamp}
        aggregate.state = aggregate.state.model_copy(update={"acknowledged": acknowledged})


class AlertMailEvent(DomainEvent):
    """Base class of what became of one recipient's email of an alert (``username``)."""

    username: str
    outcome: ClassVar[str]

    def apply(self, aggregate: Alert) -> None:
        """Record the recipient's outcome."""
        emailed = {**aggregate.state.emailed, self.username: self.outcome}
        aggregate.state = aggregate.state.model_copy(update={"emailed": emailed})


class AlertEmailed(AlertMailEvent):
    """The alert was emailed to a recipient: the message's ``message_id`` and the server's
    ``reply_code`` (None when the message was found delivered after a restart)."""

    outcome: ClassVar[str] = "sent"
    message_id: str
    reply_code: int | None


class AlertEmailFailed(AlertMailEvent):
    """The alert's email to a recipient was refused for good, or retries ran out:
    ``reply_code`` and a ``reason`` already reduced to codes and redacted words."""

    outcome: ClassVar[str] = "failed"
    message_id: str
    reply_code: int | None
    reason: str


class AlertEmailSkipped(AlertMailEvent):
    """No email of the alert was sent to a recipient, and why (no address, not a user)."""

    outcome: ClassVar[str] = "skipped"
    reason: str


class Alert(BaseAggregate[UUID]):
    """One step of an escalation ladder, raised once, acknowledged by its recipients."""

    STATE = AlertState

    if TYPE_CHECKING:
        state: AlertState

    @classmethod
    def raise_step(
        cls,
        cause: Cause,
        *,
        step: str,
        subject_kind: SubjectKind,
        subject_id: str,
        incident_id: UUID,
        deadline: datetime,
        due_at: datetime,
        recipients: tuple[str, ...],
        channels: tuple[str, ...],
        late: bool,
    ) -> Alert:
        """Raise a step; the id comes from the identity, so it can be created only once."""
        return cls._create(
            AlertRaised,
            id=alert_id(subject_kind, incident_id, subject_id, deadline, step),
            step=step,
            subject_kind=subject_kind,
            subject_id=subject_id,
            incident_id=incident_id,
            deadline=deadline,
            due_at=due_at,
            recipients=recipients,
            channels=channels,
            late=late,
            **cause.stamp(),
        )

    def acknowledge(self, cause: Cause) -> None:
        """A recipient acknowledges the alert, once."""
        if cause.actor not in self.state.recipients:
            raise RuleViolation("alert", "is not addressed to you")
        if cause.actor in self.state.acknowledged:
            raise RuleViolation("alert", "changes nothing: you acknowledged it already")
        self.trigger_event(AlertAcknowledged, **cause.stamp())

    def record_email(self, cause: Cause, kind: type[AlertMailEvent], **fields: object) -> None:
        """Record what became of one recipient's email, once per recipient."""
        username = str(fields["username"])
        if username not in self.state.recipients:
            raise RuleViolation("username", "is not a recipient of the alert")
        if username in self.state.emailed:
            raise RuleViolation("username", "changes nothing: the email is recorded already")
        self.trigger_event(kind, **fields, **cause.stamp())
