"""The risk method itself: each ENISA term and adjustment, each likelihood factor, the matrix."""

from __future__ import annotations

from typing import Any

import pytest

from events.assessment import SeverityAssessment
from services.assessment.risk import assess_risk
from services.assessment.rules import RulesError, parse_severity_policy, severity_policy
from services.assessment.severity import assess_severity
from tests.support.assessment import facts

POLICY = severity_policy()


def terms(result: Any) -> dict[str, float]:
    """Each severity term by name."""
    return {f.name: f.value for f in result.factors}


def judge(**overrides: Any) -> SeverityAssessment:
    """The whole judgement for the base facts with these changes."""
    return assess_risk(facts(**overrides), POLICY)


def effects(result: SeverityAssessment) -> list[tuple[str, str, str]]:
    """The likelihood working as (factor, property, effect)."""
    assert result.likelihood is not None
    return [(f.name, f.property, f.effect) for f in result.likelihood.factors]


def test_resume_leak_shows_every_term_of_its_working() -> None:
    """CVs with the volume adjustment, fully identifiable, unknown recipients, malicious: SE 3,
    each category scored on its own, every term named."""
    result = assess_severity(
        facts(data_categories=["resume_cv", "contact"], adjustments={"volume": True}), POLICY
    )
    assert terms(result) == {
        "DPC resume_cv": 1,
        "DPC contact": 1,
        "DPC base": 1,
        "DPC volume": 1,
        "DPC": 2,
        "EI": 1.0,
        "CB confidentiality": 0.5,
        "CB malicious": 0.5,
        "CB": 1.0,
    }
    assert (result.score, result.band) == (3.0, "high")
    assert "ENISA 2013" in next(f.source for f in result.factors if f.name == "DPC base")


@pytest.mark.parametrize(
    ("category", "score"),
    [
        ("contact", 1),
        ("resume_cv", 1),
        ("location", 2),
        ("communications", 2),
        ("financial", 3),
        ("payment_card", 3),
        ("health", 4),
        ("trade_union", 4),
        ("credentials_plaintext", 3),
        ("credentials_strongly_hashed", 1),
    ],
)
def test_each_category_has_its_basic_score(category: str, score: int) -> None:
    """Simple 1, behavioural 2, financial 3, sensitive 4; credentials by what they risk."""
    result = assess_severity(facts(data_categories=[category]), POLICY)
    assert terms(result)["DPC base"] == score


@pytest.mark.parametrize(
    ("category", "name", "step", "dpc"),
    [
        ("health", "sensitive_no_insight", -1, 3),
        ("health", "sensitive_no_insight", -2, 2),
        ("health", "sensitive_no_insight", -3, 1),
        ("health", "sensitive_public", -2, 2),
        ("financial", "financial_no_situation", -2, 1),
        ("financial", "financial_no_situation", -1, 2),
        ("location", "behavioural_no_profile", -1, 1),
        ("location", "behavioural_profile", 1, 3),
        ("communications", "behavioural_profile", 2, 4),
        ("contact", "simple_profiling", 1, 2),
        ("contact", "simple_sensitive_traits", 2, 3),
        ("identity", "simple_vulnerable", 3, 4),
    ],
)
def test_each_named_category_adjustment_moves_its_category(
    category: str, name: str, step: int, dpc: int
) -> None:
    """A named adjustment chosen with a reason moves its own category by its steps, and the
    working quotes the reason."""
    chosen = {"name": name, "category": category, "step": step, "reason": "assessor's reason"}
    result = assess_severity(facts(data_categories=[category], dpc_adjustments=[chosen]), POLICY)
    assert terms(result)[f"DPC {category}"] == dpc
    assert terms(result)["DPC"] == dpc
    source = next(f.source for f in result.factors if f.name == f"DPC {category}")
    assert f"{name} {step:+d}: assessor's reason" in source


def test_a_category_adjustment_is_scored_before_the_highest_is_taken() -> None:
    """Health lowered to 1 ("general blood test") under contact raised to 3: the highest
    adjusted category (3) counts, not the highest basic one."""
    result = assess_severity(
        facts(
            data_categories=["health", "contact"],
            dpc_adjustments=[
                {"name": "sensitive_no_insight", "category": "health", "step": -3, "reason": "r"},
                {
                    "name": "simple_sensitive_traits",
                    "category": "contact",
                    "step": 2,
                    "reason": "r",
                },
            ],
        ),
        POLICY,
    )
    assert (terms(result)["DPC health"], terms(result)["DPC contact"]) == (1, 3)
    assert terms(result)["DPC base"] == 3


@pytest.mark.parametrize(
    ("overrides", "name", "step"),
    [
        ({"adjustments": {"volume": True}}, "volume", 1),
        ({"adjustments": {"sensitive_controller": True}}, "sensitive_controller", 1),
        ({"sectors": ["medical_organisation"]}, "sensitive_controller", 1),
        ({"children": True}, "vulnerable_people", 1),
        ({"vulnerable_people": True}, "vulnerable_people", 1),
        ({"data_categories": ["location", "children"]}, "vulnerable_people", 1),
        ({"adjustments": {"inaccurate": True}}, "inaccurate", -1),
        ({"adjustments": {"public": True}}, "public", -1),
    ],
)
def test_each_general_adjustment_moves_the_context(
    overrides: dict[str, Any], name: str, step: int
) -> None:
    """Each general adjustment is one whole step, triggered by its fact (a medical
    organisation is a sensitive controller), and named in the working."""
    base = {"data_categories": ["location"]}
    result = assess_severity(facts(**{**base, **overrides}), POLICY)
    assert terms(result)[f"DPC {name}"] == step
    assert terms(result)["DPC"] == 2 + step


def test_adjustments_stay_within_one_to_four() -> None:
    """Sensitive data raised stay at 4; simple data lowered stay at 1."""
    high = assess_severity(
        facts(data_categories=["health"], children=True, adjustments={"volume": True}), POLICY
    )
    low = assess_severity(
        facts(data_categories=["contact"], adjustments={"public": True, "inaccurate": True}),
        POLICY,
    )
    assert (terms(high)["DPC"], terms(low)["DPC"]) == (4, 1)


def test_credentials_score_by_the_data_they_open() -> None:
    """Weakly hashed passwords opening health records score as health (4)."""
    result = assess_severity(
        facts(data_categories=["credentials_weakly_hashed"], credentials_open=["health"]), POLICY
    )
    assert terms(result)["DPC base"] == 4
    assert "open health" in result.factors[0].source


@pytest.mark.parametrize(
    ("identifiability", "ei"),
    [("negligible", 0.25), ("limited", 0.5), ("significant", 0.75), ("maximum", 1.0)],
)
def test_ease_of_identification_multiplies_the_context(identifiability: str, ei: float) -> None:
    """EI takes ENISA's four values and multiplies DPC."""
    result = assess_severity(
        facts(data_categories=["health"], identifiability=identifiability), POLICY
    )
    assert terms(result)["EI"] == ei
    assert result.score == 4 * ei + 1.0


@pytest.mark.parametrize(
    ("overrides", "term", "value"),
    [
        ({"recipients": "none_known"}, "CB confidentiality", 0),
        ({"recipients": "known_trusted"}, "CB confidentiality", 0),
        ({"recipients": "known"}, "CB confidentiality", 0.25),
        ({"recipients": "unknown_or_public"}, "CB confidentiality", 0.5),
        ({"breach_types": ["integrity"], "integrity": "recoverable"}, "CB integrity", 0),
        ({"breach_types": ["integrity"], "integrity": "unrecoverable"}, "CB integrity", 0.25),
        ({"breach_types": ["integrity"], "integrity": "used_illegally"}, "CB integrity", 0.5),
        (
            {"breach_types": ["availability"], "recovery": "without_difficulty"},
            "CB availability",
            0,
        ),
        ({"breach_types": ["availability"], "recovery": "temporary_loss"}, "CB availability", 0.25),
        ({"breach_types": ["availability"], "recovery": "unrecoverable"}, "CB availability", 0.5),
        ({"intent": "malicious"}, "CB malicious", 0.5),
    ],
)
def test_each_circumstance_term(overrides: dict[str, Any], term: str, value: float) -> None:
    """One CB term per property lost, from that property's own fact, plus malicious intent."""
    result = assess_severity(facts(**overrides), POLICY)
    assert terms(result)[term] == value


def test_every_property_lost_is_scored_and_added() -> None:
    """Confidentiality, integrity and availability lost together add their terms."""
    result = assess_severity(
        facts(
            breach_types=["confidentiality", "integrity", "availability"],
            recipients="known",
            integrity="unrecoverable",
            recovery="unrecoverable",
            intent="accidental",
        ),
        POLICY,
    )
    assert terms(result)["CB"] == 0.25 + 0.25 + 0.5


def test_unintelligible_data_neutralise_confidentiality_whatever_else_was_lost() -> None:
    """A stolen encrypted laptop (confidentiality and availability lost, key safe): the
    confidentiality term is 0 with the reason; availability and intent still count."""
    result = assess_severity(
        facts(
            breach_types=["confidentiality", "availability"],
            encryption="encrypted_key_safe",
            recovery="temporary_loss",
        ),
        POLICY,
    )
    assert terms(result)["CB confidentiality"] == 0
    assert terms(result)["CB availability"] == 0.25
    assert terms(result)["CB"] == 0.75
    assert result.unintelligible
    assert "neutralised" in next(f.source for f in result.factors if f.name == "CB confidentiality")


def test_a_compromised_key_does_not_neutralise() -> None:
    """Encrypted with a key that was taken too: scored as clear data."""
    result = assess_severity(facts(encryption="encrypted_key_compromised"), POLICY)
    assert terms(result)["CB confidentiality"] == 0.5
    assert not result.unintelligible


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
        (
            {"data_categories": ["financial"], "recipients": "none_known", "intent": "accidental"},
            3.0,
            "high",
        ),
        ({"data_categories": ["health"], "recipients": "unknown_or_public"}, 5.0, "very_high"),
    ],
)
def test_bands_follow_the_published_thresholds(
    overrides: dict[str, Any], score: float, band: str
) -> None:
    """SE < 2 low, < 3 medium, < 4 high, otherwise very high."""
    result = assess_severity(facts(**overrides), POLICY)
    assert (result.score, result.band) == (score, band)


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
        POLICY,
    )
    assert (result.score, result.band) == (1.25, "medium")
    assert result.notes == ("very many people affected: severity raised one band",)


# Likelihood


@pytest.mark.parametrize(
    ("overrides", "prop", "level"),
    [
        ({"recipients": "none_known", "intent": "accidental"}, "confidentiality", "limited"),
        ({"recipients": "known_trusted", "intent": "accidental"}, "confidentiality", "limited"),
        ({"recipients": "known", "intent": "accidental"}, "confidentiality", "significant"),
        (
            {"recipients": "unknown_or_public", "intent": "accidental"},
            "confidentiality",
            "significant",
        ),
        ({"breach_types": ["integrity"], "integrity": "recoverable"}, "integrity", "limited"),
        ({"breach_types": ["integrity"], "integrity": "unrecoverable"}, "integrity", "significant"),
        ({"breach_types": ["integrity"], "integrity": "used_illegally"}, "integrity", "maximum"),
        (
            {"breach_types": ["availability"], "recovery": "without_difficulty"},
            "availability",
            "negligible",
        ),
        (
            {"breach_types": ["availability"], "recovery": "temporary_loss"},
            "availability",
            "limited",
        ),
        (
            {"breach_types": ["availability"], "recovery": "unrecoverable"},
            "availability",
            "significant",
        ),
    ],
)
def test_each_property_starts_at_its_baseline(
    overrides: dict[str, Any], prop: str, level: str
) -> None:
    """Each lost property's likelihood starts from its own fact, with the reason."""
    result = judge(**overrides)
    assert result.likelihood is not None
    assert result.likelihood.properties[prop] == level
    assert effects(result)[0] == ("baseline", prop, f"starts at {level}")


@pytest.mark.parametrize(
    ("overrides", "factor", "prop", "effect", "level"),
    [
        (
            {"recipients": "known", "deletion_confirmed": True, "intent": "accidental"},
            "deletion_confirmed",
            "confidentiality",
            "-1 step",
            "limited",
        ),
        (
            {"recipients": "known_trusted", "deletion_confirmed": True, "intent": "accidental"},
            "deletion_confirmed",
            "confidentiality",
            "-1 step",
            "negligible",
        ),
        (
            {"recipients": "unknown_or_public", "deletion_confirmed": True, "intent": "accidental"},
            "deletion_confirmed",
            "confidentiality",
            "no effect",
            "significant",
        ),
        (
            {"recovered_before_access": True},
            "recovered_before_access",
            "confidentiality",
            "set to negligible",
            "negligible",
        ),
        (
            {"encryption": "encrypted_key_safe"},
            "unintelligible",
            "confidentiality",
            "set to negligible",
            "negligible",
        ),
        (
            {"data_categories": ["credentials_strongly_hashed"]},
            "unintelligible",
            "confidentiality",
            "set to negligible",
            "negligible",
        ),
        ({"recipients": "known"}, "malicious", "confidentiality", "+1 step", "maximum"),
        (
            {"recipients": "known", "intent": "accidental", "exposure_days": 45},
            "long_exposure",
            "confidentiality",
            "+1 step",
            "maximum",
        ),
        (
            {
                "breach_types": ["availability"],
                "recovery": "temporary_loss",
                "time_to_restore_hours": 72,
            },
            "long_restore",
            "availability",
            "+1 step",
            "significant",
        ),
        (
            {"recipients": "known_trusted", "intent": "accidental", "misuse_evidence": True},
            "misuse_evidence",
            "confidentiality",
            "set to maximum",
            "maximum",
        ),
        (
            {
                "breach_types": ["availability"],
                "recovery": "without_difficulty",
                "misuse_evidence": True,
            },
            "misuse_evidence",
            "availability",
            "set to maximum",
            "maximum",
        ),
    ],
)
def test_each_likelihood_factor(
    overrides: dict[str, Any], factor: str, prop: str, effect: str, level: str
) -> None:
    """Each named factor moves its property by its step or sets it, and says so; deletion
    cannot be confirmed by unknown recipients."""
    result = judge(**overrides)
    assert result.likelihood is not None
    matching = [f for f in result.likelihood.factors if f.name == factor]
    assert [(f.property, f.effect) for f in matching] == [(prop, effect)]
    assert result.likelihood.properties[prop] == level


def test_a_factor_at_the_end_of_the_scale_keeps_the_level_and_says_so() -> None:
    """Malicious intent on data already at the top of the scale: 'keeps maximum'."""
    result = judge(recipients="unknown_or_public", exposure_days=90)
    assert ("malicious", "confidentiality", "+1 step") in effects(result)
    assert ("long_exposure", "confidentiality", "keeps maximum (+1 step)") in effects(result)


def test_exposure_is_counted_from_occurrence_to_discovery_when_not_given() -> None:
    """Occurred 40 days before discovery: long exposure applies without an exposure fact."""
    from datetime import UTC, datetime, timedelta

    found = datetime(2026, 3, 1, tzinfo=UTC)
    result = assess_risk(
        facts(recipients="known", intent="accidental"),
        POLICY,
        occurred_at=found - timedelta(days=40),
        discovered_at=found,
    )
    assert ("long_exposure", "confidentiality", "+1 step") in effects(result)
    short = assess_risk(
        facts(recipients="known", intent="accidental"),
        POLICY,
        occurred_at=found - timedelta(days=3),
        discovered_at=found,
    )
    assert "long_exposure" not in [f[0] for f in effects(short)]


def test_likelihood_is_the_highest_of_the_properties_lost() -> None:
    """A stolen encrypted laptop with no backup: confidentiality negligible, availability
    significant; the breach's likelihood is significant."""
    result = judge(
        breach_types=["confidentiality", "availability"],
        encryption="encrypted_key_safe",
        recovery="unrecoverable",
        intent="accidental",
    )
    assert result.likelihood is not None
    assert result.likelihood.properties == {
        "confidentiality": "negligible",
        "availability": "significant",
    }
    assert result.likelihood.level == "significant"


LEVELS = ("negligible", "limited", "significant", "maximum")
MATRIX = {
    "low": ("unlikely", "unlikely", "risk", "risk"),
    "medium": ("unlikely", "risk", "risk", "risk"),
    "high": ("unlikely", "risk", "high_risk", "high_risk"),
    "very_high": ("unlikely", "risk", "high_risk", "high_risk"),
}


@pytest.mark.parametrize(
    ("band", "level", "verdict"),
    [(band, level, row[i]) for band, row in MATRIX.items() for i, level in enumerate(LEVELS)],
)
def test_the_matrix(band: str, level: str, verdict: str) -> None:
    """Every cell of the matrix, written out here by hand."""
    assert POLICY.verdict(band, level) == verdict


@pytest.mark.parametrize(
    ("verdict", "authority", "people"),
    [("unlikely", False, False), ("risk", True, False), ("high_risk", True, True)],
)
def test_each_verdict_recommends_its_duties(verdict: str, authority: bool, people: bool) -> None:
    """Unlikely: the register only; risk: the authority; high risk: the people too."""
    entry = POLICY.verdicts[verdict]
    assert (entry.authority, entry.people) == (authority, people)


def test_the_answer_shows_both_axes_the_cell_and_the_reasons() -> None:
    """Band, likelihood, matrix cell, verdict and recommendation agree with one another, and
    the reasons name the factors in words."""
    result = judge(data_categories=["health"], recipients="known", intent="accidental")
    assert (result.band, result.risk) == ("very_high", "high_risk")
    assert result.matrix == (
        "severity very high x likelihood significant -> likely to result in a high risk"
    )
    assert result.recommend_authority
    assert result.recommend_people
    assert result.reasons[0].startswith("Severity very high (SE 4.25)")
    assert "recipients known but not bound to protect the data" in result.reasons[1]
    assert result.reasons[-1].startswith("Matrix: severity very high x likelihood significant")


@pytest.mark.parametrize(
    ("change", "before", "after"),
    [
        ({"deletion_confirmed": True}, "risk", "unlikely"),
        ({"recovered_before_access": True}, "risk", "unlikely"),
        ({"misuse_evidence": True}, "risk", "high_risk"),
    ],
)
def test_changing_only_a_likelihood_factor_moves_the_risk_and_nothing_else(
    change: dict[str, Any], before: str, after: str
) -> None:
    """Financial records emailed to a trusted partner: confirmed deletion, recovery before
    access or evidence of misuse change the likelihood and the verdict, never the severity."""
    base = {
        "data_categories": ["financial"],
        "recipients": "known_trusted",
        "intent": "accidental",
    }
    first = judge(**base)
    second = judge(**base, **change)
    assert first.risk == before
    assert second.risk == after
    assert (second.score, second.band, second.factors) == (first.score, first.band, first.factors)
    assert first.likelihood != second.likelihood


def test_a_policy_whose_matrix_misses_a_level_is_refused() -> None:
    """A matrix row shorter than the likelihood scale is refused, naming the row."""
    data = POLICY.model_dump(mode="json")
    data["matrix"]["low"] = ["unlikely", "risk"]
    with pytest.raises(RulesError, match=r"matrix\.low"):
        parse_severity_policy(data)


def test_a_policy_that_scores_no_category_is_refused() -> None:
    """Every data category the facts accept must have a score."""
    data = POLICY.model_dump(mode="json")
    del data["dpc"]["health"]
    with pytest.raises(RulesError, match="health"):
        parse_severity_policy(data)
