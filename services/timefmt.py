"""Reading and showing moments: strict ISO 8601 in, readable local time out."""

from __future__ import annotations

from datetime import datetime, tzinfo

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


def show_time(moment: datetime | None, zone: tzinfo) -> str:
    """Render a moment in ``zone`` to the minute, with the zone's abbreviation."""
    if moment is None:
        return "-"
    local = moment.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M %Z").strip()
