"""The rules every field of a command follows, in one place: the kinds of text (one line, or a
block of lines), bounded counts, amounts and hours, moments no earlier than 1970, and email
addresses. Command models annotate their fields with these types; the console, the web forms
and the people import check with the same functions.

Every refusal says what is wrong without repeating the value (the field is named by the
caller of the rule).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints, TypeAdapter
from pydantic import ValidationError as _ValidationError

from events.incident import TEXT_MAX, TITLE_MAX
from services.application.errors import InvalidInput

LINE_MAX = 2000
"""Longest single-line text other than titles and names (reasons, outcomes, references)."""
EMAIL_MAX = 320
MAX_COUNT = 10_000_000_000
"""Most people or records a count may give (more than live on Earth)."""
MAX_AMOUNT = 10**15
"""Largest amount of money a fact may give."""
MAX_HOURS = 1_000_000.0
"""Longest time in hours a fact may give (over a century)."""
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
"""No moment an incident records (occurrence, detection, awareness, a notice, a due time)
lies before this."""

ONE_LINE = "must be one line without control characters"
NO_CONTROLS = "must not hold control characters (tabs and line breaks are allowed)"
BEFORE_EARLIEST = "must not be before 1970-01-01"
NOT_A_MOMENT = "is not a time this ledger can hold"


CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""Control characters (C0, DEL, C1: Unicode's category Cc) and the line and paragraph
separators (Zl, Zp): the whole of those three categories, searched in one pass."""
BLOCK_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
""":data:`CONTROLS` but tab and line feed."""


def line_problem(value: str) -> str | None:
    """Why ``value`` is not one line of text, or None when it is."""
    return ONE_LINE if CONTROLS.search(value) else None


def one_line(value: str) -> str:
    """``value`` when it is one line without control characters; else ValueError."""
    problem = line_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def text_block(value: str) -> str:
    """``value`` with CR LF read as LF, when it holds no control character but tab and
    line feed; else ValueError."""
    value = value.replace("\r\n", "\n")
    if BLOCK_CONTROLS.search(value):
        raise ValueError(NO_CONTROLS)
    return value


def plausible_moment(value: datetime) -> datetime:
    """``value`` when it lies in 1970 or later and in the range times can be compared in."""
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError(NOT_A_MOMENT) from None
    if utc < EARLIEST:
        raise ValueError(BEFORE_EARLIEST)
    if utc.year > 9000:
        raise ValueError(NOT_A_MOMENT)
    return value


@cache
def _valid_address(text: str) -> bool:
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def email_problem(text: str) -> str:
    """Which part of an invalid address is wrong, as one of a fixed set of reasons (the
    validator's own words quote the address, so they are never passed on)."""
    if "@" not in text:
        return "it has no @-sign"
    if len(text) > 254:
        return "it is longer than 254 characters"
    local, _, domain = text.rpartition("@")
    if not local:
        return "the local part (before the @-sign) is empty"
    if not domain:
        return "the domain part (after the @-sign) is empty"
    if not _valid_address(f"{local}@example.org"):
        return "the local part (before the @-sign) is invalid"
    if not _valid_address(f"mail@{domain}"):
        return "the domain part (after the @-sign) is invalid"
    return "it is not valid as a whole"


def email_address(value: str) -> str:
    """The normalised form of a valid address; else ValueError saying which part is wrong."""
    text = value.strip()
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValueError(f"is not a valid address: {email_problem(text)}") from None


def _text(min_length: int, max_length: int) -> Any:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


Title = Annotated[str, _text(1, TITLE_MAX), AfterValidator(one_line)]
"""One line of 1 to 200 characters: titles, names, usernames, labels."""
OptionalTitle = Annotated[str, _text(0, TITLE_MAX), AfterValidator(one_line)]
"""One line of at most 200 characters, possibly empty."""
Line = Annotated[str, _text(1, LINE_MAX), AfterValidator(one_line)]
"""One line of 1 to 2,000 characters: reasons, resolutions, outcomes, references."""
OptionalLine = Annotated[str, _text(0, LINE_MAX), AfterValidator(one_line)]
"""One line of at most 2,000 characters, possibly empty."""
Text = Annotated[str, _text(1, TEXT_MAX), AfterValidator(text_block)]
"""Lines of text, 1 to 20,000 characters: notes, the content of notices."""
OptionalText = Annotated[str, _text(0, TEXT_MAX), AfterValidator(text_block)]
"""Lines of text of at most 20,000 characters, possibly empty: descriptions."""
Email = Annotated[str, _text(1, EMAIL_MAX), AfterValidator(email_address)]
"""An email address, normalised."""
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
"""A number of people or records."""
Amount = Annotated[int, Field(ge=0, le=MAX_AMOUNT)]
"""A whole amount of money."""
Hours = Annotated[float, Field(ge=0, le=MAX_HOURS, allow_inf_nan=False)]
"""A duration in hours."""
Moment = Annotated[AwareDatetime, AfterValidator(plausible_moment)]
"""A moment with its UTC offset, in 1970 or later."""


@cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def checked(field: str, kind: Any, value: Any) -> Any:
    """``value`` validated as ``kind`` (one of the types above), or :class:`InvalidInput`
    naming ``field``."""
    try:
        return _adapter(kind).validate_python(value)
    except _ValidationError as e:
        raise InvalidInput(field, InvalidInput.from_validation_dict(e.errors()[0]).reason) from None
