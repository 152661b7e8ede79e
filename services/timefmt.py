"""Reading and showing moments: strict ISO 8601 in, readable local time out.

One rule for every time field at every edge (command line, facts files, HTTP API, web forms):
ISO 8601; a time without a UTC offset is read in the configured zone; ``now`` is the clock.
:func:`parse_time` reads typed text, :func:`read_time` any value a document can hold (text or
a YAML timestamp), :func:`read_times` the time fields of a mapping, and
:func:`normalise_moments` the legal moments of a command.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, tzinfo
from typing import Any

from events.values import MOMENT_FIELDS
from services.application.errors import InvalidInput
from services.application.fields import Moment, checked


def parse_time(field: str, text: str, zone: tzinfo, *, now: datetime | None = None) -> datetime:
    """Parse an ISO 8601 moment; one without an offset is read in ``zone``.

    ``now`` (when given) is accepted as the literal ``now``. Errors name ``field``.
    """
    value = text.strip()
    if now is not None and value.lower() == "now":
        return now
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            field, "is not a time; use ISO 8601, e.g. 2026-11-27T14:05+01:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    checked(field, Moment, moment)
    return moment


def read_time(field: str, value: Any, zone: tzinfo, *, now: datetime | None = None) -> datetime:
    """Read a time field's value as :func:`parse_time` reads text: a string, or a timestamp
    a YAML document already parsed (without an offset it is read in ``zone``). Anything else
    is refused naming ``field`` (never quoting the value)."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=zone)
        checked(field, Moment, moment)
        return moment
    if isinstance(value, date):
        return parse_time(field, value.isoformat(), zone, now=now)
    if isinstance(value, str):
        return parse_time(field, value, zone, now=now)
    raise InvalidInput(field, "is not a time; use ISO 8601, e.g. 2026-11-27T14:05+01:00")


def read_times(
    data: Mapping[str, Any],
    names: Iterable[str],
    zone: tzinfo,
    *,
    now: datetime | None = None,
    prefix: str = "",
) -> dict[str, Any]:
    """``data`` with each of the time fields ``names`` it holds read by :func:`read_time`;
    a null stays null (omitted). Errors name the field under ``prefix``."""
    out = dict(data)
    for name in names:
        value = out.get(name)
        if value is not None:
            out[name] = read_time(f"{prefix}{name}", value, zone, now=now)
    return out


def show_time(moment: datetime | None, zone: tzinfo) -> str:
    """Render a moment in ``zone`` with the zone's abbreviation: to the minute when it falls
    on a whole minute (deadlines, reported moments), else to the second, so moments recorded
    within one minute read apart."""
    if moment is None:
        return "-"
    local = moment.astimezone(zone)
    shape = (
        "%Y-%m-%d %H:%M %Z"
        if local.second == 0 and local.microsecond == 0
        else "%Y-%m-%d %H:%M:%S %Z"
    )
    return local.strftime(shape).strip()


def normalise_moments(
    data: dict[str, Any],
    zone: tzinfo,
    now: datetime,
    *,
    allow_clear: bool = False,
    prefix: str = "",
) -> dict[str, Any]:
    """Read the moment fields of ``data`` (strings, or YAML timestamps) into aware times by
    the one time rule (:func:`services.timefmt.read_time`): a moment without an offset is
    read in ``zone``; ``now`` is accepted as a value. A null moment is dropped (omitted),
    or kept as a clearing null with ``allow_clear`` (so is an empty string). Errors name the
    field under ``prefix``."""
    out = dict(data)
    for name in MOMENT_FIELDS:
        if name not in out:
            continue
        value = out[name]
        if value is None or (allow_clear and isinstance(value, str) and value == ""):
            if allow_clear:
                out[name] = None
            else:
                del out[name]
    return read_times(out, MOMENT_FIELDS, zone, now=now, prefix=prefix)
