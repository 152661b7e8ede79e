"""The ENISA severity engine: each term's value and source, the band, the recommendation."""

from __future__ import annotations

import pytest

from services.assessment.rules import severity_policy
from services.assessment.severity import assess_severity
from tests.support.assessment import facts


def terms(result: object) -> dict[str, float]:
    return {f.name: f.value for f in result.factors}  # type: ignore[attr-defined]


def test_resume_leak_scores_high_and_shows_its_working() -> None:
    """CVs (simple, +1 volume) fully identifiable, unknown recipients, malicious: SE 3."""
    result = assess_severity(
        facts(data_categories=["resume_cv", "contact"], adjustments={"volume": True}),
        severity_policy(),
    )
    assert terms(result) == {
        "DPC base": 1,
        "DPC volume": 1,
        "DPC": 2,
        "EI": 1.0,
        "CB confidentiality": 0.5,
        "CB malicious": 0.5,
        "CB": 1.0,
    }
    assert (result.score, result.band, result.risk) == (3.0, "high", "high_risk")
    assert result.recommend_people
    assert "resume_cv" in result.factors[0].source
    assert result.policy_version == severity_policy().version


@pytest.mark.parametrize(
    ("overrides", "score", "band"),
    [
        (
            {"data_categories": ["contact"], "recipients": "known_trusted", "intent": "accidental"},
            1.0,
            "low",
        ),
        (
            {"data_categories": ["location"], "recipients": "known", "intent": "accidental"},
            2.25,
            "medium",
        ),
        ({"data_categories": ["health"], "recipients": "unknown_or_public"}, 5.0, "very_high"),
        (
            {
                "data_categories": ["health"],
                "identifiability": "negligible",
                "recipients": "known",
                "intent": "accidental",
            },
            1.25,
            "low",
        ),
    ],
)
def test_bands_follow_the_published_thresholds(overrides: dict, score: float, band: str) -> None:
    """SE < 2 low, < 3 medium, < 4 high, otherwise very high."""
    result = assess_severity(facts(**overrides), severity_policy())
    assert (result.score, result.band) == (score, band)


def test_credentials_score_by_the_data_they_open() -> None:
    """Weakly hashed passwords opening health records score as health (4)."""
    result = assess_severity(
        facts(data_categories=["credentials_weakly_hashed"], credentials_open=["health"]),
        severity_policy(),
    )
    assert terms(result)["DPC base"] == 4
    assert "open health" in result.factors[0].source


def test_children_raise_the_context_and_adjustments_stay_within_range() -> None:
    """Children add a step; sensitive data cannot go above 4."""
    kids = assess_severity(facts(data_categories=["contact"], children=True), severity_policy())
    assert terms(kids)["DPC"] == 2
    capped = assess_severity(
        facts(data_categories=["health"], children=True, adjustments={"volume": True}),
        severity_policy(),
    )
    assert terms(capped)["DPC"] == 4


def test_a_safe_key_makes_a_confidentiality_breach_unlikely_to_harm() -> None:
    """Encrypted data whose key stayed safe: risk unlikely, record internally, with a note."""
    result = assess_severity(
        facts(data_categories=["health"], encryption="encrypted_key_safe"), severity_policy()
    )
    assert result.band == "very_high"
    assert result.risk == "unlikely"
    assert not result.recommend_people
    assert not result.recommend_authority
    assert any("unintelligible" in n for n in result.notes)


def test_very_many_people_raise_the_band() -> None:
    """From 100,000 people the band goes up one step, and the working says so."""
    result = assess_severity(
        facts(
            data_categories=["contact"],
            recipients="known",
            intent="accidental",
            people={"count": 150_000},
            people_by_jurisdiction={"DE": 150_000},
        ),
        severity_policy(),
    )
    assert result.score == 1.25
    assert result.band == "medium"
    assert result.notes == ("very many people affected: band raised one step",)
