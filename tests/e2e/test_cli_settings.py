"""Settings read from the environment: a bad one stops a command with the variable's own
name and a reason, exit status 2, and never repeats the value (a URL may carry a password)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Cli


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("BREACH_SMTP_URL", "http://bob:hunter2@mail.example:25", "must be smtp://"),
        ("BREACH_SMTP_URL", "smtp://bob:hunter2@/", "must be smtp://"),
        ("BREACH_SMTP_RATE", "-1", "must be at least 0"),
        ("BREACH_TIMEZONE", "Bob/Smith", "is not a known time zone"),
    ],
)
def test_a_bad_setting_is_named_in_capitals_without_its_value(
    cli: Cli, name: str, value: str, reason: str
) -> None:
    """Each bad setting exits 2 naming BREACH_<NAME> with the reason, and neither the value
    nor any part of it (user, password, host) appears in what the command printed."""
    cli.user(cli.actor)
    cli.env[name] = value
    for command in (("list",), ("serve", "--port", "0")):
        result = cli(*command)
        assert result.code == 2, result.err
        assert f"breach: error: {name}: {reason}" in result.err
        printed = result.out + result.err
        for part in ("hunter2", "bob", "mail.example", "Bob/Smith", "-1"):
            assert part not in printed
