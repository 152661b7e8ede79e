"""The alerts capability's commands: the DPO duty rota, raising a ladder's step once, and
acknowledging an alert."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError

from events.alerts import DUTY_ROTA_ID, Alert, DutyRota, DutyRotaState
from events.base import Cause
from services.alerts.commands import CancelDuty, ScheduleDuty
from services.alerts.ladder import Firing
from services.application.base import LedgerApplication
from services.application.context import RequestContext
from services.application.errors import InvalidInput, NotFound, RuleBroken

ALARM_CLOCK = "policy.alarm_clock"
"""The actor of the alerts the alarm clock raises (a system name no user can take)."""


class AlertHandlers:
    """Commands on the duty rota and on alerts.

    ``is_user`` tells whether a username names a user (answered by the users capability);
    ``dpo_fallback`` is the DPO on duty when no shift of the rota covers a moment (the
    ``BREACH_DPO_ON_DUTY`` setting).
    """

    def __init__(self, core: LedgerApplication) -> None:
        self.core = core
        self.is_user: Callable[[str], bool] = lambda _name: True
        self.dpo_fallback: str | None = None

    def rota(self) -> DutyRotaState:
        """The shifts of the DPO duty rota (none before the first is scheduled)."""
        if not self.core.existing_ids([DUTY_ROTA_ID]):
            return DutyRotaState()
        return self.core.load(DUTY_ROTA_ID, DutyRota).state

    def on_duty(self, at: datetime) -> str | None:
        """The DPO on duty at ``at``: from the rota, else the configured fallback."""
        return self.rota().on_duty(at) or self.dpo_fallback

    def schedule_duty(
        self, request: ScheduleDuty | Mapping[str, Any], ctx: RequestContext
    ) -> DutyRota:
        """Put a user on duty as DPO for a period (the rota starts with its first shift)."""
        cmd = self.core.validated(ScheduleDuty, request)
        if not self.is_user(cmd.user):
            raise InvalidInput("user", "is not a user")
        shift_id = uuid4().hex[:12]
        fields: dict[str, Any] = {
            "shift_id": shift_id,
            "user": cmd.user,
            "starts_at": cmd.starts_at,
            "ends_at": cmd.ends_at,
        }
        for _ in range(self.core.command_retries + 1):
            if self.core.existing_ids([DUTY_ROTA_ID]):
                return self.core.change(
                    DUTY_ROTA_ID,
                    DutyRota,
                    ctx,
                    lambda rota, cause: rota.schedule(cause, **fields),
                    logged="duty.scheduled",
                    shift_id=shift_id,
                )
            try:
                return self.core.create(
                    lambda cause: DutyRota.start(cause, **fields),
                    ctx,
                    logged="duty.scheduled",
                    shift_id=shift_id,
                )
            except IntegrityError:
                continue  # another request started the rota first: add the shift to it
        raise RuleBroken("shift", "the rota kept changing under this request; try again")

    def cancel_duty(self, request: CancelDuty | Mapping[str, Any], ctx: RequestContext) -> DutyRota:
        """Take a shift off the rota."""
        cmd = self.core.validated(CancelDuty, request)
        if not self.core.existing_ids([DUTY_ROTA_ID]):
            raise NotFound("shift_id", "no such shift on the rota")
        return self.core.change(
            DUTY_ROTA_ID,
            DutyRota,
            ctx,
            lambda rota, cause: rota.cancel(cause, shift_id=cmd.shift_id),
            logged="duty.cancelled",
            shift_id=cmd.shift_id,
        )

    def raise_alert(self, firing: Firing, recipients: tuple[str, ...], cause: Cause) -> bool:
        """Raise the alert of ``firing`` for ``recipients``; False when it was raised before
        (by this or another process: its id is taken, and the store refuses a second
        creation)."""
        try:
            self.core.save(_alert(firing, recipients, cause))
        except IntegrityError:
            return False
        return True

    def raise_alerts(
        self,
        firings: Sequence[Firing],
        recipients: Mapping[UUID, tuple[str, ...]],
        at: datetime,
    ) -> list[UUID]:
        """Raise the alerts of ``firings`` (each for its ``recipients``, by alert id) in one
        transaction; return the ids of those raised here.

        When the store refuses the transaction because another scanner raised some of them
        meanwhile, the ones now found raised are left out and the rest saved again, until
        none is left; should a refusal name no alert found raised (a race the check did not
        see yet), the rest are saved one at a time. Each alert is so raised exactly once,
        whichever scanner wins it."""
        todo = list(firings)
        while todo:
            try:
                self.core.save_aggregates(
                    [_alert(f, recipients[f.alert_id], _cause(f, at)) for f in todo]
                )
            except IntegrityError:
                taken = self.core.existing_ids([f.alert_id for f in todo])
                left = [f for f in todo if f.alert_id not in taken]
                if len(left) < len(todo):
                    todo = left
                    continue
                return [
                    f.alert_id
                    for f in todo
                    if self.raise_alert(f, recipients[f.alert_id], _cause(f, at))
                ]
            return [f.alert_id for f in todo]
        return []

    def raised(self, ids: list[UUID]) -> set[UUID]:
        """Which of these alerts were raised already."""
        return self.core.existing_ids(ids)

    def get_alert(self, alert_id: UUID) -> Alert:
        """An alert as it is now."""
        return self.core.load(alert_id, Alert)

    def acknowledge(self, alert_id: UUID, ctx: RequestContext) -> Alert:
        """A recipient acknowledges an alert (once)."""
        return self.core.change(
            alert_id,
            Alert,
            ctx,
            lambda alert, cause: alert.acknowledge(cause),
            logged="alert.acknowledged",
        )


def _cause(firing: Firing, at: datetime) -> Cause:
    """The cause of an alert the alarm clock raises at ``at``."""
    return Cause(actor=ALARM_CLOCK, correlation_id=f"alert:{firing.alert_id}", at=at)


def _alert(firing: Firing, recipients: tuple[str, ...], cause: Cause) -> Alert:
    """A new alert for ``firing``, with its first event pending."""
    s = firing.subject
    return Alert.raise_step(
        cause,
        step=firing.step.step,
        subject_kind=s.kind,
        subject_id=s.subject_id,
        incident_id=s.incident_id,
        deadline=s.deadline,
        due_at=firing.due_at,
        recipients=recipients,
        channels=tuple(firing.step.channels),
        late=firing.late,
    )
