"""Audit operations over a wired runtime: verify the live log, export and check bundles,
replay the whole board as of a moment, and check that rebuilt views equal the live ones."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from events.notifications import NoticeAudience
from services.assessment.rules import rule_set, severity_policy
from services.audit.bundle import write_bundle
from services.audit.chain import Verdict, verify
from services.audit.replay import replay_incident
from services.audit.report import render_report
from services.audit.time_axis import build_axis, render_axis
from services.bootstrap import Runtime, projections
from services.feeds.topics import topics_of
from services.incidents.board import Board, IncidentBoardProjection
from services.projections.schema import Projection, Table
from services.projections.sqlite_store import SQLiteViewStore, create_statements
from services.projections.store import ViewStore
from services.projections.worker import ViewSet
from services.timeline import timeline


def verify_live(rt: Runtime) -> Verdict:
    """Check the live log against the chain and its signed checkpoints."""
    return verify(rt.feed, rt.chain, rt.audit_key)


def related_ids(rt: Runtime, incident_id: UUID) -> list[UUID]:
    """The incident and every aggregate attached to it: tasks, campaigns, notices, people."""
    state = rt.app.incidents.get_incident(incident_id).state
    ids = [incident_id, *(UUID(t) for t in state.tasks)]
    for row in rt.notifications.campaigns(incident_id):
        ids.append(UUID(row["campaign_id"]))
        ids.extend(rt.notifications.notice_ids(UUID(row["campaign_id"])))
    ids.extend(UUID(r["person_id"]) for r in rt.people.of_incident(incident_id))
    return ids


def export(rt: Runtime, incident_id: UUID, out: Path) -> dict[str, Any]:
    """Write the auditor's bundle of an incident."""
    rt.gateway.current()
    incident = rt.app.incidents.get_incident(incident_id)
    events = rt.app.core.stored_events_of(related_ids(rt, incident_id))
    checkpoint = rt.chain.covering(events[-1].id)
    assert checkpoint is not None
    zone = rt.settings.zone
    now = rt.app.core.clock.now()
    replay = replay_incident(rt.app, rt.notifications, incident_id, now)
    marks = rt.app.containment.timeline_events(incident_id)
    axis = build_axis(replay, marks, zone, replayed=False)
    html = render_report(
        rt.settings.templates_dir,
        replay,
        timeline(marks, zone),
        checkpoint,
        zone,
        incident.created_on,
        now=now,
        axis=render_axis(rt.settings.templates_dir, axis, zone),
    )
    assert rt.app.templates is not None
    versions = {
        "rule_set": rule_set().rule_set,
        "severity_policy": severity_policy().version,
        "templates": {a.value: rt.app.templates.version(a) for a in NoticeAudience},
        "playbooks": {p.id: p.version for p in rt.playbooks.playbooks.values()},
    }
    return write_bundle(
        out,
        incident_id=incident_id,
        events=events,
        chain=rt.chain,
        key=rt.audit_key,
        report_html=html,
        versions=versions,
        generated_at=now,
    )


def position_at(rt: Runtime, at: datetime) -> int:
    """The end of the log as recorded at ``at``: the last event before the first one
    recorded after ``at``."""
    return settled_position_at(rt, at)[0]


SKEW_WINDOW = 500
"""Events before the moment found by halving that are read one by one: writers racing to
commit may store their events a few positions out of their clock's order."""


def settled_position_at(rt: Runtime, at: datetime) -> tuple[int, bool]:
    """:func:`position_at`, and whether it is settled: found before an event recorded after
    ``at`` (events stored later come after that one, so the answer cannot change), rather
    than at the current end of the log.

    The log's events carry the clock's time at each save, in order but for writers racing
    to commit: the moment is found by halving the log (a few dozen events decoded, not the
    whole log), then the :data:`SKEW_WINDOW` events before it are read in order."""

    def after(position: int) -> bool:
        items = rt.feed.read(position, 1)
        return not items or items[0].event.timestamp > at

    low, high = 0, rt.feed.head()
    while low < high:
        middle = (low + high) // 2
        if after(middle):
            high = middle
        else:
            low = middle + 1
    position = max(low - SKEW_WINDOW, 0)
    while True:
        items = rt.feed.read(position, 1000)
        if not items:
            return position, False
        for item in items:
            if item.event.timestamp > at:
                return position, True
            position = item.position


REPLAY_BATCH = 1_000
"""Events read from the log at a time when views are rebuilt into a scratch store."""


def build_views(
    rt: Runtime,
    directory: Path,
    stop: int | None = None,
    chosen: Sequence[Projection] | None = None,
) -> SQLiteViewStore:
    """Views rebuilt from the log (up to ``stop``) into a scratch file: every view, or the
    ``chosen`` ones. Only the events they handle are read (the log's topic index skips the
    others in the database)."""
    chosen = list(chosen) if chosen is not None else projections()
    store = SQLiteViewStore(directory / "views.db", chosen)
    store.create_table()
    views = ViewSet(store, chosen)
    topics = topics_of(cls for p in chosen for cls in p.handles)
    end = rt.feed.head() if stop is None else stop
    at = 0
    while at < end:
        items, reached = rt.feed.read_topics(at, REPLAY_BATCH, topics, end)
        if items:
            views.process(items, at)
        if reached <= at:
            break
        at = reached
    return store


def board_as_of(rt: Runtime, at: datetime) -> tuple[int, list[dict[str, Any]]]:
    """The incident board as it was at ``at`` (rebuilt in a temporary store)."""
    stop = position_at(rt, at)
    return stop, board_at(rt, stop)


def board_at(rt: Runtime, stop: int) -> list[dict[str, Any]]:
    """The incident board as it was once the log ended at position ``stop`` (rebuilt in a
    temporary store)."""
    with tempfile.TemporaryDirectory(prefix="breach-replay-") as tmp:
        store = build_views(rt, Path(tmp), stop, [IncidentBoardProjection()])
        try:
            return Board(store).rows()
        finally:
            store.close()


def check_views(rt: Runtime) -> dict[str, dict[str, int]]:
    """Rebuild every view in a scratch store and compare it with the live one; return the
    tables that differ with how many rows are missing from or extra in the live view.

    The live views are copied first (each table read in one snapshot, a page at a time)
    into a scratch file beside the rebuilt one, and the two are compared by SQLite: a
    check of views holding a million people holds a page of them in memory, not all.

    With Kafka the worker processes keep the live views (tracked per partition): wait for
    them to reach the head instead of applying the log to the live views from here."""
    if rt.pipeline is not None:
        rt.pipeline.wait_views(rt.feed.head(), timeout=60.0)
    else:
        rt.views.catch_up()
    head = rt.feed.head()
    tables = [t for p in projections() for t in p.tables]
    with tempfile.TemporaryDirectory(prefix="breach-check-") as tmp:
        folder = Path(tmp)
        live = folder / "live.db"
        copy_tables(rt.views.store, tables, live)
        build_views(rt, folder, head).close()
        return compare_tables(folder / "views.db", live, tables)


def copy_tables(store: ViewStore, tables: Sequence[Table], path: Path) -> None:
    """Copy the rows of ``tables`` from ``store`` into the SQLite file ``path``."""
    db = sqlite3.connect(path)
    try:
        for table in tables:
            columns = list(table.columns)
            for statement in create_statements(table):
                db.execute(statement)
            insert = (
                f"INSERT INTO {_name(table.name)} ({', '.join(map(_name, columns))}) "
                f"VALUES ({', '.join('?' for _ in columns)})"
            )
            for page in store.scan(
                f"SELECT {', '.join(map(_name, columns))} FROM {_name(table.name)}"
            ):
                db.executemany(insert, [tuple(row[c] for c in columns) for row in page])
            db.commit()
    finally:
        db.close()


def compare_tables(rebuilt: Path, live: Path, tables: Sequence[Table]) -> dict[str, dict[str, int]]:
    """The tables whose rows differ between two SQLite files of views: how many rows of
    the ``rebuilt`` one the ``live`` one lacks (or holds otherwise), and how many it holds
    beyond. Rows are matched by key and equal when every column is (NULL equal to NULL)."""
    db = sqlite3.connect(rebuilt)
    try:
        db.execute("ATTACH DATABASE ? AS live", [str(live)])
        differences = {}
        for table in tables:
            name = _name(table.name)
            joined = " AND ".join(f"r.{_name(k)} = l.{_name(k)}" for k in table.key)
            same = " AND ".join(f"r.{_name(c)} IS l.{_name(c)}" for c in table.columns)
            (rebuilt_rows,) = db.execute(f"SELECT COUNT(*) FROM main.{name}").fetchone()
            (live_rows,) = db.execute(f"SELECT COUNT(*) FROM live.{name}").fetchone()
            (equal,) = db.execute(
                f"SELECT COUNT(*) FROM main.{name} r JOIN live.{name} l ON {joined} WHERE {same}"
            ).fetchone()
            if equal != rebuilt_rows or equal != live_rows:
                differences[table.name] = {
                    "missing_from_live": rebuilt_rows - equal,
                    "extra_in_live": live_rows - equal,
                }
        return differences
    finally:
        db.close()


def _name(identifier: str) -> str:
    """An identifier quoted for SQL (a view's column may be a keyword: ``row``)."""
    return f'"{identifier}"'
