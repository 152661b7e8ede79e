"""The board projection turns incident events into rows (checked against a dict-backed fake)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from events.base import Cause
from events.incident import AmendableFact, Incident
from events.values import (
    BreachDetermination,
    IncidentType,
    LegalMoments,
    Severity,
    SourceChannel,
)
from services.incidents.board import IncidentBoardProjection
from services.projections.prefixes import dashed_prefix
from services.projections.schema import Row
from tests.support.assessment import facts, risk

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


class DictTransaction:
    """A fake view transaction holding rows in dicts keyed by table and key values."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[tuple[Any, ...], Row]] = {}

    def _key(self, table: str, values: Mapping[str, Any]) -> tuple[Any, ...]:
        [declared] = [t for t in IncidentBoardProjection.tables if t.name == table]
        return tuple(values[k] for k in declared.key)

    def get(self, table: str, key: Mapping[str, Any]) -> Row | None:
        return self.tables.get(table, {}).get(self._key(table, key))

    def upsert(self, table: str, row: Mapping[str, Any]) -> None:
        self.tables.setdefault(table, {})[self._key(table, row)] = dict(row)

    def update(self, table: str, key: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        row = self.get(table, key)
        if row is not None:
            row.update(values)

    def delete(self, table: str, key: Mapping[str, Any]) -> None:
        self.tables.get(table, {}).pop(self._key(table, key), None)

    def select(self, table: str, where: Mapping[str, Any]) -> list[Row]:
        rows = self.tables.get(table, {}).values()
        return [r for r in rows if all(r.get(k) == v for k, v in where.items())]


def cause(minutes: int) -> Cause:
    return Cause(actor="a", correlation_id="c", at=NOW + timedelta(minutes=minutes))


def test_board_row_follows_report_correction_triage_and_closure() -> None:
    """Each event moves the row's headline facts and its last-change time and version."""
    incident = Incident.report(
        cause(0),
        incident_id=uuid4(),
        title="Misdirected payslips",
        description="",
        reporter="hr",
        source=SourceChannel.EMPLOYEE,
        incident_type=IncidentType.MISDIRECTED_COMMUNICATION,
        moments=LegalMoments(discovered_at=NOW - timedelta(hours=2)),
    )
    incident.amend_facts(
        cause(1), reason="r", changes={AmendableFact.AWARE_AT: NOW - timedelta(hours=1)}
    )
    incident.triage(
        cause(2),
        severity=Severity.MEDIUM,
        personal_data_breach=BreachDetermination.YES,
        incident_type=IncidentType.MISDIRECTED_COMMUNICATION,
    )
    incident.close(cause(3), resolution="Recipients confirmed deletion")
    tx = DictTransaction()
    projection = IncidentBoardProjection()
    for position, event in enumerate(incident.collect_events(), start=1):
        projection.process(event, position, tx)
    row = tx.get("board", {"incident_id": str(incident.id)})
    assert row is not None
    assert row["severity"] == "medium"
    assert row["personal_data_breach"] == "yes"
    assert row["status"] == "closed"
    assert row["aware_at"] == "2026-11-27T11:00:00.000000Z"
    assert row["last_change_at"] == "2026-11-27T12:03:00.000000Z"
    assert row["version"] == 4


def test_id_prefixes_map_to_the_dashed_form() -> None:
    """Prefixes typed with or without dashes find the same stored ids."""
    assert dashed_prefix("8132EDA8B4") == "8132eda8-b4"
    assert dashed_prefix("8132eda8-b481-49") == "8132eda8-b481-49"


def test_board_severity_follows_triage_then_assessment() -> None:
    """The row shows the triage estimate with source triage, then the assessed band with
    the estimate kept as the initial severity; a later triage changes only the estimate
    and a re-assessment moves the severity."""
    incident = Incident.report(
        cause(0),
        incident_id=uuid4(),
        title="Stolen laptop",
        description="",
        reporter="hr",
        source=SourceChannel.EMPLOYEE,
        incident_type=IncidentType.LOST_OR_STOLEN_DEVICE,
        moments=LegalMoments(discovered_at=NOW - timedelta(hours=2)),
    )
    tx = DictTransaction()
    projection = IncidentBoardProjection()
    position = 0

    def row_after(change: Any) -> tuple[Any, Any, Any]:
        nonlocal position
        change()
        for event in incident.collect_events():
            position += 1
            projection.process(event, position, tx)
        row = tx.get("board", {"incident_id": str(incident.id)})
        assert row is not None
        return row["severity"], row["severity_source"], row["initial_severity"]

    def triage(minutes: int, estimate: Severity) -> Any:
        return lambda: incident.triage(
            cause(minutes),
            severity=estimate,
            personal_data_breach=BreachDetermination.YES,
            incident_type=IncidentType.LOST_OR_STOLEN_DEVICE,
        )

    def assess(minutes: int, band: str) -> Any:
        return lambda: incident.assess(
            cause(minutes),
            facts=facts(),
            severity=risk("high_risk").model_copy(update={"band": band}),
        )

    assert row_after(lambda: None) == (None, None, None)
    assert row_after(triage(1, Severity.LOW)) == ("low", "triage", "low")
    assert row_after(assess(2, "high")) == ("high", "assessment", "low")
    assert row_after(triage(3, Severity.MEDIUM)) == ("high", "assessment", "medium")
    assert row_after(assess(4, "very_high")) == ("very_high", "assessment", "medium")
