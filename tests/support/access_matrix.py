"""Who may do what, written out by hand from the README's role table, for every face.

Each operation names the roles allowed and where each face offers it: API routes, CLI
commands, dashboard routes. The role tests walk every route and command each face has and
check it against this, so a grant that drifts in one face (or in the permission table) fails,
and so does a route or command nobody listed. It is deliberately not derived from
``services.access.permissions``: it is the promise, the table is the implementation.
"""

from __future__ import annotations

from dataclasses import dataclass

R, S, D, A, M = "reporter", "responder", "dpo", "auditor", "admin"
EVERYONE = frozenset({R, S, D, A, M})
READERS = frozenset({S, D, A})


@dataclass(frozen=True)
class Operation:
    """One kind of action: the roles allowed, and where each face offers it."""

    roles: frozenset[str]
    api: tuple[tuple[str, str], ...] = ()
    cli: tuple[str, ...] = ()
    web: tuple[tuple[str, str], ...] = ()


def _tasks(prefix: str) -> tuple[str, ...]:
    return tuple(
        f"{prefix}{action}"
        for action in ("assign", "start", "block", "unblock", "done", "reopen", "cancel", "due")
    )


OPERATIONS: dict[str, Operation] = {
    "account.self": Operation(
        EVERYONE,
        api=(
            ("GET", "/me"),
            ("POST", "/me/tokens"),
            ("DELETE", "/me/tokens/{token_id}"),
            ("PATCH", "/users/{username}"),
        ),
        cli=("whoami", "logout", "users set"),
    ),
    "incident.report": Operation(
        frozenset({R, S, D}),
        api=(("POST", "/incidents"),),
        cli=("report",),
        web=(("GET", "/incidents/new"), ("POST", "/incidents/new")),
    ),
    "incident.read": Operation(
        frozenset({R, S, D, A}),
        api=(
            ("GET", "/incidents"),
            ("GET", "/incidents/{incident_id}"),
            ("GET", "/incidents/{incident_id}/timeline"),
        ),
        cli=("list", "show", "timeline"),
        web=(("GET", "/"), ("GET", "/incidents/{incident_id}")),
    ),
    "incident.change": Operation(
        frozenset({S}),
        api=(
            ("PATCH", "/incidents/{incident_id}"),
            ("POST", "/incidents/{incident_id}/triage"),
            ("POST", "/incidents/{incident_id}/notes"),
            ("POST", "/incidents/{incident_id}/close"),
            ("POST", "/incidents/{incident_id}/reopen"),
        ),
        cli=("amend", "triage", "note", "close", "reopen"),
        web=tuple(
            ("POST", f"/incidents/{{incident_id}}/{a}")
            for a in ("amend", "triage", "note", "close", "reopen")
        ),
    ),
    "assessment.read": Operation(READERS, api=(("GET", "/incidents/{incident_id}/assessment"),)),
    "assessment.assess": Operation(
        frozenset({D}),
        api=(("POST", "/incidents/{incident_id}/assessment"), ("POST", "/what-if")),
        cli=("assess",),
        web=(("POST", "/incidents/{incident_id}/assess"),),
    ),
    "assessment.decide": Operation(
        frozenset({D}),
        api=(("POST", "/incidents/{incident_id}/obligations/{obligation_id}/decision"),),
        cli=("decide",),
        web=(("POST", "/incidents/{incident_id}/decide"),),
    ),
    "obligations.read": Operation(
        READERS,
        api=(("GET", "/obligations"), ("GET", "/incidents/{incident_id}/obligations")),
        cli=("obligations",),
        web=(("GET", "/obligations"),),
    ),
    "stats.read": Operation(
        READERS,
        api=(("GET", "/stats"),),
        cli=("report-stats",),
        web=(("GET", "/metrics-report"), ("GET", "/metrics-report.csv")),
    ),
    "task.read": Operation(
        READERS,
        api=(
            ("GET", "/tasks"),
            ("GET", "/tasks/{task_id}"),
            ("GET", "/incidents/{incident_id}/containment"),
            ("GET", "/playbooks"),
            ("GET", "/playbooks/{playbook_id}"),
        ),
        cli=("tasks", "playbooks", "playbooks show"),
    ),
    "task.change": Operation(
        frozenset({S}),
        api=(
            ("POST", "/incidents/{incident_id}/tasks"),
            *(("POST", p) for p in _tasks("/tasks/{task_id}/")),
        ),
        cli=("task add", *_tasks("task ")),
        web=(
            ("POST", "/incidents/{incident_id}/tasks"),
            *(("POST", p) for p in _tasks("/incidents/{incident_id}/tasks/{task_id}/")),
        ),
    ),
    "people.import": Operation(
        frozenset({S, D}),
        api=(("POST", "/incidents/{incident_id}/people"),),
        cli=("people import",),
        web=(("POST", "/incidents/{incident_id}/people"),),
    ),
    "people.read": Operation(
        READERS, api=(("GET", "/incidents/{incident_id}/people"),), cli=("people list",)
    ),
    "people.rights": Operation(
        frozenset({D}),
        api=(("POST", "/people/export"), ("POST", "/people/correct"), ("POST", "/people/erase")),
        cli=("people export", "people correct", "people erase"),
    ),
    "people.retention": Operation(
        frozenset({D}), api=(("POST", "/retention/run"),), cli=("retention run",)
    ),
    "campaign.read": Operation(
        READERS,
        api=(
            ("GET", "/campaigns"),
            ("GET", "/campaigns/{campaign_id}"),
            ("GET", "/campaigns/{campaign_id}/languages"),
            ("GET", "/notices/uncertain"),
            ("GET", "/templates/check"),
        ),
        cli=("notify status", "notify languages", "templates check"),
        web=(
            ("GET", "/incidents/{incident_id}/campaigns/{campaign_id}"),
            ("GET", "/incidents/{incident_id}/campaigns/{campaign_id}/progress"),
        ),
    ),
    "campaign.manage": Operation(
        frozenset({S}),
        api=(
            ("POST", "/incidents/{incident_id}/campaigns"),
            ("POST", "/campaigns/{campaign_id}/redraft"),
            ("POST", "/campaigns/{campaign_id}/send"),
        ),
        cli=("notify draft", "notify send"),
        web=(
            ("POST", "/incidents/{incident_id}/campaigns"),
            ("POST", "/incidents/{incident_id}/campaigns/{campaign_id}/redraft"),
            ("POST", "/incidents/{incident_id}/campaigns/{campaign_id}/send"),
        ),
    ),
    "campaign.preview": Operation(
        frozenset({S, D}),
        api=(("POST", "/campaigns/{campaign_id}/preview"),),
        cli=("notify preview",),
        web=(("POST", "/incidents/{incident_id}/campaigns/{campaign_id}/preview"),),
    ),
    "campaign.approve": Operation(
        frozenset({D}),
        api=(("POST", "/campaigns/{campaign_id}/approve"),),
        cli=("notify approve",),
        web=(("POST", "/incidents/{incident_id}/campaigns/{campaign_id}/approve"),),
    ),
    "campaign.control": Operation(
        frozenset({S, D}),
        api=tuple(
            ("POST", f"/campaigns/{{campaign_id}}/{a}") for a in ("pause", "resume", "cancel")
        ),
        cli=("notify pause", "notify resume", "notify cancel"),
        web=tuple(
            ("POST", f"/incidents/{{incident_id}}/campaigns/{{campaign_id}}/{a}")
            for a in ("pause", "resume", "cancel")
        ),
    ),
    "notice.resolve": Operation(
        frozenset({D}),
        api=(
            ("POST", "/notices/{notice_id}/resolve"),
            ("POST", "/campaigns/{campaign_id}/settle"),
        ),
        cli=("notify resolve", "notify settle"),
    ),
    "mailbox.read": Operation(
        READERS,
        api=(("GET", "/mailbox"), ("GET", "/mailbox/{ref}")),
        cli=("mailbox", "mailbox show"),
        web=(("GET", "/mailbox"), ("GET", "/mailbox/{message_id:path}")),
    ),
    "audit.replay": Operation(
        READERS,
        api=(
            ("GET", "/replay"),
            ("GET", "/incidents/{incident_id}/replay"),
            ("GET", "/incidents/{incident_id}/diff"),
        ),
        cli=("replay",),
    ),
    "audit.export": Operation(
        frozenset({D, A}),
        api=(
            ("GET", "/audit/verify"),
            ("GET", "/incidents/{incident_id}/bundle"),
            ("POST", "/audit/bundle/verify"),
        ),
        cli=("audit export",),
    ),
    "demo.load": Operation(frozenset({S, D}), cli=("demo",), web=(("POST", "/demo"),)),
    "users.admin": Operation(
        frozenset({M}),
        api=(
            ("GET", "/users"),
            ("POST", "/users"),
            ("GET", "/users/{username}"),
            ("PUT", "/users/{username}/roles"),
            ("POST", "/users/{username}/password"),
            ("POST", "/users/{username}/tokens"),
            ("DELETE", "/users/{username}/tokens/{token_id}"),
            ("POST", "/users/{username}/disable"),
            ("POST", "/users/{username}/enable"),
        ),
        cli=tuple(
            f"users {c}"
            for c in ("list", "add", "role", "token", "revoke", "password", "disable", "enable")
        ),
        web=(
            ("GET", "/users"),
            ("POST", "/users"),
            *(
                ("POST", f"/users/{{username}}/{action}")
                for action in ("roles", "password", "token", "revoke", "disable", "enable")
            ),
        ),
    ),
    "webhooks.admin": Operation(
        frozenset({M}),
        api=(
            ("GET", "/webhooks"),
            ("POST", "/webhooks"),
            ("GET", "/webhooks/{webhook_id}"),
            ("POST", "/webhooks/{webhook_id}/disable"),
            ("POST", "/webhooks/{webhook_id}/enable"),
            ("POST", "/webhooks/{webhook_id}/test"),
            ("GET", "/webhooks/{webhook_id}/deliveries"),
        ),
        cli=tuple(
            f"webhooks {c}" for c in ("add", "list", "test", "deliveries", "disable", "enable")
        ),
        web=(
            ("GET", "/webhooks"),
            ("POST", "/webhooks"),
            ("GET", "/webhooks/{webhook_id}"),
            *(
                ("POST", f"/webhooks/{{webhook_id}}/{action}")
                for action in ("disable", "enable", "test")
            ),
        ),
    ),
    "incident.owner": Operation(
        frozenset({S, D}),
        api=(("PUT", "/incidents/{incident_id}/owner"),),
        cli=("owners set",),
        web=(("POST", "/incidents/{incident_id}/owner"),),
    ),
    "duty.manage": Operation(
        frozenset({D, M}),
        api=(("POST", "/duty-rota/shifts"), ("DELETE", "/duty-rota/shifts/{shift_id}")),
        cli=("owners duty", "owners cancel"),
    ),
    "alert.read": Operation(
        frozenset({S, D, A, M}),
        api=(("GET", "/alerts"), ("GET", "/duty-rota")),
        cli=("alerts", "owners"),
        web=(("GET", "/alerts"),),
    ),
    "alert.ack": Operation(
        frozenset({S, D, M}),
        api=(("POST", "/alerts/{alert_id}/ack"),),
        cli=("alerts ack",),
        web=(("POST", "/alerts/{alert_id}/ack"),),
    ),
    "operations": Operation(
        frozenset({M}),
        api=(("GET", "/views"), ("POST", "/views/rebuild"), ("GET", "/views/check")),
    ),
}

OPERATOR_COMMANDS = frozenset(
    {"serve", "worker", "views status", "views rebuild", "audit verify", "init", "login"}
)
"""Commands for the machine's operator: they need no proven identity (they record nothing
but the first account, under the operating-system user)."""

API_SIGNED = frozenset({("POST", "/intake/alerts")})
"""Authenticated by the intake signature, not by a user."""

WEB_PUBLIC = frozenset(
    {
        ("GET", "/login"),
        ("POST", "/login"),
        ("POST", "/logout"),
        ("GET", "/account/password"),
        ("POST", "/account/password"),
    }
)
"""Signing in and out, and one's own password: open to whoever holds the session."""


def allowed(face: str, entry: object) -> frozenset[str]:
    """The roles allowed the route or command ``entry`` of ``face`` (api, cli or web)."""
    found = [op.roles for op in OPERATIONS.values() if entry in getattr(op, face)]
    assert len(found) == 1, f"{face} {entry} is listed {len(found)} times"
    return found[0]


def listed(face: str) -> set[object]:
    """Every route or command of ``face`` the matrix lists."""
    return {entry for op in OPERATIONS.values() for entry in getattr(op, face)}
