"""The names the system records as actors of its own changes, kept apart from usernames.

Every change in the log names its actor. People act under their usernames; the system acts
under names no username can take, so that nobody can create an account whose actions pass for
the system's, or read what the system recorded under such a name as theirs:

- ``dispatcher``: the notice dispatcher; ``policy.<name>``: a policy reacting to events;
- ``intake:<source>``: an incident opened by a signed alert from a monitoring tool;
- ``os:<login>``: an operator command run on the machine without a proven identity (the
  first account, for instance), recorded under the operating-system user;
- ``demo:<role>``: the fictional team of the demo incident.

Usernames are letters, digits and ``. _ -`` (no ``:``), and may not be ``dispatcher`` or
start with ``policy.``.
"""

from __future__ import annotations

import getpass

DISPATCHER = "dispatcher"
POLICY_PREFIX = "policy."
SEPARATOR = ":"
RESERVED_NAMES = frozenset({DISPATCHER, "system"})


def intake(source: str) -> str:
    """The actor of an incident opened by an alert from ``source``."""
    return f"intake{SEPARATOR}{source}"


def operating_system_user() -> str:
    """The actor of an operator command run without a proven identity."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    return f"os{SEPARATOR}{login}"


def demo(role: str) -> str:
    """A fictional actor of the demo incident."""
    return f"demo{SEPARATOR}{role}"


def is_reserved(name: str) -> bool:
    """Whether ``name`` belongs to the system's namespaces (no user may have it)."""
    lowered = name.lower()
    return SEPARATOR in name or lowered in RESERVED_NAMES or lowered.startswith(POLICY_PREFIX)
