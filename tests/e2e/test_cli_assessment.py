"""Assessment through the console script: assess, what-if, decide and obligations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from tests.e2e.conftest import Cli
from tests.support.facts import PORTAL_LEAK
from tests.support.store import count_events


def write(tmp_path: Path, name: str, data: object) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


NOW = datetime.now(UTC).replace(second=0, microsecond=0)
DISCOVERED = NOW - timedelta(days=4)
AWARE = NOW - timedelta(days=3, hours=12)
GDPR_DEADLINE = AWARE + timedelta(hours=72)


def reported(cli: Cli) -> str:
    """Report the portal leak, discovered four days ago; its 72 hours are already over."""
    args = ["--title", "Careers portal CV leak", "--type", "web_application_exfiltration"]
    moments = ["--discovered-at", DISCOVERED.isoformat(), "--aware-at", AWARE.isoformat()]
    return cli.ok("report", *args, *moments).out.strip()


def test_assess_records_severity_and_obligations_and_shows_the_working(
    cli: Cli, tmp_path: Path
) -> None:
    """The human output shows every term, the recommendation from the duties due (the lead
    authority named) and dated obligations."""
    incident = reported(cli)
    facts = write(tmp_path, "facts.yaml", PORTAL_LEAK)
    out = cli.ok("assess", incident[:8], "--file", str(facts)).out
    for text in (
        "Severity high (SE 3",
        "DPC volume",
        "CB malicious",
        "Recommendation: Notify the supervisory authority (lead: DE, concerned: FR, by "
        + GDPR_DEADLINE.strftime("%Y-%m-%d %H:%M UTC"),
        "and the people affected\n",
        "Authorities: eu_gdpr/supervisory_authority: lead: DE, concerned: FR",
        "Likelihood maximum",
        "Matrix: severity high x likelihood maximum -> likely to result in a high risk",
        "eu_gdpr/supervisory_authority",
        GDPR_DEADLINE.strftime("%Y-%m-%d %H:%M UTC"),
        "rule set 2026.11.1",
    ):
        assert text in out
    again = cli("assess", incident, "--file", str(facts), "--json")
    assert again.code == 2
    assert "changes nothing" in again.err


def test_what_if_records_nothing_and_prints_json_for_scripts(cli: Cli, tmp_path: Path) -> None:
    """--what-if without an incident uses the file's moments; the store stays empty."""
    facts = write(
        tmp_path,
        "facts.yaml",
        {
            **PORTAL_LEAK,
            "moments": {
                "discovered_at": DISCOVERED.isoformat(),
                "aware_at": AWARE.isoformat(),
            },
        },
    )
    cli.user("alice")
    before = count_events(cli.data_dir)
    result = cli.ok("assess", "--what-if", str(facts), "--json").json()
    assert result["recorded"] is False
    assert result["severity"]["band"] == "high"
    sa = next(
        o for o in result["evaluation"]["obligations"] if o["id"] == "eu_gdpr/supervisory_authority"
    )
    assert datetime.fromisoformat(sa["deadline"]) == GDPR_DEADLINE
    assert sa["content"]
    assert count_events(cli.data_dir) == before


def test_decide_and_obligations_by_urgency(cli: Cli, tmp_path: Path) -> None:
    """Open obligations list most urgent first; a 'notified' decision takes one off it."""
    incident = reported(cli)
    cli.ok("assess", incident, "--file", str(write(tmp_path, "f.yaml", PORTAL_LEAK)))
    open_rows = cli.ok("obligations", "--json").json()
    assert open_rows[0]["urgency"] == "overdue"
    assert {r["obligation_id"] for r in open_rows[:2]} == {
        "eu_gdpr/supervisory_authority",
        "uk_gdpr/ico",
    }
    cli.ok(
        "decide",
        incident[:8],
        "uk_gdpr/ico",
        "--decision",
        "notified",
        "--notified-at",
        (AWARE + timedelta(hours=20)).isoformat(),
        "--reference",
        "ICO-77",
        "--reason",
        "filed",
    )
    still_open = {r["obligation_id"] for r in cli.ok("obligations", "--json").json()}
    assert "uk_gdpr/ico" not in still_open
    mine = cli.ok("obligations", incident[:8], "--json").json()
    ico = next(r for r in mine if r["obligation_id"] == "uk_gdpr/ico")
    assert (ico["status"], ico["reference"], ico["decided_by"]) == ("notified", "ICO-77", "alice")
    table = cli.ok("obligations").out
    assert "overdue" in table
    assert "Careers portal CV leak" in table


def test_bad_assessment_input_is_refused_with_the_field_and_nothing_stored(
    cli: Cli, tmp_path: Path
) -> None:
    """A jurisdiction breakdown above the total is one error line, exit 2, no event."""
    incident = reported(cli)
    before = count_events(cli.data_dir)
    bad = write(tmp_path, "bad.yaml", {**PORTAL_LEAK, "people": {"count": 10}})
    result = cli("assess", incident, "--file", str(bad))
    assert result.code == 2
    assert result.err.strip() == (
        "breach: error: people_by_jurisdiction: adds up to 2,300, more than people.count (10)"
    )
    decided = cli(
        "decide", incident, "eu_gdpr/supervisory_authority", "--decision", "notify", "--reason", "x"
    )
    assert decided.code == 2
    assert "assess the impact" in decided.err
    assert count_events(cli.data_dir) == before


SINGAPORE = {
    "data_categories": ["contact", "identity"],
    "people": {"count": 600, "confirmed": True},
    "people_by_jurisdiction": {"SG": 600},
    "breach_types": ["confidentiality"],
    "recipients": "unknown_or_public",
    "intent": "malicious",
}


def test_what_if_on_an_incident_refuses_a_moments_block_and_records_nothing(
    cli: Cli, tmp_path: Path
) -> None:
    """Moments in the file of a what-if on an incident would be ignored, so the command is
    refused naming 'moments' (exit 2) and the log does not grow; an empty block too."""
    incident = reported(cli)
    before = count_events(cli.data_dir)
    for moments in ({"aware_at": AWARE.isoformat()}, None):
        facts = write(tmp_path, "facts.yaml", {**PORTAL_LEAK, "moments": moments})
        result = cli("assess", incident[:8], "--what-if", str(facts))
        assert result.code == 2, result.err
        assert result.err.startswith("breach: error: moments: apply only to a what-if without")
        assert result.out == ""
    assert count_events(cli.data_dir) == before


def test_what_if_clocks_started_by_running_it_are_marked_provisional(
    cli: Cli, tmp_path: Path
) -> None:
    """Singapore's clock without assessed_notifiable_at, and discovery left to default, start
    when the what-if runs: the deadlines say provisional and why, in JSON and in the table;
    given times make them firm."""
    cli.user("alice")
    open_ended = write(tmp_path, "sg.yaml", SINGAPORE)
    result = cli.ok("assess", "--what-if", str(open_ended), "--json").json()
    pdpc = next(o for o in result["evaluation"]["obligations"] if o["id"] == "sg_pdpa/pdpc")
    assert pdpc["provisional"].startswith("assessed_notifiable_at not given")
    out = cli.ok("assess", "--what-if", str(open_ended)).out
    assert "(provisional)" in out
    assert "Provisional: sg_pdpa/pdpc: assessed_notifiable_at not given" in out
    gdpr = write(tmp_path, "de.yaml", {**SINGAPORE, "people_by_jurisdiction": {"DE": 600}})
    sa = next(
        o
        for o in cli.ok("assess", "--what-if", str(gdpr), "--json").json()["evaluation"][
            "obligations"
        ]
        if o["id"] == "eu_gdpr/supervisory_authority"
    )
    assert "moments.discovered_at not given" in sa["provisional"]
    given = write(
        tmp_path,
        "given.yaml",
        {
            **SINGAPORE,
            "assessed_notifiable_at": AWARE.isoformat(),
            "moments": {"discovered_at": DISCOVERED.isoformat()},
        },
    )
    result = cli.ok("assess", "--what-if", str(given), "--json").json()
    pdpc = next(o for o in result["evaluation"]["obligations"] if o["id"] == "sg_pdpa/pdpc")
    assert pdpc["provisional"] is None
    assert datetime.fromisoformat(pdpc["deadline"]) == AWARE + timedelta(days=3)


def test_fact_times_without_an_offset_are_read_in_the_configured_zone(
    cli: Cli, tmp_path: Path
) -> None:
    """assessed_notifiable_at and the what-if moments follow one rule: without an offset
    (text or a YAML timestamp) they are Berlin time here; a bad one is refused by name."""
    cli.env["BREACH_TIMEZONE"] = "Europe/Berlin"
    cli.user("alice")
    nine = datetime(2026, 11, 27, 9, 0)
    for value in ("2026-11-27T09:00", nine):
        facts = write(
            tmp_path,
            "sg.yaml",
            {**SINGAPORE, "assessed_notifiable_at": value, "moments": {"discovered_at": value}},
        )
        result = cli.ok("assess", "--what-if", str(facts), "--json").json()
        assert datetime.fromisoformat(result["moments"]["discovered_at"]) == datetime(
            2026, 11, 27, 8, 0, tzinfo=UTC
        )
        pdpc = next(o for o in result["evaluation"]["obligations"] if o["id"] == "sg_pdpa/pdpc")
        assert datetime.fromisoformat(pdpc["deadline"]) == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    incident = reported(cli)
    before = count_events(cli.data_dir)
    bad = write(tmp_path, "bad.yaml", {**SINGAPORE, "assessed_notifiable_at": "next week"})
    refused = cli("assess", incident, "--file", str(bad))
    assert refused.code == 2
    assert refused.err.startswith("breach: error: assessed_notifiable_at: is not a time")
    assert "next week" not in refused.err
    moments = write(tmp_path, "m.yaml", {**SINGAPORE, "moments": {"aware_at": "soon"}})
    refused = cli("assess", "--what-if", str(moments))
    assert refused.code == 2
    assert refused.err.startswith("breach: error: moments.aware_at: is not a time")
    assert count_events(cli.data_dir) == before
