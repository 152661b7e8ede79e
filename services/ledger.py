"""The composed application: breachledger's capabilities on one event-store core, each given
the collaborators it declares."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from events.containment import ContainmentTask
from events.incident import Incident
from events.notifications import Campaign
from services.application.snapshots import StateSnapshot
from services.assessment.handlers import AssessmentHandlers
from services.clock import Clock
from services.containment.handlers import ContainmentHandlers
from services.notifications.handlers import NotificationHandlers
from services.notifications.settings import NoticeSettings
from services.notifications.templates import NoticeTemplates
from services.people.handlers import PeopleHandlers
from services.users.credentials import CredentialStore
from services.users.handlers import UserHandlers
from services.vault.vault import Vault

SNAPSHOT_INTERVAL = 50


class BreachLedger(
    UserHandlers, NotificationHandlers, PeopleHandlers, ContainmentHandlers, AssessmentHandlers
):
    """breachledger's application; capabilities contribute their command methods as bases.

    Every collaborator a capability declares is required here: ``vault`` (people and
    notifications), ``templates`` and ``notice_settings`` (notifications), ``credentials``
    (users). Who may approve a notice is answered by the users capability. A change to an
    incident is followed, in its own save, by the re-evaluation of its obligations, then by
    the move of the task due times that count from a corrected moment.

    Incidents, campaigns and tasks can grow long histories, so they are snapshotted every
    ``SNAPSHOT_INTERVAL`` events.
    """

    snapshot_class = StateSnapshot
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {
        Incident: SNAPSHOT_INTERVAL,
        Campaign: SNAPSHOT_INTERVAL,
        ContainmentTask: SNAPSHOT_INTERVAL,
    }

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        clock: Clock,
        vault: Vault,
        templates: NoticeTemplates,
        notice_settings: NoticeSettings,
        credentials: CredentialStore,
        command_retries: int = 5,
        on_saved: Callable[[int], None] | None = None,
    ) -> None:
        self.vault = vault
        self.templates = templates
        self.notice_settings = notice_settings
        self.credentials = credentials
        self.approvers = self
        self.incident_followers = (self.reevaluate_obligations, self.move_task_dues)
        super().__init__(env, clock=clock, command_retries=command_retries, on_saved=on_saved)
