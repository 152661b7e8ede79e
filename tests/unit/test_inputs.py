"""Input parsing at the edges: times, documents and validation errors name the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from services.application.base import LedgerApplication
from services.application.errors import InvalidInput
from services.assessment.commands import FACT_TIMES
from services.cli.inputs import read_document
from services.incidents.commands import AmendFacts, ReportIncident
from services.timefmt import normalise_moments, parse_time, read_time, read_times, show_time

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_a_time_without_offset_is_read_in_the_configured_zone() -> None:
    """'2026-11-27T09:00' in Berlin is 08:00 UTC."""
    moment = parse_time("aware_at", "2026-11-27T09:00", ZoneInfo("Europe/Berlin"))
    assert moment.astimezone(UTC) == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def test_a_time_with_offset_keeps_it_and_now_is_the_clock() -> None:
    """Explicit offsets win over the zone; 'now' means the injected clock."""
    moment = parse_time("x", "2026-11-27T09:00+05:30", UTC)
    assert moment.utcoffset() == timedelta(hours=5, minutes=30)
    assert parse_time("x", "now", UTC, now=NOW) == NOW


def test_a_malformed_time_names_the_field() -> None:
    """The error says which field and what a good value looks like."""
    with pytest.raises(InvalidInput) as bad:
        parse_time("discovered_at", "last tuesday", UTC)
    assert bad.value.field == "discovered_at"
    assert "ISO 8601" in bad.value.reason


def test_show_time_renders_in_the_zone() -> None:
    """Display converts to the configured zone and names it."""
    tokyo = ZoneInfo("Asia/Tokyo")
    assert show_time(NOW, tokyo) == "2026-11-27 21:00 JST"
    assert show_time(None, tokyo) == "-"


def test_show_time_gives_seconds_when_a_moment_has_them() -> None:
    """A recorded moment within a minute shows its seconds, so a diff of two moments of
    one minute reads "05:15:07 to 05:15:42", not "05:15 to 05:15"; whole minutes stay short."""
    first, second = NOW.replace(second=7), NOW.replace(second=42, microsecond=5)
    assert show_time(first, UTC) == "2026-11-27 12:00:07 UTC"
    assert show_time(second, UTC) == "2026-11-27 12:00:42 UTC"
    assert show_time(NOW.replace(microsecond=250), UTC) == "2026-11-27 12:00:00 UTC"


def test_documents_must_be_readable_utf8_mappings(tmp_path: Path) -> None:
    """Missing, non-UTF-8, invalid and non-mapping files are each refused with the reason."""
    cases = {
        "missing.yaml": None,
        "latin1.yaml": "title: caf\xe9".encode("latin-1"),
        "broken.yaml": b"title: [unclosed",
        "list.json": b"[1, 2]",
    }
    reasons = []
    for name, content in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(InvalidInput) as bad:
            read_document(path)
        assert bad.value.field == "file"
        reasons.append(bad.value.reason)
    assert "does not exist" in reasons[0]
    assert "not UTF-8" in reasons[1]
    assert "line 1" in reasons[2]
    assert "mapping" in reasons[3]


def test_yaml_timestamps_and_strings_both_become_aware_times() -> None:
    """Naive YAML timestamps take the zone; strings are parsed; None entries are dropped."""
    data = normalise_moments(
        {
            "discovered_at": datetime(2026, 11, 27, 9, 0),
            "aware_at": "2026-11-27T10:00Z",
            "occurred_at": None,
        },
        timezone(timedelta(hours=1)),
        NOW,
    )
    assert data["discovered_at"].astimezone(UTC).hour == 8
    assert data["aware_at"].astimezone(UTC).hour == 10
    assert "occurred_at" not in data


def test_validation_errors_name_the_first_bad_field_in_plain_words() -> None:
    """Unknown, missing and empty fields each get a readable reason."""
    base = {"title": "t", "reporter": "r", "discovered_at": NOW}
    cases = [
        ({**base, "colour": "red"}, ("input", "holds a field that is not known")),
        ({"title": "t", "reporter": "r"}, ("discovered_at", "is required")),
        ({**base, "title": "  "}, ("title", "must not be empty")),
        ({**base, "source": "pigeon"}, ("source", None)),
    ]
    for data, (field, reason) in cases:
        with pytest.raises(InvalidInput) as bad:
            LedgerApplication.validated(ReportIncident, data)
        assert bad.value.field == field
        if reason:
            assert bad.value.reason == reason


def test_amend_lists_only_the_facts_given_and_keeps_explicit_nulls() -> None:
    """An explicit null clears a moment; an absent field is left alone."""
    cmd = AmendFacts.model_validate({"reason": "r", "occurred_at": None, "title": "New"})
    assert {k.value: v for k, v in cmd.changes().items()} == {"occurred_at": None, "title": "New"}


BERLIN = ZoneInfo("Europe/Berlin")
NINE_IN_BERLIN = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def _read(field: str, value: object) -> datetime:
    """Read ``value`` as the edges read the time field ``field`` (in Berlin, NOW as 'now')."""
    if field == "assessed_notifiable_at":
        moment = read_times({field: value}, FACT_TIMES, BERLIN, now=NOW)[field]
    elif field.startswith("moments."):
        name = field.removeprefix("moments.")
        moment = normalise_moments({name: value}, BERLIN, NOW, prefix="moments.")[name]
    else:
        moment = read_time(field, value, BERLIN, now=NOW)
    assert isinstance(moment, datetime)
    return moment


TIME_FIELDS = (
    "assessed_notifiable_at",
    "moments.discovered_at",
    "moments.aware_at",
    "notified_at",
    "due_at",
)


@pytest.mark.parametrize("field", TIME_FIELDS)
def test_every_time_field_reads_offsets_zone_less_times_and_now_alike(field: str) -> None:
    """Each time field takes an offset as given, reads a time without one (text or a YAML
    timestamp) in the configured zone, and 'now' as the clock."""
    assert _read(field, "2026-11-27T09:00") == NINE_IN_BERLIN
    assert _read(field, datetime(2026, 11, 27, 9, 0)) == NINE_IN_BERLIN
    assert _read(field, "2026-11-27T08:00Z") == NINE_IN_BERLIN
    assert _read(field, "now") == NOW


@pytest.mark.parametrize("field", TIME_FIELDS)
@pytest.mark.parametrize("value", ["last tuesday", 1764230400, True, ["2026-11-27"], "1969-12-31"])
def test_every_time_field_refuses_a_non_time_naming_the_field_not_the_value(
    field: str, value: object
) -> None:
    """Text that is no ISO 8601 time, numbers, yes/no, lists and times before 1970 are refused
    with the field named and the value not repeated."""
    with pytest.raises(InvalidInput) as bad:
        _read(field, value)
    assert bad.value.field == field
    assert str(value) not in bad.value.reason
