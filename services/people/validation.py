"""Checking one row of a people file: a valid person, or the field and reason it fails."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import pycountry

from events.incident import TITLE_MAX
from services.application.fields import email_address, line_problem
from services.assessment.jurisdictions import is_known
from services.people.rows import KNOWN_COLUMNS, Row
from services.vault.sealing import PersonData

_LANGUAGE = re.compile(r"^([A-Za-z]{2,3})(?:[-_]([A-Za-z]{4}))?(?:[-_]([A-Za-z]{2}))?$")
_ATTRIBUTE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_ATTRIBUTES_CHARS = 4000


@dataclass(frozen=True)
class Rejection:
    """Why a row was not imported."""

    row: int
    field: str
    reason: str


@dataclass(frozen=True)
class PersonInput:
    """A valid row: the personal data (to be sealed) and the routing facts."""

    row: int
    data: PersonData
    language: str
    jurisdiction: str


@cache
def normalise_language(text: str) -> str | None:
    """A BCP 47-style tag (``en``, ``zh-CN``, ``zh-Hans``) with a known ISO 639 language."""
    match = _LANGUAGE.match(text.strip())
    if not match:
        return None
    base, script, region = match.groups()
    base = base.lower()
    found = (
        pycountry.languages.get(alpha_2=base)
        if len(base) == 2
        else pycountry.languages.get(alpha_3=base)
    )
    if found is None:
        return None
    parts = [base]
    if script:
        parts.append(script.title())
    if region:
        if pycountry.countries.get(alpha_2=region.upper()) is None:
            return None
        parts.append(region.upper())
    return "-".join(parts)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def check_row(row: Row) -> PersonInput | Rejection:
    """Validate a row: email syntax and domain form, known language and jurisdiction, one
    line of text in every other field. A rejection names the field and says what is wrong
    in our words: never the value, nor the name of an unknown column."""
    if row.problem is not None:
        return Rejection(row.number, "row", row.problem)
    fields = row.fields
    email = _text(fields.get("email"))
    if not email:
        return Rejection(row.number, "email", "is required")
    try:
        normalised = email_address(email)
    except ValueError as e:
        return Rejection(row.number, "email", str(e))
    language = normalise_language(_text(fields.get("language")))
    if language is None:
        reason = (
            "is required" if not _text(fields.get("language")) else "is not a known language code"
        )
        return Rejection(row.number, "language", reason)
    jurisdiction = _text(fields.get("jurisdiction")).upper()
    if not jurisdiction:
        return Rejection(row.number, "jurisdiction", "is required")
    if not is_known(jurisdiction):
        return Rejection(row.number, "jurisdiction", "is not a known ISO 3166 code")
    attributes: dict[str, str] = {}
    for position, (key, value) in enumerate(fields.items(), start=1):
        if key in KNOWN_COLUMNS or value is None or value == "":
            continue
        if not _ATTRIBUTE.match(key):
            reason = f"field {position} has a name that is not lower-case letters, digits and _"
            return Rejection(row.number, "attributes", reason)
        if isinstance(value, dict | list):
            return Rejection(row.number, "attributes", f"field {position} is not text or a number")
        text = str(value).strip()
        if line_problem(text) is not None:
            return Rejection(row.number, "attributes", f"field {position} is not one line of text")
        attributes[key] = text
    if sum(len(k) + len(v) for k, v in attributes.items()) > MAX_ATTRIBUTES_CHARS:
        return Rejection(row.number, "attributes", f"more than {MAX_ATTRIBUTES_CHARS} characters")
    name = _text(fields.get("name"))
    reference = _text(fields.get("reference"))
    for field, value in (("name", name), ("reference", reference)):
        if len(value) > TITLE_MAX:
            return Rejection(row.number, field, f"must be at most {TITLE_MAX} characters")
        problem = line_problem(value)
        if problem is not None:
            return Rejection(row.number, field, problem)
    return PersonInput(
        row=row.number,
        data=PersonData(
            email=normalised, name=name, reference=reference or None, attributes=attributes
        ),
        language=language,
        jurisdiction=jurisdiction,
    )
