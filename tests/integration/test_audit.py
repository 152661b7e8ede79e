"""Audit on the real store: as-of replay at five moments, decisions with their basis, the
hash chain catching every kind of tampering, bundles verified offline, rebuild checks."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from events.base import DomainEvent
from events.notifications import Notice
from services.application.context import RequestContext
from services.audit.bundle import verify_bundle
from services.audit.chain import GENESIS, event_digest, next_link
from services.audit.replay import current_incident, diff, replay_incident
from services.audit.time_axis import TimeAxis, build_axis, render_axis
from services.bootstrap import Runtime, bootstrap, projections
from services.config import Settings
from services.containment.tasks_view import Tasks
from services.notifications.views import slot_of
from services.operations import audit as service
from services.projections.schema import Projection, ViewTransaction
from services.projections.store import ViewStore
from services.timeline import timeline
from tests.support.clocks import ManualClock
from tests.support.facts import PORTAL_LEAK
from tests.support.identity import dpo_of
from tests.support.people import person, write_csv
from tests.support.store import RawStore
from tests.support.story import send_all

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ALICE, DPO = RequestContext(actor="alice"), RequestContext(actor="dpo")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


def scenario(rt: Runtime, clock: ManualClock, tmp_path: Path) -> tuple[UUID, dict[str, datetime]]:
    """Report, assess, decide, triage (tasks), complete a task, re-assess, notify."""
    moments: dict[str, datetime] = {}

    def mark() -> datetime:
        moment = clock.advance(minutes=30)
        clock.advance(seconds=1)
        return moment

    incident = rt.app.incidents.report_incident(
        {
            "title": "Careers portal leak",
            "reporter": "soc",
            "incident_type": "ransomware",
            "discovered_at": T0 - timedelta(hours=5),
            "aware_at": T0 - timedelta(hours=2),
        },
        ALICE,
    ).id
    moments["reported"] = mark()
    rt.app.assessment.assess_impact(incident, PORTAL_LEAK, DPO)
    moments["assessed"] = mark()
    rt.app.assessment.decide_obligation(
        incident,
        {
            "obligation": "eu_gdpr/supervisory_authority",
            "decision": "notify",
            "reason": "high risk to candidates",
        },
        DPO,
    )
    rt.app.incidents.triage_incident(
        incident, {"severity": "high", "personal_data_breach": "yes"}, ALICE
    )
    rt.settle()
    moments["decided"] = mark()
    first = rt.tasks.rows(clock.current, incident_id=incident)[0]
    rt.app.containment.complete_task(UUID(first["task_id"]), {"outcome": "isolated"}, ALICE)
    rt.app.assessment.assess_impact(
        incident, {**PORTAL_LEAK, "people": {"count": 2400, "confirmed": True}}, DPO
    )
    rt.settle()
    moments["reassessed"] = mark()
    rt.app.people.import_people(
        incident, write_csv(tmp_path / "people.csv", [person(i) for i in range(10)]), ALICE
    )
    campaign = rt.app.notifications.draft_campaign(
        incident,
        {
            "audience": "people",
            **{"nature": "n", "consequences": "c", "measures": "m"},
            "translations": {
                "zh-CN": {"nature": "性质", "consequences": "后果", "measures": "措施"}
            },
        },
        ALICE,
    )
    rt.app.notifications.preview_campaign(campaign.id, ALICE)
    rt.app.notifications.approve_campaign(campaign.id, dpo_of(rt, DPO))
    rt.app.notifications.start_dispatch(campaign.id, ALICE)
    send_all(rt)
    moments["notified"] = mark()
    return incident, moments


def test_replay_at_five_moments_shows_what_was_known_then(
    runtime: Runtime, clock: ManualClock, tmp_path: Path
) -> None:
    """Each moment shows exactly the facts, assessment, decisions, tasks and notices then."""
    incident, at = scenario(runtime, clock, tmp_path)

    def replay(moment: str) -> Any:
        return replay_incident(runtime.app, runtime.notifications, incident, at[moment])

    reported = replay("reported")
    assert (reported.exists, reported.version, reported.severity) == (True, 1, None)
    assert reported.tasks == []
    assert reported.campaigns == []
    assessed = replay("assessed")
    assert assessed.severity is not None
    assert assessed.severity.band == "high"
    assert assessed.evaluation is not None
    assert assessed.decisions == []
    decided = replay("decided")
    assert [d.obligation_id for d in decided.decisions] == ["eu_gdpr/supervisory_authority"]
    assert decided.decisions[0].basis_confirmed
    assert decided.decisions[0].changed_since == []
    assert len(decided.tasks) == 7
    assert {t.status for t in decided.tasks} == {"open"}
    reassessed = replay("reassessed")
    assert reassessed.state is not None
    assert reassessed.state.assessment is not None
    assert reassessed.state.assessment.facts.people.count == 2400
    assert reassessed.decisions[0].changed_since == ["impact re-assessed"]
    assert sorted(t.status for t in reassessed.tasks).count("done") == 1
    notified = replay("notified")
    assert [(c.status, c.notices) for c in notified.campaigns] == [("completed", {"sent": 10})]
    before = replay_incident(runtime.app, runtime.notifications, incident, T0 - timedelta(days=1))
    assert not before.exists
    changes = diff(assessed, reassessed)
    assert "assessment changed (severity now high)" in changes
    assert "decision on eu_gdpr/supervisory_authority: notify" in changes
    assert any(c.startswith("task opened") for c in changes)


def test_the_timeline_tells_of_tasks_done_imports_and_campaigns_in_time_order(
    runtime: Runtime, clock: ManualClock, tmp_path: Path
) -> None:
    """Beside the incident's own events, its timeline tells of a task's completion, one line
    for an import of ten people, and the campaign's approval, dispatch and completion, each
    with who did it and in the order they were recorded; the auditor's report shows them."""
    incident, _ = scenario(runtime, clock, tmp_path)
    entries = timeline(runtime.app.containment.timeline_events(incident), UTC)
    kinds = [e.event for e in entries]
    for kind in ("TaskCompleted", "PeopleImported", "CampaignApproved", "DispatchStarted"):
        assert kinds.count(kind) == 1, kind
    assert kinds.index("TaskCompleted") < kinds.index("PeopleImported")
    assert kinds.index("PeopleImported") < kinds.index("CampaignApproved")
    assert kinds.index("CampaignApproved") < kinds.index("DispatchStarted")
    assert kinds.index("DispatchStarted") < kinds.index("CampaignCompleted")
    by_kind = {e.event: e for e in entries}
    done = by_kind["TaskCompleted"]
    assert (done.actor, done.task_id is not None) == ("alice", True)
    assert done.summary.endswith("done: isolated")
    imported = by_kind["PeopleImported"]
    assert (imported.actor, imported.summary) == ("alice", "10 people imported")
    before_import = entries[kinds.index("PeopleImported") - 1]
    assert imported.version == before_import.version > 1
    approved = by_kind["CampaignApproved"]
    assert approved.actor == "dpo"
    assert approved.campaign_id is not None
    assert by_kind["CampaignCompleted"].summary.endswith(
        "completed: 10 sent, 0 failed, 0 suppressed"
    )
    assert [e.recorded_at for e in entries] == sorted(e.recorded_at for e in entries)
    bundle = tmp_path / "bundle"
    service.export(runtime, incident, bundle)
    html = (bundle / "report.html").read_text()
    assert "10 people imported" in html
    assert "done: isolated" in html


def axis_at(runtime: Runtime, incident: UUID, moment: datetime, **shown: bool) -> TimeAxis:
    """The incident on a time axis as recorded at ``moment``."""
    replay = replay_incident(runtime.app, runtime.notifications, incident, moment)
    marks = runtime.app.containment.timeline_events(incident)
    return build_axis(replay, marks, UTC, replayed=True, **shown)


def test_the_time_axis_draws_what_was_known_at_each_moment(
    runtime: Runtime, clock: ManualClock, tmp_path: Path
) -> None:
    """As of the report the axis has the legal moments alone; once notified it has the
    deadlines, the decision, a bar for each task (one done) and the campaign's bar from its
    approval to its completion; a reader who may not see tasks or campaigns gets no bars;
    the drawing and its list in words carry every mark."""
    incident, at = scenario(runtime, clock, tmp_path)
    early = axis_at(runtime, incident, at["reported"])
    assert {m.kind for m in early.marks} == {"moment"}
    assert early.bars == []
    assert early.now_x is not None
    late = axis_at(runtime, incident, at["notified"])
    kinds = Counter(m.kind for m in late.marks)
    assert kinds["moment"] == 2
    assert kinds["deadline"] >= 2
    assert kinds["decision"] == 1
    tasks = [b for b in late.bars if b.kind == "task"]
    assert len(tasks) == 7
    assert [b.state for b in tasks].count("done") == 1
    [campaign] = [b for b in late.bars if b.kind == "campaign"]
    assert campaign.end is not None
    assert campaign.start < campaign.end <= at["notified"]
    assert all(b.x >= 190 and b.x + b.width <= 941 for b in late.bars)
    assert axis_at(runtime, incident, at["notified"], tasks=False, campaigns=False).bars == []
    svg = render_axis(runtime.settings.templates_dir, late, UTC)
    assert svg.count('data-kind="task"') == 7
    assert svg.count('data-kind="campaign"') == 1
    assert svg.count('class="ta-mark"') == len(late.marks)
    assert svg.count("<li>") == len(late.marks) + len(late.bars) + 1


def test_the_current_incident_holds_what_a_clock_ahead_of_ours_recorded(
    runtime: Runtime, clock: ManualClock
) -> None:
    """An incident recorded by a process whose clock runs ahead is missing from a replay as
    of this process's now, but the live page's replay (everything recorded) has it, shown
    as of now, and its time axis draws it."""
    incident = runtime.app.incidents.report_incident(
        {"title": "Ahead", "reporter": "soc", "discovered_at": T0}, ALICE
    ).id
    behind = T0 - timedelta(minutes=5)
    assert not replay_incident(runtime.app, runtime.notifications, incident, behind).exists
    live = current_incident(runtime.app, runtime.notifications, incident, behind)
    assert live.exists
    assert live.as_of == behind
    marks = runtime.app.containment.timeline_events(incident)
    assert build_axis(live, marks, UTC, replayed=False).of_kind("moment")


def test_deadlines_on_the_axis_say_met_missed_superseded_and_waived(
    runtime: Runtime, clock: ManualClock
) -> None:
    """A deadline notified before it passed is met; one that passed undecided is missed;
    one a correction of awareness replaced is superseded; one decided against is waived."""

    def leak() -> UUID:
        incident = runtime.app.incidents.report_incident(
            {
                "title": "Careers portal leak",
                "reporter": "soc",
                "discovered_at": T0 - timedelta(hours=5),
                "aware_at": T0 - timedelta(hours=2),
            },
            ALICE,
        ).id
        runtime.app.assessment.assess_impact(incident, PORTAL_LEAK, DPO)
        return incident

    def decide(incident: UUID, obligation: str, decision: str, **more: Any) -> None:
        runtime.app.assessment.decide_obligation(
            incident, {"obligation": obligation, "decision": decision, "reason": "r", **more}, DPO
        )

    first, second = leak(), leak()
    clock.advance(minutes=5)
    runtime.app.incidents.amend_facts(
        first, {"aware_at": T0 - timedelta(hours=1), "reason": "log review"}, ALICE
    )
    decide(first, "eu_gdpr/supervisory_authority", "notified", notified_at=T0, reference="B-1")
    decide(second, "uk_gdpr/ico", "do_not_notify")
    runtime.settle()
    moment = clock.advance(days=5)

    def states(incident: UUID) -> dict[str, str]:
        deadlines = [m for m in axis_at(runtime, incident, moment).marks if m.kind == "deadline"]
        return {f"{m.label.split(':')[0]} {m.at:%H:%M}": m.state for m in deadlines}

    assert states(first) == {
        "eu_gdpr/supervisory_authority 07:00": "superseded",
        "uk_gdpr/ico 07:00": "superseded",
        "eu_gdpr/supervisory_authority 08:00": "met",
        "uk_gdpr/ico 08:00": "missed",
    }
    assert states(second)["uk_gdpr/ico 07:00"] == "waived"


def test_the_board_can_be_rebuilt_as_it_was_at_a_moment(
    runtime: Runtime, clock: ManualClock, alice: RequestContext
) -> None:
    """A second incident reported later is absent from the board as of the earlier moment."""
    first = runtime.app.incidents.report_incident(
        {"title": "First", "reporter": "r", "discovered_at": T0}, alice
    )
    earlier = clock.advance(hours=1)
    clock.advance(hours=1)
    runtime.app.incidents.report_incident(
        {"title": "Second", "reporter": "r", "discovered_at": T0}, alice
    )
    runtime.app.incidents.triage_incident(first.id, {"severity": "low"}, alice)
    position, rows = service.board_as_of(runtime, earlier)
    assert position == 1
    assert [(r["title"], r["severity"]) for r in rows] == [("First", None)]


def test_board_replays_show_the_containment_progress_known_at_each_moment(
    runtime: Runtime, clock: ManualClock, tmp_path: Path
) -> None:
    """The board rebuilt as of each moment shows the mandatory tasks done and in all that
    the task view rebuilt to the same log position shows."""
    incident, at = scenario(runtime, clock, tmp_path)
    shown = {}
    for moment, when in at.items():
        position, rows = service.board_as_of(runtime, when)
        [row] = [r for r in rows if r["incident_id"] == str(incident)]
        scratch = tmp_path / moment
        scratch.mkdir()
        store = service.build_views(runtime, scratch, position)
        try:
            expected = Tasks(store).progress(incident)
        finally:
            store.close()
        shown[moment] = (row["mandatory_done"], row["mandatory_total"])
        assert shown[moment] == expected
    assert shown["reported"] == (0, 0)
    assert shown["decided"][0] == 0 < shown["decided"][1]
    assert shown["reassessed"] == (1, shown["decided"][1])


def populated(runtime: Runtime, clock: ManualClock) -> None:
    for i in range(6):
        incident = runtime.app.incidents.report_incident(
            {"title": f"Incident {i}", "reporter": "r", "discovered_at": T0}, ALICE
        )
        runtime.app.incidents.add_note(incident.id, {"text": f"note {i}"}, ALICE)
    runtime.settle()


def inserted(raw: RawStore) -> None:
    """A copy of event 2 (as another version) slipped in at position 5."""
    raw.shift_events(5, 100)
    raw.shift_events(105, -99)
    raw.copy_event(2, 5, 99)


def reordered(raw: RawStore) -> None:
    """Events 3 and 5 swapped."""
    raw.move_event(3, 1000)
    raw.move_event(5, 3)
    raw.move_event(1000, 5)


@pytest.mark.parametrize(
    ("kind", "change", "position"),
    [
        ("edited", lambda raw: raw.edit_event(6, "note 2", "note X"), 6),
        ("deleted", lambda raw: raw.delete_event(4), 4),
        ("deleted at the end", lambda raw: raw.delete_event(12), 12),
        ("inserted", inserted, 5),
        ("reordered", reordered, 3),
    ],
)
def test_every_kind_of_tampering_with_the_live_store_is_caught(
    runtime: Runtime,
    clock: ManualClock,
    settings: Settings,
    kind: str,
    change: Callable[[RawStore], None],
    position: int,
) -> None:
    """Edited, deleted, inserted and reordered stored events: verify names the position."""
    populated(runtime, clock)
    assert service.verify_live(runtime).ok
    change(RawStore(settings))
    verdict = service.verify_live(runtime)
    assert not verdict.ok, kind
    assert verdict.first_bad_position == position, verdict.reason


def test_rewriting_the_chain_after_an_edit_is_caught_by_the_signed_checkpoint(
    runtime: Runtime, clock: ManualClock, settings: Settings
) -> None:
    """Recomputing every link after editing an event does not match the HMAC checkpoint."""
    populated(runtime, clock)
    raw = RawStore(settings)
    raw.edit_event(4, "note 1", "note Y")
    link = GENESIS
    for position, oid, version, topic, state in raw.stored():
        digest = event_digest(position, oid, version, topic, state)
        link = next_link(link, digest)
        raw.run(
            "audit",
            "UPDATE links SET digest = ?, link = ? WHERE position = ?",
            (digest, link, position),
        )
    verdict = service.verify_live(runtime)
    assert not verdict.ok
    assert "checkpoint" in verdict.reason


def test_bundles_verify_offline_and_every_alteration_is_caught(
    runtime: Runtime, clock: ManualClock, tmp_path: Path
) -> None:
    """An exported bundle verifies (its report recommends from the duties due); editing,
    deleting, inserting or reordering an event line, or touching the manifest or the chain,
    fails it."""
    incident, _ = scenario(runtime, clock, tmp_path)
    out = tmp_path / "bundle"
    manifest = service.export(runtime, incident, out)
    key = runtime.audit_key
    assert verify_bundle(out, key).ok
    report = (out / "report.html").read_text()
    assert report.startswith("<!doctype html>")
    assert "Notify the supervisory authority (lead: DE, concerned: FR, by" in report
    assert len(manifest["positions"]) > 20
    zipped = tmp_path / "bundle.zip"
    service.export(runtime, incident, zipped)
    assert verify_bundle(zipped, key).ok

    def altered(change: Any) -> Any:
        copy = tmp_path / f"copy-{len(list(tmp_path.iterdir()))}"
        shutil.copytree(out, copy)
        change(copy)
        return verify_bundle(copy, key)

    def edit_event(d: Path) -> None:
        lines = (d / "events.jsonl").read_text().splitlines(keepends=True)
        line = json.loads(lines[2])
        state = json.loads(line["state"])
        state["actor"] = "mallory"
        line["state"] = json.dumps(state)
        lines[2] = json.dumps(line) + "\n"
        (d / "events.jsonl").write_text("".join(lines))

    def delete_event(d: Path) -> None:
        lines = (d / "events.jsonl").read_text().splitlines(keepends=True)
        (d / "events.jsonl").write_text("".join(lines[:3] + lines[4:]))

    def insert_event(d: Path) -> None:
        lines = (d / "events.jsonl").read_text().splitlines(keepends=True)
        (d / "events.jsonl").write_text("".join([*lines[:3], lines[1], *lines[3:]]))

    def reorder_events(d: Path) -> None:
        lines = (d / "events.jsonl").read_text().splitlines(keepends=True)
        lines[1], lines[2] = lines[2], lines[1]
        (d / "events.jsonl").write_text("".join(lines))

    def edit_manifest(d: Path) -> None:
        m = json.loads((d / "manifest.json").read_text())
        m["incident_id"] = str(UUID(int=1))
        (d / "manifest.json").write_text(json.dumps(m))

    def edit_chain(d: Path) -> None:
        lines = (d / "chain.jsonl").read_text().splitlines(keepends=True)
        lines[1] = lines[1].replace('"digest":"', '"digest":"0')
        (d / "chain.jsonl").write_text("".join(lines))

    positions = manifest["positions"]
    for change, position in (
        (edit_event, positions[2]),
        (delete_event, positions[3]),
        (insert_event, positions[1]),
        (reorder_events, positions[1]),
        (edit_manifest, None),
        (edit_chain, None),
    ):
        verdict = altered(change)
        assert not verdict.ok, change.__name__
        if position is not None:
            assert verdict.first_bad_position == position, (change.__name__, verdict.problems)
    assert not verify_bundle(out, b"k" * 32).ok


def test_rebuild_check_finds_a_doctored_view(
    runtime: Runtime, clock: ManualClock, settings: Settings
) -> None:
    """Rebuilt views equal the live ones; a hand-edited view row is reported."""
    populated(runtime, clock)
    assert service.check_views(runtime) == {}
    RawStore(settings).run(
        "views",
        "UPDATE board SET title = 'Nothing to see' "
        "WHERE incident_id = (SELECT MIN(incident_id) FROM board)",
    )
    assert service.check_views(runtime) == {"board": {"missing_from_live": 1, "extra_in_live": 1}}


def test_rebuild_check_counts_rows_missing_from_and_extra_in_live_views(
    runtime: Runtime, clock: ManualClock, settings: Settings
) -> None:
    """A row deleted from a live view is counted missing from it and a row added is
    counted extra, each in its own table; the tables left alone are not reported."""
    populated(runtime, clock)
    raw = RawStore(settings)
    raw.run("views", "DELETE FROM board WHERE incident_id = (SELECT MIN(incident_id) FROM board)")
    raw.run(
        "views",
        "INSERT INTO task_incidents (incident_id, title) VALUES ('no-such-incident', 'Invented')",
    )
    assert service.check_views(runtime) == {
        "board": {"missing_from_live": 1, "extra_in_live": 0},
        "task_incidents": {"missing_from_live": 0, "extra_in_live": 1},
    }


def test_snapshots_keep_replays_of_long_histories_exact(
    settings: Settings, clock: ManualClock
) -> None:
    """With snapshots every 50 events, an as-of replay at any point equals folding the
    events up to it."""
    rt = bootstrap(settings, clock=clock, configure_logs=False)
    incident = rt.app.incidents.report_incident(
        {"title": "t", "reporter": "r", "discovered_at": T0}, ALICE
    )
    marks = []
    for i in range(130):
        rt.app.incidents.add_note(incident.id, {"text": f"n{i}"}, ALICE)
        if i in (10, 60, 129):
            marks.append((clock.advance(seconds=1), i + 2))
            clock.advance(seconds=1)
    assert len(list(rt.app.core.snapshots.get(incident.id))) == 2
    for at, version in marks:
        replayed = rt.app.core.as_of(incident.id, at)
        assert replayed.version == version
        assert replayed.state.notes == version - 1
    rt.close()


def test_of_the_checkpoints_made_within_a_minute_the_first_and_the_last_are_kept(
    runtime: Runtime, clock: ManualClock
) -> None:
    """Linking after every write for three minutes, 20 seconds apart, keeps the first and
    the last checkpoint of each minute; the chain still verifies, and an event between kept
    checkpoints is covered by the next one kept."""
    made: list[tuple[int, datetime]] = []
    for i in range(9):
        runtime.app.incidents.report_incident(
            {"title": f"Lost laptop {i}", "reporter": "alice", "discovered_at": T0}, ALICE
        )
        runtime.link()
        made.append((runtime.feed.head(), clock.current))
        clock.advance(seconds=20)
    kept = [c.position for c in runtime.chain.checkpoints()]
    by_minute: dict[datetime, list[int]] = {}
    for position, at in made:
        by_minute.setdefault(at.replace(second=0, microsecond=0), []).append(position)
    expected = sorted(
        {p for positions in by_minute.values() for p in (positions[0], positions[-1])}
    )
    assert kept == expected
    assert len(kept) < len(made)
    assert service.verify_live(runtime).ok
    covering = runtime.chain.covering(made[1][0])
    assert covering is not None
    assert covering.position == min(p for p in kept if p >= made[1][0])


def view_tables(store: ViewStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every view table, sorted."""
    tables = [t.name for p in projections() for t in p.tables]
    return {
        name: sorted((tuple(r.values()) for r in store.query(f"SELECT * FROM {name}")), key=repr)
        for name in tables
    }


class Offered:
    """A projection offered every event, whatever the one it wraps declares it handles."""

    def __init__(self, inner: Projection) -> None:
        self.inner = inner
        self.name, self.version, self.tables = inner.name, inner.version, inner.tables
        self.handles: tuple[type[DomainEvent], ...] = (DomainEvent,)

    def process(self, event: DomainEvent, position: int, tx: ViewTransaction) -> None:
        self.inner.process(event, position, tx)


def test_views_read_only_the_events_they_handle_and_miss_none(
    runtime: Runtime, clock: ManualClock, tmp_path: Path
) -> None:
    """Views rebuilt from the events their projections declare, read through the topic
    index, equal views offered every event of a log touching each of them: no projection
    changes a row on an event it does not declare."""
    scenario(runtime, clock, tmp_path)
    clock.current = T0 + timedelta(hours=70)
    assert runtime.alarm_clock().scan()
    runtime.settle()
    built = {}
    for name, chosen in {
        "declared": projections(),
        "offered": [Offered(p) for p in projections()],
    }.items():
        (tmp_path / name).mkdir()
        store = service.build_views(runtime, tmp_path / name, chosen=chosen)
        try:
            built[name] = view_tables(store)
        finally:
            store.close()
    assert built["declared"] == built["offered"]
    assert all(built["declared"][t] for t in ("board", "tasks", "notices", "people", "alerts"))


def test_the_moment_found_by_halving_the_log_is_the_one_read_in_order(
    runtime: Runtime, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The log's end as of each moment, found by halving the log, is the one a reading in
    order from the start finds, also where a writer stored an event out of its clock's
    order within the window read in order."""
    monkeypatch.setattr(service, "SKEW_WINDOW", 3)
    incident = runtime.app.incidents.report_incident(
        {"title": "Skew", "reporter": "soc", "discovered_at": T0}, ALICE
    ).id
    for i in range(30):
        clock.advance(minutes=1)
        if i % 7 == 3:
            clock.advance(seconds=-90)  # a racing writer's earlier clock
        runtime.app.incidents.add_note(incident, {"text": f"note {i}"}, ALICE)

    def read_in_order(at: datetime) -> tuple[int, bool]:
        position = 0
        for item in runtime.feed.read(0, 1000):
            if item.event.timestamp > at:
                return position, True
            position = item.position
        return position, False

    for seconds in range(-60, 33 * 60, 10):
        at = T0 + timedelta(seconds=seconds)
        assert service.settled_position_at(runtime, at) == read_in_order(at), at


def test_notice_counts_as_of_any_moment_equal_every_notice_replayed(
    settings: Settings, tmp_path: Path
) -> None:
    """At each moment a notice changed, and just before it, the replay's notices by status
    (the view's moves summed up to the moment's tenth of a second, plus the notices that
    moved within it replayed) equal those of every notice of the campaign replayed one by
    one; with the clock ticking 25 ms a read, moves fall in many tenths (some at a tenth's
    first moment), most moments have moves both before their tenth and within it, and some
    tenths hold several moves."""
    clock = ManualClock(T0, tick=timedelta(milliseconds=25))
    rt = bootstrap(
        settings.model_copy(update={"dispatch_batch_size": 2}), clock=clock, configure_logs=False
    )
    try:
        incident, _ = scenario(rt, clock, tmp_path)
        [campaign] = rt.notifications.campaigns(incident)
        campaign_id = UUID(campaign["campaign_id"])
        ids = rt.notifications.notice_ids(campaign_id)
        notices = set(ids)
        changed = [
            i.event.timestamp for i in rt.feed.read(0, 10_000) if i.event.originator_id in notices
        ]
        slots = Counter(slot_of(moment) for moment in changed)
        assert len(slots) >= 6
        assert max(slots.values()) >= 2
        both = 0
        for moment in sorted(changed):
            for at in (moment - timedelta(microseconds=1), moment):
                expected = Counter(
                    n.state.status.value
                    for n in rt.app.core.many_as_of(ids, at).values()
                    if isinstance(n, Notice)
                )
                [shown] = replay_incident(rt.app, rt.notifications, incident, at).campaigns
                assert shown.notices == dict(sorted(expected.items())), at
                slot = slot_of(at)
                both += bool(
                    rt.notifications.moves_before(campaign_id, slot)
                    and rt.notifications.positions_in(campaign_id, slot)
                )
        assert both >= len(changed)
        later = T0 + timedelta(days=9)
        assert rt.notifications.moves_before(campaign_id, slot_of(later)) == {"sent": 10}
    finally:
        rt.close()
