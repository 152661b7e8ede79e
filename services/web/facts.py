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
    IntegrityLoss,
    Intent,
    Recipients,
    Recovery,
    Role,
    Sector,
)
from services.application.errors import InvalidInput
from services.assessment.rules import severity_policy
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
LIKELIHOOD_FLAGS = ("deletion_confirmed", "recovered_before_access", "misuse_evidence")
ADJUSTMENTS = ("volume", "sensitive_controller", "inaccurate", "public")
BLANK_ROWS = 3
BLANK_ADJUSTMENTS = 2

FACT_HELP: dict[str, str] = {
    "summary": "One line on what happened, without names or other personal data.",
    "breach_types": "The security properties lost: confidentiality (seen), integrity "
    "(altered), availability (lost or unreachable).",
    "encryption": "Encrypted with a key that stayed safe makes the data unintelligible: the "
    "confidentiality risk is neutralised.",
    "recipients": "Who got or may have got the data; trusted means bound by confidentiality "
    "(colleagues, a partner under contract).",
    "intent": "Malicious (theft, attack, insider) or accidental (mistake, loss).",
    "integrity": "For altered data: recoverable, not recoverable, or already used illegally.",
    "recovery": "For lost data: restored without difficulty, temporarily lost, or gone.",
    "time_to_restore_hours": "How long the data were unavailable; more than a day raises "
    "the likelihood.",
    "exposure_days": "Days exposed before detection; blank counts from occurrence to "
    "discovery; 30 or more raises the likelihood.",
    "deletion_confirmed": "The known recipients confirmed deletion or return of the data "
    "(lowers the likelihood).",
    "recovered_before_access": "The data were recovered before anyone could read them "
    "(likelihood negligible for confidentiality).",
    "misuse_evidence": "There is evidence the data are being misused (likelihood maximum).",
    "data_categories": "Every kind of personal data involved; the most telling one counts.",
    "credentials_open": "What exposed credentials give access to; they are scored as that data.",
    "people_count": "How many people are affected (tick confirmed when counted, not estimated).",
    "records_count": "How many records are affected, when known.",
    "identifiability": "How easily the data point to a person: maximum when they name them.",
    "jurisdictions": "Where the affected people live, by ISO 3166 code; decides the laws.",
    "role": "Controller (our data) or processor (a customer's data, we tell the customer).",
    "customer": "The controller to tell, when we are a processor.",
    "establishments": "Where we are established (ISO codes, first is the main establishment).",
    "direct_loss_cny": "Direct economic loss in yuan (PRC incident reporting thresholds).",
    "assessed_notifiable_at": "When the breach was assessed notifiable (Singapore's clock); "
    "blank: when this assessment is recorded.",
    "sectors": "Sectors that bring extra laws; a medical organisation also raises the "
    "data context as a sensitive controller.",
    "children": "Children are among the people (raises the data context one step).",
    "vulnerable_people": "Vulnerable people are among them (raises the data context one step).",
    "major_incident": "Classified as a significant (NIS2) or major (DORA) incident.",
    "remedial_measures_effective": "Measures taken make the high risk to people no longer "
    "likely (GDPR Art 34(3)(b)).",
    "hipaa_low_probability": "A documented HIPAA four-factor assessment shows a low "
    "probability of compromise.",
    "volume": "Much data about each person (detailed profiles, CVs): +1.",
    "sensitive_controller": "Who holds the data makes them telling (a clinic's list): +1.",
    "inaccurate": "The data are known to be invalid or inaccurate: -1.",
    "public": "The data were public before the breach: -1.",
    "dpc_adjustments": "A named ENISA adjustment of one category, with the step and your "
    "reason for it.",
}
"""One line of help per fact the form offers."""

FACT_OPTIONS: dict[str, list[str]] = {
    "data_categories": [c.value for c in DataCategory],
    "credentials": [c.value for c in DataCategory if c in CREDENTIAL_CATEGORIES],
    "breach_types": [b.value for b in BreachType],
    "encryption": [e.value for e in Encryption],
    "recipients": [r.value for r in Recipients],
    "intent": [i.value for i in Intent],
    "recovery": [r.value for r in Recovery],
    "integrity": [i.value for i in IntegrityLoss],
    "likelihood_flags": list(LIKELIHOOD_FLAGS),
    "adjustment_names": sorted(severity_policy().adjustments.category),
    "identifiability": [i.value for i in Identifiability],
    "role": [r.value for r in Role],
    "sectors": [s.value for s in Sector],
    "flags": list(FLAGS),
    "adjustments": list(ADJUSTMENTS),
}
"""The choices the form offers, from the facts model's vocabularies."""


def _rows(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [*pairs, *[("", "")] * BLANK_ROWS]


def _adjustment_rows(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    blank = {"name": "", "category": "", "step": "", "reason": ""}
    return [*rows, *[dict(blank) for _ in range(BLANK_ADJUSTMENTS)]]


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
            "integrity": IntegrityLoss.RECOVERABLE.value,
            "exposure_days": "",
            "likelihood_flags": [],
            "dpc_adjustments": _adjustment_rows([]),
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
        "integrity": facts.integrity.value,
        "exposure_days": str(facts.exposure_days) if facts.exposure_days is not None else "",
        "likelihood_flags": [name for name in LIKELIHOOD_FLAGS if getattr(facts, name)],
        "dpc_adjustments": _adjustment_rows(
            [
                {
                    "name": a.name,
                    "category": a.category.value,
                    "step": f"{a.step:+d}",
                    "reason": a.reason,
                }
                for a in facts.dpc_adjustments
            ]
        ),
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
        "integrity": text(form, "integrity"),
        "exposure_days": text(form, "exposure_days"),
        "likelihood_flags": texts(form, "likelihood_flags"),
        "dpc_adjustments": _adjustment_rows(
            [
                {"name": n, "category": c, "step": st, "reason": r}
                for n, c, st, r in zip(
                    texts(form, "adjustment_name"),
                    texts(form, "adjustment_category"),
                    texts(form, "adjustment_step"),
                    texts(form, "adjustment_reason"),
                    strict=False,
                )
                if n.strip() or c.strip() or st.strip() or r.strip()
            ]
        ),
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


def _adjustments(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    chosen: list[dict[str, Any]] = []
    for row, entry in enumerate(rows, start=1):
        if not any(v.strip() for v in entry.values()):
            continue
        field = "dpc_adjustments"
        for part in ("name", "category", "step", "reason"):
            if not entry[part].strip():
                raise InvalidInput(field, f"row {row}: give the adjustment's {part}")
        step = entry["step"].strip()
        digits = step.lstrip("+-")
        if not digits.isdigit() or len(digits) > 1:
            raise InvalidInput(field, f"row {row}: the step is not a whole number from -3 to +3")
        chosen.append(
            {
                "name": entry["name"].strip(),
                "category": entry["category"].strip(),
                "step": int(step),
                "reason": entry["reason"].strip(),
            }
        )
    return chosen


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
    for name in LIKELIHOOD_FLAGS:
        data[name] = name in values["likelihood_flags"]
    data["integrity"] = values["integrity"] or IntegrityLoss.RECOVERABLE.value
    exposure = _whole("exposure_days", values["exposure_days"])
    if exposure is not None:
        data["exposure_days"] = exposure
    data["dpc_adjustments"] = _adjustments(values["dpc_adjustments"])
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
