"""The field rules in one place: kinds of text, bounded numbers, plausible moments, email
addresses, and refusals worded without the value."""

from __future__ import annotations

import sys
import unicodedata
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from services.application.errors import InvalidInput
from services.application.fields import (
    BLOCK_CONTROLS,
    Count,
    Email,
    Hours,
    Line,
    Moment,
    Text,
    Title,
    checked,
    email_problem,
    line_problem,
)

MARK = "Zqx7Mark"


class Colour(StrEnum):
    """A small vocabulary."""

    RED = "red"
    BLUE = "blue"


class Sample(BaseModel):
    """A command with one field of each kind."""

    model_config = ConfigDict(extra="forbid")

    title: Title = "t"
    text: Text = "x"
    line: Line = "l"
    email: Email = "a@example.org"
    count: Count = 0
    hours: Hours = 0
    moment: Moment = datetime(2026, 1, 1, tzinfo=UTC)
    colour: Colour = Colour.RED


def refusal(**data: Any) -> InvalidInput:
    """The refusal of a sample built from ``data``."""
    with pytest.raises(ValidationError) as caught:
        Sample.model_validate(data)
    return InvalidInput.from_validation(caught.value)


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ({"title": f"{MARK}\nx"}, "title", "must be one line without control characters"),
        ({"title": f"{MARK}\u2028x"}, "title", "must be one line without control characters"),
        ({"line": f"{MARK}\rx"}, "line", "must be one line without control characters"),
        (
            {"text": f"{MARK}\x00"},
            "text",
            "must not hold control characters (tabs and line breaks are allowed)",
        ),
        (
            {"email": f"{MARK}@bad\u0640domain"},
            "email",
            "is not a valid address: the domain part (after the @-sign) is invalid",
        ),
        ({"count": 10**29}, "count", "must be at most 10,000,000,000"),
        ({"count": -1}, "count", "must be at least 0"),
        ({"count": MARK}, "count", "must be a whole number"),
        ({"hours": float("inf")}, "hours", "must be a finite number"),
        ({"moment": "0001-01-01T00:00:00Z"}, "moment", "must not be before 1970-01-01"),
        ({"moment": "0001-01-01T00:00:00+05:00"}, "moment", "is not a time this ledger can hold"),
        ({"moment": MARK}, "moment", "is not a time; use ISO 8601, e.g. 2026-11-27T14:05+01:00"),
        ({"colour": MARK}, "colour", "is not one of red, blue"),
        ({MARK: 1}, "input", "holds a field that is not known"),
        ({"title": "x" * 201}, "title", "must be at most 200 characters"),
    ],
)
def test_each_refusal_names_the_field_and_never_the_value(
    data: dict[str, Any], field: str, reason: str
) -> None:
    """The reason is ours, fixed, and free of what was given."""
    found = refusal(**data)
    assert (found.field, found.reason) == (field, reason)
    assert MARK.lower() not in str(found).lower()


def test_text_blocks_keep_tabs_and_line_breaks_and_read_crlf_as_lf() -> None:
    """Multi-line text may hold tabs and line breaks; CR LF is stored as LF."""
    assert Sample(text="one\r\n\ttwo\nthree").text == "one\n\ttwo\nthree"
    assert Sample(title="  padded  ").title == "padded"


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("no-at-sign", "it has no @-sign"),
        ("@example.org", "the local part (before the @-sign) is empty"),
        ("bob@", "the domain part (after the @-sign) is empty"),
        ("b ob@example.org", "the local part (before the @-sign) is invalid"),
        ("bob@@example.org", "the local part (before the @-sign) is invalid"),
        ("bob@private-domain", "the domain part (after the @-sign) is invalid"),
        ("bob@[1.2.3.4]", "the domain part (after the @-sign) is invalid"),
        ("x" * 250 + "@example.org", "it is longer than 254 characters"),
    ],
)
def test_email_problems_are_one_of_a_fixed_set(address: str, reason: str) -> None:
    """Which part of an address is wrong, worded by us."""
    assert email_problem(address) == reason


def test_checked_names_the_field_it_is_given() -> None:
    """A plain value checked against a kind is refused under the caller's field name."""
    with pytest.raises(InvalidInput) as caught:
        checked("reason", Line, f"{MARK}\nx")
    assert (caught.value.field, caught.value.reason) == (
        "reason",
        "must be one line without control characters",
    )
    assert checked("reason", Line, "  fine  ") == "fine"


def test_the_control_characters_refused_are_exactly_unicodes_cc_zl_and_zp() -> None:
    """Every code point is refused in a line exactly when Unicode's category is Cc, Zl or Zp,
    and in a block of text likewise, but for tab and line feed."""
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        control = unicodedata.category(char) in ("Cc", "Zl", "Zp")
        assert (line_problem(f"a{char}b") is not None) == control, hex(code)
        assert (BLOCK_CONTROLS.search(char) is not None) == (control and char not in "\t\n")
