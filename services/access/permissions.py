"""What each role may do: the one table the CLI, the API and the web UI all enforce.

Roles add up: a user holding several roles may do what any of them may. Reading is split
from changing, so an auditor can read everything and change nothing; a reporter can report
and read only the incidents they reported. Each command, route and form names the one
permission it needs from :class:`Permission`; whether a role holds it is decided here alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from events.notifications import NoticeAudience
from events.users import Role


class Permission(StrEnum):
    """A kind of action a face offers."""

    ACCOUNT_SELF = "account.self"
    INCIDENT_REPORT = "incident.report"
    INCIDENT_READ = "incident.read"
    INCIDENT_READ_OWN = "incident.read_own"
    INCIDENT_CHANGE = "incident.change"
    ASSESSMENT_READ = "assessment.read"
    ASSESS = "assessment.assess"
    DECIDE = "assessment.decide"
    OBLIGATIONS_READ = "obligations.read"
    TASK_READ = "task.read"
    TASK_CHANGE = "task.change"
    PEOPLE_READ = "people.read"
    PEOPLE_IMPORT = "people.import"
    PEOPLE_RIGHTS = "people.rights"
    RETENTION = "people.retention"
    CAMPAIGN_READ = "campaign.read"
    CAMPAIGN_MANAGE = "campaign.manage"
    CAMPAIGN_PREVIEW = "campaign.preview"
    CAMPAIGN_APPROVE = "campaign.approve"
    CAMPAIGN_CONTROL = "campaign.control"
    NOTICE_RESOLVE = "notice.resolve"
    MAILBOX_READ = "mailbox.read"
    AUDIT_REPLAY = "audit.replay"
    STATS_READ = "stats.read"
    AUDIT_EXPORT = "audit.export"
    DEMO = "demo.load"
    OPERATIONS = "operations"
    USERS_ADMIN = "users.admin"
    WEBHOOKS_ADMIN = "webhooks.admin"
    OWNER_ASSIGN = "incident.owner"
    DUTY_MANAGE = "duty.manage"
    ALERT_READ = "alert.read"
    ALERT_ACK = "alert.ack"


P = Permission

_READ_ALL = {
    P.INCIDENT_READ,
    P.ASSESSMENT_READ,
    P.OBLIGATIONS_READ,
    P.TASK_READ,
    P.PEOPLE_READ,
    P.CAMPAIGN_READ,
    P.MAILBOX_READ,
    P.AUDIT_REPLAY,
    P.STATS_READ,
}

GRANTS: dict[Role, frozenset[Permission]] = {
    Role.REPORTER: frozenset({P.ACCOUNT_SELF, P.INCIDENT_REPORT, P.INCIDENT_READ_OWN}),
    Role.RESPONDER: frozenset(
        _READ_ALL
        | {
            P.ACCOUNT_SELF,
            P.INCIDENT_REPORT,
            P.INCIDENT_CHANGE,
            P.TASK_CHANGE,
            P.PEOPLE_IMPORT,
            P.CAMPAIGN_MANAGE,
            P.CAMPAIGN_PREVIEW,
            P.CAMPAIGN_CONTROL,
            P.DEMO,
            P.OWNER_ASSIGN,
            P.ALERT_READ,
            P.ALERT_ACK,
        }
    ),
    Role.DPO: frozenset(
        _READ_ALL
        | {
            P.ACCOUNT_SELF,
            P.INCIDENT_REPORT,
            P.ASSESS,
            P.DECIDE,
            P.PEOPLE_IMPORT,
            P.PEOPLE_RIGHTS,
            P.RETENTION,
            P.CAMPAIGN_PREVIEW,
            P.CAMPAIGN_APPROVE,
            P.CAMPAIGN_CONTROL,
            P.NOTICE_RESOLVE,
            P.AUDIT_EXPORT,
            P.DEMO,
            P.OWNER_ASSIGN,
            P.DUTY_MANAGE,
            P.ALERT_READ,
            P.ALERT_ACK,
        }
    ),
    Role.AUDITOR: frozenset(_READ_ALL | {P.ACCOUNT_SELF, P.AUDIT_EXPORT, P.ALERT_READ}),
    Role.ADMIN: frozenset(
        {
            P.ACCOUNT_SELF,
            P.USERS_ADMIN,
            P.OPERATIONS,
            P.WEBHOOKS_ADMIN,
            P.DUTY_MANAGE,
            P.ALERT_READ,
            P.ALERT_ACK,
        }
    ),
}

PERSONAL_DATA_RIGHTS = frozenset({P.PEOPLE_RIGHTS, P.RETENTION})
"""Permissions that open, correct or erase a person's data: a service account (a user that
signs in with nothing but tokens an admin issued) may hold none of them."""


def may_read_message(permissions: frozenset[Permission], audience: str | None) -> bool:
    """Whether a holder of ``permissions`` may see to whom a captured message went and read
    it: a message to an affected person (or one whose audience cannot be told) needs
    people.rights; one to an authority or a customer does not."""
    personal = audience is None or audience == NoticeAudience.PEOPLE.value
    return P.PEOPLE_RIGHTS in permissions or not personal


def may_see_person(permissions: frozenset[Permission]) -> bool:
    """Whether a holder of ``permissions`` may see an affected person's data (a notice
    rendered for them, for instance): people.rights."""
    return P.PEOPLE_RIGHTS in permissions


def own_incidents_only(permissions: frozenset[Permission], username: str) -> str | None:
    """Whose incidents a caller may read: None for every incident, else their own username
    (a caller who may read only their own reads only the incidents they reported)."""
    return None if P.INCIDENT_READ in permissions else username


def permissions_of(roles: Iterable[Role]) -> frozenset[Permission]:
    """Everything a holder of ``roles`` may do."""
    out: set[Permission] = set()
    for role in roles:
        out |= GRANTS[role]
    return frozenset(out)


def holds_personal_data_rights(roles: Iterable[Role]) -> bool:
    """Whether ``roles`` open, correct or erase people's data (see PERSONAL_DATA_RIGHTS)."""
    return bool(permissions_of(roles) & PERSONAL_DATA_RIGHTS)
