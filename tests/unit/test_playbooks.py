"""Playbooks load from templates/playbooks and malformed ones are refused with the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import yaml

from events.values import IncidentType, LegalMoments
from services.config import Settings
from services.containment.playbooks import PlaybookCatalog, PlaybookError, due_at, load_playbook

SHIPPED = Settings().templates_dir / "playbooks"
T = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def test_the_shipped_playbooks_cover_every_required_kind_of_incident() -> None:
    """Ransomware, device, misdirection, credentials, web exfiltration, insider, supplier,
    and a generic fallback for the rest."""
    catalog = PlaybookCatalog.load(SHIPPED)
    expected = {
        IncidentType.RANSOMWARE: "ransomware",
        IncidentType.LOST_OR_STOLEN_DEVICE: "lost_or_stolen_device",
        IncidentType.MISDIRECTED_COMMUNICATION: "misdirected_communication",
        IncidentType.CREDENTIAL_COMPROMISE: "credential_compromise",
        IncidentType.WEB_APPLICATION_EXFILTRATION: "web_application_exfiltration",
        IncidentType.INSIDER_EXFILTRATION: "insider_exfiltration",
        IncidentType.SUPPLIER_BREACH: "supplier_breach",
        IncidentType.OTHER: "generic",
        IncidentType.DENIAL_OF_SERVICE: "generic",
    }
    assert {k: catalog.for_type(k).id for k in expected} == expected


GOOD: dict[str, Any] = {
    "id": "sample",
    "version": 1,
    "title": "Sample",
    "incident_types": ["phishing"],
    "steps": [
        {"id": "a", "title": "A", "due": {"from": "aware", "hours": 1}},
        {"id": "b", "title": "B", "due": {"from": "aware", "hours": 2}, "depends_on": ["a"]},
    ],
}


def write(tmp_path: Path, data: dict[str, Any], name: str = "sample.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {
                "steps": [
                    {
                        "id": "a",
                        "title": "A",
                        "due": {"from": "aware", "hours": 1},
                        "depends_on": ["zz"],
                    }
                ]
            },
            "steps[0].depends_on: unknown step 'zz'",
        ),
        (
            {
                "steps": [
                    {
                        "id": "a",
                        "title": "A",
                        "due": {"from": "aware", "hours": 1},
                        "depends_on": ["b"],
                    },
                    {
                        "id": "b",
                        "title": "B",
                        "due": {"from": "aware", "hours": 1},
                        "depends_on": ["a"],
                    },
                ]
            },
            "cycle: a -> b -> a",
        ),
        (
            {
                "steps": [
                    {"id": "a", "title": "A", "due": {"from": "aware", "hours": 1}},
                    {"id": "a", "title": "A2", "due": {"from": "aware", "hours": 1}},
                ]
            },
            "duplicate step id 'a'",
        ),
        (
            {"steps": [{"id": "a", "title": "A", "due": {"from": "lunch", "hours": 1}}]},
            "steps.0.due.from",
        ),
        (
            {"steps": [{"id": "a", "title": "A", "due": {"from": "aware"}}]},
            "exactly one of hours or days",
        ),
        ({"id": "other"}, "must match the file name"),
        ({"version": 0}, "version"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_malformed_playbooks_are_refused_naming_the_file_and_entry(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    """Unknown dependencies, cycles, duplicates, bad due times and stray keys are errors."""
    path = write(tmp_path, {**GOOD, **change})
    with pytest.raises(PlaybookError) as refused:
        load_playbook(path)
    assert str(refused.value).startswith(f"{tmp_path.name}/sample.yaml: ")
    assert message in str(refused.value)


def test_a_catalog_needs_a_generic_playbook_and_one_playbook_per_type(tmp_path: Path) -> None:
    """Without 'generic', or with a type claimed twice, the catalog refuses to load."""
    write(tmp_path, GOOD)
    with pytest.raises(PlaybookError, match="generic"):
        PlaybookCatalog.load(tmp_path)
    write(tmp_path, {**GOOD, "id": "generic", "incident_types": []}, "generic.yaml")
    write(tmp_path, {**GOOD, "id": "twice"}, "twice.yaml")
    with pytest.raises(PlaybookError, match="phishing is served by both"):
        PlaybookCatalog.load(tmp_path)


def test_due_times_count_from_the_legal_moment_and_never_precede_the_report(
    tmp_path: Path,
) -> None:
    """aware + 1h, falling back to discovery; a due before the report moves to the report."""
    playbook = load_playbook(write(tmp_path, GOOD))
    step = playbook.steps[0]
    moments = LegalMoments(discovered_at=T - timedelta(hours=5), aware_at=T - timedelta(hours=2))
    assert due_at(step, moments, reported_at=T - timedelta(hours=3), triaged_at=T) == T - timedelta(
        hours=1
    )
    late_report = T + timedelta(hours=1)
    assert due_at(step, moments, reported_at=late_report, triaged_at=T) == late_report
    unaware = LegalMoments(discovered_at=T)
    assert due_at(step, unaware, reported_at=T, triaged_at=T) == T + timedelta(hours=1)


def test_a_steps_task_id_is_the_same_every_time_and_differs_per_incident(tmp_path: Path) -> None:
    """Deterministic ids make a repeated application of a playbook a no-op."""
    playbook = load_playbook(write(tmp_path, GOOD))
    incident = uuid4()
    step = playbook.steps[0]
    assert playbook.task_id(incident, step) == playbook.task_id(incident, step)
    assert playbook.task_id(incident, step) != playbook.task_id(uuid4(), step)
