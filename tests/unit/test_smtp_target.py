"""The SMTP relay's address read from its URL: the parts, the defaults, and a password that
never shows in the target's repr or in the error a bad URL raises."""

from __future__ import annotations

import pytest

from services.smtp_target import SmtpTarget


def test_a_url_gives_host_port_tls_and_credentials_without_showing_the_password() -> None:
    """smtp:// with STARTTLS and credentials, and smtps:// with its default port, are read
    as given; the password is kept but left out of the repr."""
    target = SmtpTarget.from_url("smtp://bob:hunter%232@mail.example:587?starttls=true")
    assert (target.host, target.port, target.starttls, target.tls) == (
        "mail.example",
        587,
        True,
        False,
    )
    assert (target.username, target.password) == ("bob", "hunter#2")
    assert "hunter" not in repr(target)
    assert SmtpTarget.from_url("smtps://relay.example").port == 465


@pytest.mark.parametrize("url", ["http://bob:hunter2@mail.example", "smtp://bob:hunter2@/"])
def test_a_bad_url_is_refused_without_repeating_it(url: str) -> None:
    """Not smtp(s), or no host: refused with a message that holds no part of the URL."""
    with pytest.raises(ValueError, match="not an smtp") as refused:
        SmtpTarget.from_url(url)
    assert "hunter2" not in str(refused.value)
    assert "bob" not in str(refused.value)
