"""The assessment headline: what must be done, from the obligations due, never from the band."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from events.assessment import SeverityAssessment, SupervisoryAuthorities
from services.assessment.authorities import one_stop_shop
from services.assessment.headline import headline
from tests.support.assessment import evaluate, facts, one, risk

T = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)
BY = "by 2026-11-30 08:30 UTC"
DE = {"establishments": ["DE"]}

CASES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "a controller with authority and people due",
        {**DE, "people_by_jurisdiction": {"DE": 60, "FR": 40}},
        "high_risk",
        f"Notify the supervisory authority (lead: DE, concerned: FR, {BY}) and the people affected",
    ),
    (
        "a controller with only the authority due",
        DE,
        "risk",
        f"Notify the supervisory authority (lead: DE, {BY})",
    ),
    (
        "a processor names its customer and nothing else",
        {**DE, "role": "processor", "customer": "Acme GmbH"},
        "high_risk",
        "Tell the controller, Acme GmbH, without undue delay",
    ),
    (
        "a processor with a dated duty to its controller",
        {
            "role": "processor",
            "customer": "Acme Inc",
            "people_by_jurisdiction": {"US-FL": 100},
            "data_categories": ["national_id"],
        },
        "high_risk",
        "Tell the controller, Acme Inc, without undue delay, "
        "at the latest by 2026-12-07 08:30 UTC (provisional)",
    ),
    (
        "nothing due because the risk is unlikely",
        DE,
        "unlikely",
        "Document internally only (GDPR Art 33(5) register) — risk unlikely: severity low (SE 0)",
    ),
    (
        "nothing due because an exemption applied",
        {
            "people_by_jurisdiction": {"US-CA": 100},
            "data_categories": ["national_id"],
            "encryption": "encrypted_key_safe",
        },
        "high_risk",
        "Document internally only — exempt: data encrypted and the key was not acquired",
    ),
    (
        "the people are spared by an exemption while the authority is due",
        {**DE, "encryption": "encrypted_key_safe"},
        "high_risk",
        f"Notify the supervisory authority (lead: DE, {BY}); not the people affected "
        "(exempt: data unintelligible: encrypted with an uncompromised key (34(3)(a)))",
    ),
    (
        "no EU/EEA establishment: no one-stop shop, each authority",
        {"establishments": ["US"], "people_by_jurisdiction": {"DE": 60, "FR": 40}},
        "risk",
        "Notify each supervisory authority where people are affected (DE, FR; no EU/EEA "
        f"establishment, so no one-stop shop; {BY})",
    ),
    (
        "people told only where the law asks, after the attorney general's clock",
        {
            **DE,
            "people_by_jurisdiction": {"DE": 100, "US-CA": 600},
            "data_categories": ["national_id"],
        },
        "risk",
        f"Notify the supervisory authority (lead: DE, {BY}), the attorney general "
        "(US-CA, after notifying data subjects) and the people affected in US-CA "
        "(by 2026-12-27 08:30 UTC)",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "level", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_headline_follows_the_duties_due(
    overrides: dict[str, Any], level: str, expected: str
) -> None:
    """Each situation's headline names exactly the parties the due obligations name."""
    f = facts(**overrides)
    evaluation = evaluate(f, level=level, discovered=T, aware=T)
    assert headline(f, risk(level), evaluation, UTC) == expected


def test_a_processor_headline_never_tells_the_authority_or_the_people() -> None:
    """Whatever the band recommends, a processor whose only duty is to its controller is not
    told to notify anyone else."""
    f = facts(role="processor", customer="Acme GmbH", **DE)
    band_says_all = SeverityAssessment.model_validate(
        {
            **risk("high_risk").model_dump(),
            "band": "very_high",
            "recommendation": "notify the supervisory authority and the people affected",
        }
    )
    text = headline(f, band_says_all, evaluate(f, discovered=T, aware=T), UTC)
    assert "authority" not in text
    assert "people" not in text
    assert "Acme GmbH" in text


def test_nothing_due_gives_the_severity_notes_as_the_reason() -> None:
    """An unlikely risk explained by a severity note is documented with that note."""
    f = facts(**DE)
    noted = SeverityAssessment.model_validate(
        {**risk("unlikely").model_dump(), "notes": ("data unintelligible",)}
    )
    text = headline(f, noted, evaluate(f, level="unlikely", discovered=T, aware=T), UTC)
    assert text == (
        "Document internally only (GDPR Art 33(5) register) — risk unlikely: data unintelligible"
    )


def test_a_provisional_deadline_is_marked_in_the_headline() -> None:
    """A deadline counted from a fallback moment says provisional."""
    f = facts(**DE)
    text = headline(f, risk("risk"), evaluate(f, level="risk", discovered=T), UTC)
    assert text == f"Notify the supervisory authority (lead: DE, {BY} (provisional))"


@pytest.mark.parametrize(
    ("establishments", "people", "expected"),
    [
        (["DE"], {"DE": 10, "FR": 5}, SupervisoryAuthorities(lead="DE", concerned=("FR",))),
        (["US", "FR", "DE"], {"DE": 10}, SupervisoryAuthorities(lead="FR", concerned=("DE",))),
        (
            ["NO"],
            {"ES-CT": 3, "GB": 4, "IS": 0},
            SupervisoryAuthorities(lead="NO", concerned=("ES",)),
        ),
        (["US"], {"FR": 5, "DE": 10, "US-CA": 9}, SupervisoryAuthorities(concerned=("DE", "FR"))),
        ([], {"IT": 1}, SupervisoryAuthorities(concerned=("IT",))),
    ],
)
def test_lead_authority_is_the_first_eea_establishment(
    establishments: list[str], people: dict[str, int], expected: SupervisoryAuthorities
) -> None:
    """The first EU/EEA establishment leads; other EU/EEA states with people affected or an
    establishment are concerned; without one, each affected state's authority."""
    assert one_stop_shop(["EEA"], establishments, people) == expected


def test_the_gdpr_authority_obligation_names_lead_and_concerned_not_every_state() -> None:
    """Established in DE with people in DE and FR, the authority duty is led by DE with FR
    concerned, while its jurisdictions still list where the people live."""
    f = facts(**DE, people_by_jurisdiction={"DE": 60, "FR": 40})
    sa = one(evaluate(f, discovered=T, aware=T), "eu_gdpr/supervisory_authority")
    assert sa.authorities == SupervisoryAuthorities(lead="DE", concerned=("FR",))
    assert sa.authorities.text == "lead: DE, concerned: FR"
    assert sa.jurisdictions == ("DE", "FR")
    assert one(evaluate(f, discovered=T, aware=T), "eu_gdpr/data_subjects").authorities is None
