"""Benchmark: a what-if assessment over 30 jurisdictions, as a whole command and in-process.

Prints figures and the ratio to a baseline measured in the same run (the same console
script printing its help, i.e. interpreter and import start-up). Not a pass/fail test.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

from services.application.context import RequestContext  # noqa: F401  (warm imports)
from services.bootstrap import bootstrap
from services.config import Settings
from tests.support.identity import provision_in

BREACH = Path(sys.executable).parent / "breach"
JURISDICTIONS = [
    "DE",
    "FR",
    "IT",
    "ES",
    "NL",
    "BE",
    "AT",
    "SE",
    "DK",
    "FI",
    "IE",
    "PL",
    "PT",
    "NO",
    "GB",
    "CH",
    "CN",
    "SG",
    "AU",
    "CA",
    "BR",
    "IN",
    "JP",
    "KR",
    "US-CA",
    "US-NY",
    "US-TX",
    "US-FL",
    "US-CO",
    "US-WA",
]
FACTS = {
    "data_categories": ["identity", "contact", "national_id", "health"],
    "people": {"count": 30_000},
    "people_by_jurisdiction": dict.fromkeys(JURISDICTIONS, 1000),
    "breach_types": ["confidentiality"],
    "recipients": "unknown_or_public",
    "intent": "malicious",
    "sectors": ["hipaa_covered_entity", "prc_network_operator"],
    "moments": {"discovered_at": "2026-11-20T08:00:00Z", "aware_at": "2026-11-20T12:00:00Z"},
}


def timed(args: list[str], env: dict[str, str], runs: int = 7) -> list[float]:
    """Wall-clock seconds of each of ``runs`` runs of a whole command."""
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, env=env)
        out.append(time.perf_counter() - start)
    return out


def test_what_if_with_30_jurisdictions(tmp_path: Path) -> None:
    """Whole-command and in-process timings, against the start-up baseline."""
    facts = tmp_path / "facts.yaml"
    facts.write_text(yaml.safe_dump(FACTS), encoding="utf-8")
    env_args = [str(BREACH), "--data-dir", str(tmp_path / "var")]
    token = provision_in(Settings(data_dir=tmp_path / "var"), "bench")
    env = {**os.environ, "BREACH_TOKEN": token}
    baseline = timed([*env_args, "--help"], env)
    what_if = timed([*env_args, "assess", "--what-if", str(facts), "--json"], env)
    rt = bootstrap(Settings(data_dir=tmp_path / "var2"), configure_logs=False)
    data = dict(FACTS)
    moments = data.pop("moments")
    rt.app.assessment.what_if(data, moments=moments)
    in_process = []
    for _ in range(50):
        start = time.perf_counter()
        result = rt.app.assessment.what_if(data, moments=moments)
        in_process.append(time.perf_counter() - start)
    rt.close()
    obligations = len(result.evaluation.obligations)
    b, w = statistics.median(baseline), statistics.median(what_if)
    print(
        f"\nwhat-if, 30 jurisdictions, {obligations} obligations:\n"
        f"  baseline `breach --help` process: median {b * 1000:.0f} ms\n"
        f"  `breach assess --what-if --json` process: median {w * 1000:.0f} ms "
        f"(max {max(what_if) * 1000:.0f} ms), ratio to baseline {w / b:.2f}\n"
        f"  in-process evaluation: median {statistics.median(in_process) * 1000:.1f} ms "
        f"(max {max(in_process) * 1000:.1f} ms; the budget is 50 ms)"
    )
