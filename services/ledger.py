"""The composed application: breachledger's capabilities, each a command service on one
event-store core, given the collaborators it declares, wired here once."""

from __future__ import annotations

from events.users import user_id
from services.alerts.handlers import AlertHandlers
from services.application.base import LedgerApplication
from services.assessment.handlers import AssessmentHandlers
from services.containment.handlers import ContainmentHandlers
from services.incidents.handlers import IncidentHandlers
from services.notifications.handlers import NotificationHandlers
from services.notifications.settings import NoticeSettings
from services.notifications.templates import NoticeTemplates
from services.people.handlers import PeopleHandlers
from services.users.addresses import AddressBook
from services.users.credentials import CredentialStore
from services.users.handlers import UserHandlers
from services.vault.vault import Vault
from services.webhooks.handlers import WebhookHandlers, WebhookRules
from services.webhooks.store import WebhookStore


class BreachLedger:
    """breachledger's commands, by capability, on one event-store core (``core``).

    ``incidents``, ``assessment``, ``containment``, ``people``, ``notifications``,
    ``users``, ``webhooks`` and ``alerts`` are the capabilities' command services. The
    rules that cross capabilities are wired here: a change to an incident is followed, in
    its own save, by the re-evaluation of its obligations, then by the move of the task due
    times that count from a corrected moment; who may approve a notice, and whether an
    incident owner or a DPO on duty is a user, is answered by the users capability.
    """

    def __init__(
        self,
        core: LedgerApplication,
        *,
        vault: Vault,
        templates: NoticeTemplates,
        notice_settings: NoticeSettings,
        credentials: CredentialStore,
        webhook_store: WebhookStore,
        webhook_rules: WebhookRules | None = None,
        addresses: AddressBook,
    ) -> None:
        self.core = core
        self.vault = vault
        self.templates = templates
        self.notice_settings = notice_settings
        self.credentials = credentials
        self.users = UserHandlers(core, credentials, addresses)
        self.incidents = IncidentHandlers(core)
        self.assessment = AssessmentHandlers(core, self.incidents)
        self.containment = ContainmentHandlers(core, self.incidents)
        self.people = PeopleHandlers(core, self.incidents, vault)
        self.notifications = NotificationHandlers(
            core,
            self.incidents,
            vault=vault,
            templates=templates,
            notice_settings=notice_settings,
            approvers=self.users,
        )
        self.webhooks = WebhookHandlers(core, webhook_store, webhook_rules)
        self.alerts = AlertHandlers(core)
        self.incidents.is_user = self.alerts.is_user = self.is_user
        self.incidents.incident_followers = (
            self.assessment.reevaluate_obligations,
            self.containment.move_task_dues,
        )

    def is_user(self, username: str) -> bool:
        """Whether ``username`` names a user (an incident owner or a DPO on duty must)."""
        return bool(self.core.existing_ids([user_id(username)]))

    def close(self) -> None:
        """Release the event store and the collaborators' connections."""
        self.vault.close()
        self.credentials.close()
        self.webhooks.store.close()
        self.core.close()
