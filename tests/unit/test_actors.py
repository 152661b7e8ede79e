"""The system's own actor names are out of every user's reach."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.access import actors
from services.application.errors import InvalidInput
from services.bootstrap import bootstrap
from services.config import Settings
from services.users.handlers import new_username


def test_every_actor_the_system_records_is_reserved(tmp_path: Path) -> None:
    """Each policy's name, the dispatcher, alert sources, the operator and the demo team
    are in the reserved namespaces."""
    rt = bootstrap(Settings(data_dir=tmp_path / "var"), configure_logs=False)
    try:
        names = [w.policy.name for w in rt.policies.workers]
    finally:
        rt.close()
    assert names
    for name in [
        *names,
        actors.DISPATCHER,
        actors.intake("wazuh"),
        actors.operating_system_user(),
        actors.demo("dpo"),
    ]:
        assert actors.is_reserved(name), name


@pytest.mark.parametrize(
    "name", ["intake:wazuh", "os:root", "Policy.Notices", "DISPATCHER", "system", "a:b", ""]
)
def test_reserved_or_malformed_names_are_refused_for_new_users(name: str) -> None:
    """A new username in the system's namespaces (any case) or not of the allowed form is
    refused naming the username."""
    with pytest.raises(InvalidInput) as refused:
        new_username(name)
    assert refused.value.field == "username"


@pytest.mark.parametrize("name", ["alice", "ir.lead", "soc-analyst_2", "Dana"])
def test_ordinary_names_are_accepted(name: str) -> None:
    """Letters, digits, dots, dashes and underscores make a username."""
    assert new_username(name) == name
