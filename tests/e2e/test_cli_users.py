"""`breach users`: accounts, roles and tokens from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import Cli
from tests.support.store import count_events


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    out = Cli(tmp_path / "var", actor="ops")
    out.env["BREACH_PASSWORD_HASH_MEMORY_KIB"] = "64"
    return out


def _listed(cli: Cli, username: str) -> dict[str, object]:
    [user] = [u for u in cli.ok("users", "list", "--json").json() if u["username"] == username]
    assert isinstance(user, dict)
    return user


def test_add_prints_a_one_time_password_and_list_shows_roles(cli: Cli) -> None:
    """Adding a user prints its one-time password once; the list shows the roles."""
    added = cli.ok("users", "add", "dana", "--role", "dpo", "--role", "auditor")
    assert "one-time password:" in added.out
    assert _listed(cli, "dana") == {
        "username": "dana",
        "roles": ["dpo", "auditor"],
        "disabled": False,
        "service": False,
        "tokens": [],
        "email_set": False,
        "language": "en",
    }


def test_role_token_revoke_disable_enable_round_trip(cli: Cli) -> None:
    """Roles are replaced, a service account's token is listed by name then revoked,
    disable/enable flip."""
    cli.ok("users", "add", "sam", "--role", "reporter", "--service")
    assert cli.ok("users", "role", "sam", "-r", "responder", "--json").json()["roles"] == [
        "responder"
    ]
    token = cli.ok("users", "token", "sam", "--name", "siem").out.strip()
    assert token.startswith("bl_")
    [issued] = _listed(cli, "sam")["tokens"]  # type: ignore[misc]
    assert issued["name"] == "siem"
    assert token.split("_")[1] == issued["token_id"]
    cli.ok("users", "revoke", "sam", issued["token_id"])
    cli.ok("users", "disable", "sam", "--reason", "left the team")
    assert _listed(cli, "sam")["disabled"] is True
    cli.ok("users", "enable", "sam")
    assert _listed(cli, "sam") == {
        "username": "sam",
        "roles": ["responder"],
        "disabled": False,
        "service": True,
        "tokens": [],
        "email_set": False,
        "language": "en",
    }


def test_bad_input_exits_2_naming_the_field_and_records_nothing(cli: Cli) -> None:
    """Unknown roles, bad names, duplicates and unknown users are refused with exit 2."""
    cli.ok("users", "add", "sam", "--role", "reporter")
    before = count_events(cli.data_dir)
    for args, field in [
        (("users", "add", "bad name", "--role", "dpo"), "username"),
        (("users", "add", "sam", "--role", "dpo"), "username"),
        (("users", "role", "nobody", "--role", "dpo"), "username"),
        (("users", "revoke", "sam", "nope"), "token"),
    ]:
        result = cli(*args)
        assert result.code == 2, (args, result.err)
        assert field in result.err
    wrong_role = cli("users", "add", "kim", "--role", "king")
    assert wrong_role.code == 2
    assert "--role: is not one of" in wrong_role.err
    assert "king" not in wrong_role.err
    assert count_events(cli.data_dir) == before


def test_set_changes_email_and_language_each_alone_and_never_logs_the_address(cli: Cli) -> None:
    """`users set` sets the address (shown to the admin in --json, only a flag in the
    list), the language alone keeps the address, --no-email removes it; the user may set
    their own, another user may not; bad input exits 2 naming the field, echoing nothing
    and recording nothing; the address is in no event."""
    cli.ok("users", "add", "olga", "--role", "responder")
    cli.user("olga", "responder")
    cli.user("pia", "responder")
    address = "olga.cli@alerts.example.net"
    shown = cli.ok("users", "set", "olga", "--email", address, "--json").json()
    assert (shown["email"], shown["email_set"], shown["language"]) == (address, True, "en")
    assert address not in cli.ok("users", "list").out
    assert _listed(cli, "olga")["email_set"] is True
    mine = cli.ok("users", "set", "olga", "--language", "zh-CN", "--json", actor="olga").json()
    assert (mine["email"], mine["language"]) == (address, "zh-CN")
    before = count_events(cli.data_dir)
    for args, field in [
        (("--email", "olga-at-nowhere"), "email"),
        (("--language", "tlh"), "language"),
        (("--email", address, "--no-email"), "email"),
        ((), "input"),
    ]:
        result = cli("users", "set", "olga", *args)
        assert result.code == 2, (args, result.err)
        assert field in result.err
        for value in args:
            if not value.startswith("--"):
                assert value not in result.err + result.out
    refused = cli("users", "set", "olga", "--no-email", actor="pia")
    assert refused.code != 0
    assert "username" in refused.err
    assert count_events(cli.data_dir) == before
    removed = cli.ok("users", "set", "olga", "--no-email", "--json").json()
    assert (removed["email"], removed["email_set"], removed["language"]) == (None, False, "zh-CN")
    assert "--no-email" in cli.ok("users", "set", "--help").out
    events = (cli.data_dir / "events.db").read_bytes()
    assert address.encode() not in events
