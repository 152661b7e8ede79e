"""Reading the Message-IDs a relay accepted from a list or a log as it is."""

from __future__ import annotations

import pytest

from services.application.errors import InvalidInput
from services.notifications.message import FOUND_LIST_MAX_BYTES, message_ids_in
from services.operations.notices import found_in


def test_message_ids_are_found_in_a_list_or_a_relay_log() -> None:
    """One per line, or inside postfix-style log lines; anything that is not
    ``<local@domain>`` is ignored, duplicates count once."""
    text = (
        "<a1@bl.example>\n"
        "Dec  6 07:00:01 relay postfix/cleanup[12]: 4F2: message-id=<b2@bl.example>\n"
        "garbage without an id\n<no-at-sign>\n< spaced@x >\n<a1@bl.example>\n"
    )
    assert message_ids_in(text) == {"<a1@bl.example>", "<b2@bl.example>"}


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff\xfe not text", "is not UTF-8 text"),
        (b"no ids here\n", "holds no Message-ID (<local@domain>)"),
        (b"<a@b.example>" + b" " * FOUND_LIST_MAX_BYTES, "is larger than 32 MiB"),
    ],
)
def test_a_list_without_ids_or_not_text_is_refused_naming_found(data: bytes, reason: str) -> None:
    """A list that is not UTF-8, holds no Message-ID or is too large is refused naming
    ``found`` and without quoting it."""
    with pytest.raises(InvalidInput) as refused:
        found_in(data)
    assert (refused.value.field, refused.value.reason) == ("found", reason)
