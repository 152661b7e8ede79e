"""The assessment form: the facts of an impact assessment as structured fields, read back into
the command's input, and the values that refill the form (from the current assessment, or
from what was typed when a submission was refused)."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from typing import Any

from starlette.datastructures import FormData

from events.assessment import (
    CREDENTIAL_CATEGORIES,
    AssessmentFacts,
    BreachType,
    DataCategory,
    Encryption,
    Identifiability,
    Intent,
    Recipients,
    Recovery,
    Role,
    Sector,
)
from services.application.errors import InvalidInput
from services.timefmt import parse_time
from services.web.access import text, texts
from services.web.render import local_input

FLAGS = (
    "children",
    "vulnerable_people",
    "major_incident",
    "remedial_measures_effective",
    "hipaa_low_probability",
)
ADJUSTMENTS = ("volume", "sensitive_controller", "inaccurate", "public")
BLANK_ROWS = 3

FACT_OPTIONS: dict[str, list[str]] = {
    "data_categories": [c.value for c in DataCategory],
    "credentials": [c.value for c in DataCategory if c in CREDENTIAL_CATEGORIES],
    "breach_types": [b.value for b in BreachType],
    "encryption": [e.value for e in Encryption],
    "recipients": [r.value for r in Recipients],
    "intent": [i.value for i in Intent],
    "recovery": [r.value for r in Recovery],
    "identifiability": [i.value for i in Identifiability],
    "role": [r.value for r in Role],
    "sectors": [s.value for s in Sector],
    "flags": list(FLAGS),
    "adjustments": list(ADJUSTMENTS),
}
"""The choices the form offers, from the facts model's vocabularies."""


def _rows(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [*pairs, *[("", "")] * BLANK_ROWS]


def facts_values(facts: AssessmentFacts | None, zone: tzinfo) -> dict[str, Any]:
    """Form values showing ``facts`` (or the defaults for a first assessment)."""
    if facts is None:
        return {
            "summary": "",
            "data_categories": [],
            "credentials_open": [],
            "people_count": "",
            "people_confirmed": False,
            "records_count": "",
            "records_confirmed": False,
            "jurisdictions": _rows([]),
            "breach_types": [BreachType.CONFIDENTIALITY.value],
            "encryption": Encryption.NONE.value,
            "recipients": "",
            "intent": "",
            "recovery": Recovery.NOT_APPLICABLE.value,
            "time_to_restore_hours": "",
            "identifiability": Identifiability.MAXIMUM.value,
            "role": Role.CONTROLLER.value,
            "customer": "",
            "sectors": [],
            "establishments": "",
            "direct_loss_cny": "0",
            "flags": [],
            "adjustments": [],
            "assessed_notifiable_at": "",
        }
    return {
        "summary": facts.summary,
        "data_categories": [c.value for c in facts.data_categories],
        "credentials_open": [c.value for c in facts.credentials_open],
        "people_count": str(facts.people.count),
        "people_confirmed": facts.people.confirmed,
        "records_count": str(facts.records.count) if facts.records else "",
        "records_confirmed": bool(facts.records and facts.records.confirmed),
        "jurisdictions": _rows([(k, str(v)) for k, v in facts.people_by_jurisdiction.items()]),
        "breach_types": [b.value for b in facts.breach_types],
        "encryption": facts.encryption.value,
        "recipients": facts.recipients.value,
        "intent": facts.intent.value,
        "recovery": facts.recovery.value,
        "time_to_restore_hours": (
            f"{facts.time_to_restore_hours:g}" if facts.time_to_restore_hours is not None else ""
        ),
        "identifiability": facts.identifiability.value,
        "role": facts.role.value,
        "customer": facts.customer or "",
        "sectors": [s.value for s in facts.sectors],
        "establishments": ", ".join(facts.establishments),
        "direct_loss_cny": str(facts.direct_loss_cny),
        "flags": [name for name in FLAGS if getattr(facts, name)],
        "adjustments": [name for name in ADJUSTMENTS if getattr(facts.adjustments, name)],
        "assessed_notifiable_at": local_input(facts.assessed_notifiable_at, zone),
    }


def posted_values(form: FormData) -> dict[str, Any]:
    """Form values as typed (to refill a refused form)."""
    codes = texts(form, "jurisdiction")
    counts = texts(form, "jurisdiction_people")
    pairs = [(c, n) for c, n in zip(codes, counts, strict=False) if c.strip() or n.strip()]
    return {
        "summary": text(form, "summary"),
        "data_categories": texts(form, "data_categories"),
        "credentials_open": texts(form, "credentials_open"),
        "people_count": text(form, "people_count"),
        "people_confirmed": bool(text(form, "people_confirmed")),
        "records_count": text(form, "records_count"),
        "records_confirmed": bool(text(form, "records_confirmed")),
        "jurisdictions": _rows(pairs),
        "breach_types": texts(form, "breach_types"),
        "encryption": text(form, "encryption"),
        "recipients": text(form, "recipients"),
        "intent": text(form, "intent"),
        "recovery": text(form, "recovery"),
        "time_to_restore_hours": text(form, "time_to_restore_hours"),
        "identifiability": text(form, "identifiability"),
        "role": text(form, "role"),
        "customer": text(form, "customer"),
        "sectors": texts(form, "sectors"),
        "establishments": text(form, "establishments"),
        "direct_loss_cny": text(form, "direct_loss_cny"),
        "flags": texts(form, "flags"),
        "adjustments": texts(form, "adjustments"),
        "assessed_notifiable_at": text(form, "assessed_notifiable_at"),
    }


def _whole(field: str, raw: str, *, required: bool = False) -> int | None:
    value = raw.strip().replace(",", "").replace("_", "")
    if not value:
        if required:
            raise InvalidInput(field, "is required")
        return None
    if not value.isdigit() or len(value) > 15:
        raise InvalidInput(field, "is not a whole number of at least 0")
    return int(value)


def _hours(raw: str) -> float | None:
    value = raw.strip()
    if not value:
        return None
    try:
        hours = float(value)
    except ValueError:
        raise InvalidInput("time_to_restore_hours", "is not a number") from None
    if hours != hours or hours < 0:  # NaN or negative
        raise InvalidInput("time_to_restore_hours", "must be a number of at least 0")
    return hours


def facts_data(values: dict[str, Any], zone: tzinfo, now: datetime) -> dict[str, Any]:
    """The assessment command's input from the form's values (validated by the command)."""
    jurisdictions: dict[str, int] = {}
    for row, (code, count) in enumerate(values["jurisdictions"], start=1):
        key = code.strip().upper()
        if not key and not count.strip():
            continue
        field = "people_by_jurisdiction"
        if not key:
            raise InvalidInput(field, f"row {row}: give the jurisdiction of its people")
        if key in jurisdictions:
            raise InvalidInput(field, f"row {row}: the jurisdiction is given twice")
        try:
            number = _whole(field, count, required=True)
        except InvalidInput as e:
            raise InvalidInput(field, f"row {row}: the number of people {e.reason}") from None
        assert number is not None
        jurisdictions[key] = number
    data: dict[str, Any] = {
        "summary": values["summary"].strip(),
        "data_categories": values["data_categories"],
        "credentials_open": values["credentials_open"],
        "people": {
            "count": _whole("people.count", values["people_count"], required=True),
            "confirmed": values["people_confirmed"],
        },
        "people_by_jurisdiction": jurisdictions,
        "breach_types": values["breach_types"],
        "encryption": values["encryption"] or Encryption.NONE.value,
        "recipients": values["recipients"],
        "intent": values["intent"],
        "recovery": values["recovery"] or Recovery.NOT_APPLICABLE.value,
        "identifiability": values["identifiability"] or Identifiability.MAXIMUM.value,
        "role": values["role"] or Role.CONTROLLER.value,
        "customer": values["customer"].strip() or None,
        "sectors": values["sectors"],
        "establishments": [c for c in re.split(r"[\s,;]+", values["establishments"]) if c],
        "direct_loss_cny": _whole("direct_loss_cny", values["direct_loss_cny"]) or 0,
        "adjustments": {name: name in values["adjustments"] for name in ADJUSTMENTS},
    }
    records = _whole("records.count", values["records_count"])
    if records is not None:
        data["records"] = {"count": records, "confirmed": values["records_confirmed"]}
    hours = _hours(values["time_to_restore_hours"])
    if hours is not None:
        data["time_to_restore_hours"] = hours
    for name in FLAGS:
        data[name] = name in values["flags"]
    notifiable = values["assessed_notifiable_at"].strip()
    if notifiable:
        data["assessed_notifiable_at"] = parse_time(
            "assessed_notifiable_at", notifiable, zone, now=now
        )
    if not data["data_categories"]:
        raise InvalidInput("data_categories", "tick at least one category of data")
    if not jurisdictions:
        raise InvalidInput(
            "people_by_jurisdiction", "give at least one jurisdiction and its number of people"
        )
    if not data["breach_types"]:
        raise InvalidInput("breach_types", "tick at least one kind of breach")
    for name in ("recipients", "intent"):
        if not data[name]:
            raise InvalidInput(name, "choose one")
    return data
