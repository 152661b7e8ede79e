"""The distributed mode end to end: PostgreSQL, Kafka and worker processes run the whole
scenario, with and without workers killed and the broker stopped."""

from __future__ import annotations

import time

import pytest

from tests.distributed.chaos import Chaos, chosen_seed, plan
from tests.distributed.scenario import Scenario
from tests.support.broker import Broker

LEASE = 6
"""Seconds a notice may stay 'sending' before the crash rule settles it."""
OUTAGE = 30.0
"""Seconds the broker is stopped."""
EVENTS = 20_000
"""About how many events the scenario stores."""

pytestmark = pytest.mark.distributed


def test_full_scenario_on_postgres_and_kafka(scenario: Scenario) -> None:
    """Relay, two projection workers, policies, two dispatchers and the chain, each its own
    process: the scenario ends with the views a rebuild of the log makes, 5,000 notices each
    received once (both dispatchers sent some), the earlier state replayed, the chain intact."""
    started = time.monotonic()
    scenario.run()
    found = scenario.check()
    codes = scenario.cluster.stop()
    print(f"timings: {scenario.timings}, total {time.monotonic() - started:.1f}s")
    print(f"found: { {k: v for k, v in found.items() if k != 'audit'} }")
    assert scenario.settled == {}
    assert all(code == 0 for kind in codes.values() for code in kind), codes
    sent = [line["sent"] for line in scenario.cluster.lines("dispatcher", "dispatch.stopped")]
    assert len(sent) == 2
    assert sum(sent) == scenario.people
    assert all(n > 0 for n in sent), sent
    assert len(found["sent_by_run"]) == 2


def test_workers_killed_at_random_points_and_a_broker_outage_lose_nothing(
    scenario: Scenario, own_broker: Broker
) -> None:
    """The same scenario while a seeded schedule SIGKILLs and restarts the relay, a
    projection worker and a dispatcher (one while sending) and stops the broker for 30 s:
    the same end state, each notice received once, the outage only delayed the relay."""
    started = time.monotonic()
    scenario.cluster.env["BREACH_SENDING_LEASE_SECONDS"] = str(LEASE)
    seed = chosen_seed()
    schedule = plan(seed, people=scenario.people, events=EVENTS, outage=OUTAGE)
    chaos = Chaos(seed, scenario, own_broker, schedule)
    print(chaos.describe(), flush=True)
    chaos.start()
    try:
        scenario.run()
        chaos.finish()
    finally:
        chaos.abort()
        print(chaos.describe(), flush=True)
    found = scenario.check()
    print(f"timings: {scenario.timings}, total {time.monotonic() - started:.1f}s")
    print(f"settled by the operator: {dict(scenario.settled)}")
    print(f"found: { {k: v for k, v in found.items() if k != 'audit'} }")
    codes = scenario.cluster.stop()
    assert all(code == 0 for kind in codes.values() for code in kind), codes
    killed = {f.action.what for f in chaos.fired if f.action.what != "broker"}
    assert killed == {"relay", "projections", "dispatcher"}, chaos.describe()
    (outage,) = [f.detail for f in chaos.fired if f.action.what == "broker"]
    assert outage["head_at_continue"] > outage["head_at_stop"], "nothing was stored meanwhile"
    assert outage["relay_at_continue"] <= outage["head_at_stop"], "published to a stopped broker"
    paused = scenario.cluster.lines("relay", "relay.paused")
    resumed = scenario.cluster.lines("relay", "relay.resumed")
    print(f"relay paused {len(paused)}x, resumed {len(resumed)}x")
