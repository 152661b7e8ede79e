"""The obligations engine pinned to the reference facts of each regime, table by table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.support.assessment import evaluate, facts, one

T = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)  # a Monday
BRT = timezone(timedelta(hours=-3))


# --- EU GDPR ------------------------------------------------------------------------------


def test_gdpr_authority_deadline_is_72_hours_from_awareness() -> None:
    """Art 33: 72 hours counted from awareness, not from discovery."""
    ev = evaluate(facts(), level="risk", discovered=T, aware=T + timedelta(hours=5))
    sa = one(ev, "eu_gdpr/supervisory_authority")
    assert sa.due
    assert sa.clock == "aware"
    assert sa.deadline == T + timedelta(hours=77)
    assert sa.provisional is None
    assert "nature of the breach" in sa.content[0]


def test_gdpr_without_awareness_counts_from_discovery_and_says_so() -> None:
    """An unrecorded awareness time gives an earlier, provisional deadline."""
    sa = one(evaluate(facts(), level="risk", discovered=T), "eu_gdpr/supervisory_authority")
    assert sa.deadline == T + timedelta(hours=72)
    assert sa.provisional == "aware_at not recorded; counted from discovered_at"


@pytest.mark.parametrize(
    ("level", "authority", "people"),
    [("unlikely", False, False), ("risk", True, False), ("high_risk", True, True)],
)
def test_gdpr_duties_follow_the_risk_level(level: str, authority: bool, people: bool) -> None:
    """Unlikely risk: register only; risk: the authority; high risk: the people too."""
    ev = evaluate(facts(), level=level, discovered=T, aware=T)
    assert one(ev, "eu_gdpr/supervisory_authority").due is authority
    assert one(ev, "eu_gdpr/data_subjects").due is people
    assert one(ev, "eu_gdpr/internal_register").due


def test_a_processor_tells_the_controller_instead_of_the_authority() -> None:
    """Art 33(2): as processor we inform the controller; the authority is the controller's."""
    ev = evaluate(facts(role="processor", customer="Acme GmbH"), discovered=T, aware=T)
    assert one(ev, "eu_gdpr/controller").due
    assert one(ev, "eu_gdpr/controller").audience == "controller"
    assert not one(ev, "eu_gdpr/supervisory_authority").triggered
    assert not one(ev, "eu_gdpr/data_subjects").triggered


# --- US HIPAA -----------------------------------------------------------------------------

HIPAA = {"data_categories": ["health"], "sectors": ["hipaa_covered_entity"]}


def test_hipaa_sixty_days_from_discovery_and_the_500_thresholds() -> None:
    """600 in California: people and HHS within 60 days, and the media (more than 500 in
    one State)."""
    ev = evaluate(
        facts(**HIPAA, people_by_jurisdiction={"US-CA": 600, "US-NY": 100}),
        discovered=T,
        aware=T + timedelta(days=3),
    )
    for party in ("data_subjects", "hhs", "media"):
        o = one(ev, f"us_hipaa/{party}")
        assert o.due, party
        assert o.deadline == T + timedelta(days=60), party
    assert not one(ev, "us_hipaa/hhs_annual_log").triggered


def test_hipaa_media_needs_more_than_500_in_one_state() -> None:
    """700 people spread 400/300: HHS now (500 or more in all) but no media notice."""
    ev = evaluate(facts(**HIPAA, people_by_jurisdiction={"US-CA": 400, "US-NY": 300}), discovered=T)
    assert one(ev, "us_hipaa/hhs").due
    assert not one(ev, "us_hipaa/media").triggered
    assert "400 people in US-CA <= 500" in one(ev, "us_hipaa/media").condition


def test_hipaa_under_500_goes_to_the_annual_log() -> None:
    """Fewer than 500: no HHS notice now; the annual log is due 60 days after year end."""
    ev = evaluate(facts(**HIPAA, people_by_jurisdiction={"US-TX": 499}), discovered=T)
    assert not one(ev, "us_hipaa/hhs").triggered
    log = one(ev, "us_hipaa/hhs_annual_log")
    assert log.due
    assert log.deadline == datetime(2027, 3, 1, 23, 59, 59, tzinfo=UTC)


def test_hipaa_does_not_reach_an_organisation_outside_its_scope() -> None:
    """Health data of US residents held by a non-covered organisation: no HIPAA duty."""
    ev = evaluate(
        facts(data_categories=["health"], people_by_jurisdiction={"US-CA": 900}), discovered=T
    )
    assert not [o for o in ev.obligations if o.regime == "us_hipaa"]


# --- California ---------------------------------------------------------------------------

CA_PI = {"data_categories": ["identity", "national_id"]}


def test_california_thirty_days_and_the_attorney_general_above_500() -> None:
    """Residents within 30 days of discovery; the AG 15 days after residents are told."""
    f = facts(**CA_PI, people_by_jurisdiction={"US-CA": 501})
    ev = evaluate(f, discovered=T)
    residents = one(ev, "us_ca/data_subjects")
    assert residents.deadline == T + timedelta(days=30)
    ag = one(ev, "us_ca/attorney_general")
    assert ag.due
    assert ag.deadline is None
    assert ag.pending == "counts from notifying data_subjects"
    told = T + timedelta(days=10)
    ev = evaluate(f, discovered=T, notified={"us_ca/data_subjects": told})
    assert one(ev, "us_ca/attorney_general").deadline == told + timedelta(days=15)


def test_california_attorney_general_not_at_exactly_500() -> None:
    """'More than 500': 500 residents do not trigger the AG notice."""
    ev = evaluate(facts(**CA_PI, people_by_jurisdiction={"US-CA": 500}), discovered=T)
    assert not one(ev, "us_ca/attorney_general").triggered


# --- Brazil -------------------------------------------------------------------------------


def test_brazil_three_business_days_across_a_weekend_and_a_holiday() -> None:
    """Learned on Thursday 19 Nov 2026: Friday 20 Nov is a national holiday, then the
    weekend, so the third business day is Wednesday 25 Nov (end of day, Brasilia time)."""
    learned = datetime(2026, 11, 19, 10, 0, tzinfo=BRT)
    f = facts(data_categories=["health"], people_by_jurisdiction={"BR": 40})
    ev = evaluate(f, level="risk", discovered=learned - timedelta(hours=2), determined=learned)
    for party in ("anpd", "data_subjects"):
        o = one(ev, f"br_lgpd/{party}")
        assert o.due
        assert o.clock == "determined"
        assert o.deadline == datetime(2026, 11, 25, 23, 59, 59, tzinfo=BRT)


def test_brazil_needs_a_significant_incident_with_relevant_data() -> None:
    """Contact data only: no ANPD notice, but the incident is still recorded."""
    ev = evaluate(facts(people_by_jurisdiction={"BR": 40}), level="risk", discovered=T)
    assert not one(ev, "br_lgpd/anpd").triggered
    assert one(ev, "br_lgpd/internal_register").due


# --- Singapore ----------------------------------------------------------------------------


def test_singapore_three_calendar_days_from_the_assessment() -> None:
    """The PDPC clock starts when the breach is assessed as notifiable, not at discovery."""
    assessed = T + timedelta(days=4, hours=3)
    ev = evaluate(
        facts(people_by_jurisdiction={"SG": 20}),
        level="high_risk",
        discovered=T,
        aware=T,
        assessed=assessed,
    )
    pdpc = one(ev, "sg_pdpa/pdpc")
    assert pdpc.clock == "assessed"
    assert pdpc.deadline == assessed + timedelta(days=3)


@pytest.mark.parametrize(
    ("people", "level", "due"),
    [
        (500, "risk", True),
        (499, "risk", False),
        (499, "high_risk", True),
    ],
)
def test_singapore_significant_scale_is_500_people(people: int, level: str, due: bool) -> None:
    """500 or more affected people is notifiable even without significant harm."""
    ev = evaluate(facts(people_by_jurisdiction={"SG": people}), level=level, discovered=T)
    assert one(ev, "sg_pdpa/pdpc").due is due


def test_singapore_explicit_assessment_time_wins() -> None:
    """A recorded assessed_notifiable_at is the clock start."""
    when = T + timedelta(days=1)
    ev = evaluate(
        facts(people_by_jurisdiction={"SG": 600}, assessed_notifiable_at=when),
        level="risk",
        discovered=T,
        assessed=T + timedelta(days=9),
    )
    assert one(ev, "sg_pdpa/pdpc").deadline == when + timedelta(days=3)


def test_a_clock_taken_as_the_evaluation_moment_makes_its_deadline_provisional() -> None:
    """Without assessed_notifiable_at, a what-if's PDPC deadline counts from the what-if and is
    provisional with the reason; a given assessment time, or an assumed discovery that the
    clock does not read, leaves it firm."""
    sg = facts(people_by_jurisdiction={"SG": 600})
    assumed = {"assessed": "counted from the what-if", "discovered": "discovery assumed"}
    ev = evaluate(sg, level="risk", discovered=T, aware=T, assessed=T, assumed=assumed)
    pdpc = one(ev, "sg_pdpa/pdpc")
    assert (pdpc.deadline, pdpc.provisional) == (T + timedelta(days=3), "counted from the what-if")
    fixed = facts(people_by_jurisdiction={"SG": 600}, assessed_notifiable_at=T)
    ev = evaluate(fixed, level="risk", discovered=T, aware=T, assumed=assumed)
    assert one(ev, "sg_pdpa/pdpc").provisional is None
    assert (
        one(evaluate(sg, level="risk", discovered=T, aware=T), "sg_pdpa/pdpc").provisional is None
    )


def test_an_assumed_discovery_makes_every_deadline_counted_from_it_provisional() -> None:
    """Awareness falling back to an assumed discovery gives both reasons; a recorded awareness
    does not depend on the assumption."""
    assumed = {"discovered": "discovery assumed"}
    ev = evaluate(facts(), discovered=T, assumed=assumed)
    assert one(ev, "eu_gdpr/supervisory_authority").provisional == (
        "aware_at not recorded; counted from discovered_at; discovery assumed"
    )
    ev = evaluate(facts(), discovered=T, aware=T, assumed=assumed)
    assert one(ev, "eu_gdpr/supervisory_authority").provisional is None


def test_dora_backstop_from_an_assumed_clock_makes_the_initial_report_provisional() -> None:
    """The earlier of two deadlines depends on both clocks, so an assumed awareness (through
    discovery) marks the initial report provisional even when classified at a known time."""
    f = facts(
        sectors=["financial_entity"], major_incident=True, assessed_notifiable_at=T + timedelta(1)
    )
    ev = evaluate(f, discovered=T, assumed={"discovered": "discovery assumed"})
    initial = one(ev, "eu_dora/competent_authority_initial")
    assert initial.deadline == T + timedelta(hours=24)
    assert initial.provisional is not None
    assert initial.provisional.endswith("discovery assumed")


# --- PRC CAC ------------------------------------------------------------------------------

MAJOR = {"people_by_jurisdiction": {"CN": 1_500_000}}


@pytest.mark.parametrize(
    ("sectors", "party", "hours"),
    [
        (
            ["prc_network_operator", "critical_infrastructure"],
            "sector_protection_department_and_public_security",
            1,
        ),
        (["prc_central_state_organ"], "own_cyberspace_unit", 2),
        (["prc_network_operator"], "provincial_cac", 4),
    ],
)
def test_cac_reporting_tiers(sectors: list[str], party: str, hours: int) -> None:
    """A relatively major incident: 1 hour for CII, 2 for central organs, 4 for others."""
    ev = evaluate(facts(**MAJOR, sectors=sectors), discovered=T)
    due = [
        o
        for o in ev.obligations
        if o.regime == "cn_cac_incident_2025" and o.due and o.deadline is not None
    ]
    assert [(o.party, o.deadline) for o in due] == [(party, T + timedelta(hours=hours))]


def test_cac_applies_only_from_relatively_major_incidents() -> None:
    """2,300 people and no loss is below the grade; RMB 5 million of loss reaches it."""
    small = facts(people_by_jurisdiction={"CN": 2300}, sectors=["prc_network_operator"])
    assert not one(evaluate(small, discovered=T), "cn_cac_incident_2025/provincial_cac").triggered
    costly = facts(
        people_by_jurisdiction={"CN": 2300},
        sectors=["prc_network_operator"],
        direct_loss_cny=5_000_000,
    )
    assert one(evaluate(costly, discovered=T), "cn_cac_incident_2025/provincial_cac").due


def test_cac_summary_counts_from_the_end_of_handling() -> None:
    """The post-incident summary waits for closure, then has 30 days."""
    f = facts(**MAJOR, sectors=["prc_network_operator"])
    summary = one(evaluate(f, discovered=T), "cn_cac_incident_2025/authority_post_incident_summary")
    assert summary.pending == "counts from the end of incident handling"
    closed = T + timedelta(days=6)
    summary = one(
        evaluate(f, discovered=T, closed=closed),
        "cn_cac_incident_2025/authority_post_incident_summary",
    )
    assert summary.deadline == closed + timedelta(days=30)


# --- South Korea --------------------------------------------------------------------------


def test_korea_72_hours_and_the_1000_person_threshold() -> None:
    """People within 72 hours always; the PIPC from 1,000 people (or sensitive data, or an
    outside attack)."""
    aware = T + timedelta(hours=2)
    big = evaluate(
        facts(people_by_jurisdiction={"KR": 1000}, intent="accidental"), discovered=T, aware=aware
    )
    assert one(big, "kr_pipa/pipc_or_kisa").deadline == aware + timedelta(hours=72)
    assert one(big, "kr_pipa/data_subjects").deadline == aware + timedelta(hours=72)
    small = evaluate(
        facts(people_by_jurisdiction={"KR": 999}, intent="accidental"), discovered=T, aware=aware
    )
    assert not one(small, "kr_pipa/pipc_or_kisa").triggered
    assert one(small, "kr_pipa/data_subjects").due


# --- Encryption with a safe key -----------------------------------------------------------


def test_encryption_with_a_safe_key_removes_duties_only_where_the_law_says_so() -> None:
    """GDPR people notice, California and HIPAA are exempt; the GDPR authority notice and
    Korea's duties remain."""
    f = facts(
        data_categories=["health", "national_id"],
        people_by_jurisdiction={"DE": 100, "US-CA": 600, "KR": 50},
        sectors=["hipaa_covered_entity"],
        encryption="encrypted_key_safe",
    )
    ev = evaluate(f, discovered=T, aware=T)
    exempt = {o.id for o in ev.obligations if o.triggered and o.exemption}
    assert {"eu_gdpr/data_subjects", "us_ca/data_subjects", "us_hipaa/data_subjects"} <= exempt
    assert "34(3)(a)" in (one(ev, "eu_gdpr/data_subjects").exemption or "")
    for still_due in ("eu_gdpr/supervisory_authority", "kr_pipa/data_subjects"):
        assert one(ev, still_due).due, still_due
    plain = evaluate(
        f.model_copy(update={"encryption": "encrypted_key_compromised"}), discovered=T, aware=T
    )
    assert one(plain, "us_ca/data_subjects").due


# --- Coverage and shape -------------------------------------------------------------------


def test_every_regime_with_a_concrete_deadline_is_covered() -> None:
    """Each regime of the reference with hours or days yields a dated obligation somewhere."""
    f = facts(
        data_categories=["health", "national_id", "financial"],
        people_by_jurisdiction={
            "DE": 10,
            "GB": 10,
            "CN": 1_000_001,
            "US-CA": 600,
            "US-NY": 10,
            "US-TX": 300,
            "US-FL": 600,
            "US-CO": 600,
            "US-WA": 600,
            "SG": 600,
            "AU": 10,
            "BR": 10,
            "IN": 10,
            "JP": 10,
            "KR": 10,
            "CA": 10,
            "CH": 10,
        },
        sectors=[
            "hipaa_covered_entity",
            "prc_network_operator",
            "essential_entity",
            "financial_entity",
        ],
        major_incident=True,
    )
    ev = evaluate(f, discovered=T, aware=T, determined=T, closed=T + timedelta(days=1))
    dated = {o.regime for o in ev.obligations if o.due and o.deadline is not None}
    assert dated == {
        "eu_gdpr",
        "uk_gdpr",
        "cn_cac_incident_2025",
        "us_hipaa",
        "us_ca",
        "us_ny",
        "us_tx",
        "us_fl",
        "us_co",
        "us_wa",
        "sg_pdpa",
        "au_ndb",
        "br_lgpd",
        "in_dpdp",
        "jp_appi",
        "kr_pipa",
        "eu_nis2",
        "eu_dora",
    }


def test_dora_initial_report_is_the_earlier_of_4_hours_and_the_24_hour_backstop() -> None:
    """Classified as major two days after awareness: the 24-hour backstop from awareness wins."""
    f = facts(sectors=["financial_entity"], major_incident=True)
    ev = evaluate(f, discovered=T, aware=T, assessed=T + timedelta(days=2))
    assert one(ev, "eu_dora/competent_authority_initial").deadline == T + timedelta(hours=24)


def test_japan_final_report_gets_60_days_for_a_wrongful_purpose() -> None:
    """The final PPC report is due in 30 days, 60 when the leak had a wrongful purpose."""
    accidental = evaluate(
        facts(people_by_jurisdiction={"JP": 2000}, intent="accidental"), discovered=T, aware=T
    )
    assert one(accidental, "jp_appi/ppc_final").deadline == T + timedelta(days=30)
    malicious = evaluate(facts(people_by_jurisdiction={"JP": 10}), discovered=T, aware=T)
    assert one(malicious, "jp_appi/ppc_final").deadline == T + timedelta(days=60)


def test_evaluation_names_its_rule_set_and_states_why_a_regime_does_not_apply() -> None:
    """The rule-set version is recorded; residents out of a law's data scope are noted."""
    ev = evaluate(facts(people_by_jurisdiction={"US-CA": 10}), discovered=T)
    assert ev.rule_set == "2026.11.1"
    assert any("California" in note and "does not apply" in note for note in ev.notes)
