"""What each role may do: the one table the API and the web UI both enforce.

Roles add up: a user holding several roles may do what any of them may. Reading is split
from changing, so an auditor can read everything and change nothing; a reporter can report
and read only the incidents they reported.
"""

from __future__ import annotations

from enum import StrEnum

from events.notifications import NoticeAudience
from events.users import Role


class Permission(StrEnum):
    """A kind of action the API offers."""

    INCIDENT_REPORT = "incident.report"
    INCIDENT_READ = "incident.read"
    INCIDENT_READ_OWN = "incident.read_own"
    INCIDENT_CHANGE = "incident.change"
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
    CAMPAIGN_APPROVE = "campaign.approve"
    MAILBOX_READ = "mailbox.read"
    AUDIT_REPLAY = "audit.replay"
    AUDIT_EXPORT = "audit.export"
    OPERATIONS = "operations"
    USERS_ADMIN = "users.admin"


P = Permission

_READ_ALL = {
    P.INCIDENT_READ,
    P.OBLIGATIONS_READ,
    P.TASK_READ,
    P.PEOPLE_READ,
    P.CAMPAIGN_READ,
    P.MAILBOX_READ,
    P.AUDIT_REPLAY,
}

GRANTS: dict[Role, frozenset[Permission]] = {
    Role.REPORTER: frozenset({P.INCIDENT_REPORT, P.INCIDENT_READ_OWN}),
    Role.RESPONDER: frozenset(
        _READ_ALL
        | {
            P.INCIDENT_REPORT,
            P.INCIDENT_CHANGE,
            P.TASK_CHANGE,
            P.PEOPLE_IMPORT,
            P.CAMPAIGN_MANAGE,
        }
    ),
    Role.DPO: frozenset(
        _READ_ALL
        | {
            P.INCIDENT_REPORT,
            P.ASSESS,
            P.DECIDE,
            P.PEOPLE_IMPORT,
            P.PEOPLE_RIGHTS,
            P.RETENTION,
            P.CAMPAIGN_APPROVE,
            P.AUDIT_EXPORT,
        }
    ),
    Role.AUDITOR: frozenset(_READ_ALL | {P.AUDIT_EXPORT}),
    Role.ADMIN: frozenset({P.USERS_ADMIN, P.OPERATIONS}),
}


def may_read_message(permissions: frozenset[Permission], audience: str | None) -> bool:
    """Whether a holder of ``permissions`` may see to whom a captured message went and read
    it: a message to an affected person (or one whose audience cannot be told) needs
    people.rights; one to an authority or a customer does not."""
    personal = audience is None or audience == NoticeAudience.PEOPLE.value
    return P.PEOPLE_RIGHTS in permissions or not personal


def permissions_of(roles: frozenset[Role] | set[Role]) -> frozenset[Permission]:
    """Everything a holder of ``roles`` may do."""
    out: set[Permission] = set()
    for role in roles:
        out |= GRANTS[role]
    return frozenset(out)
