"""The dispatcher's page of due notices on SQLite: walked in id order from the cursor, so a
page costs the rows it passes, however many notices a campaign queued."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

from services.notifications.views import NoticeQueueView, NotificationsProjection
from services.projections.schema import Row
from services.projections.sqlite_store import SQLiteViewStore

NOW = datetime(2026, 12, 1, tzinfo=UTC)


class Recording:
    """A view store that notes the statements it is asked (and answers them)."""

    def __init__(self, store: SQLiteViewStore) -> None:
        self.store = store
        self.asked: list[tuple[str, list[Any]]] = []

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self.asked.append((sql, list(params)))
        return self.store.query(sql, params)


def test_a_page_of_due_notices_walks_ids_from_the_cursor_without_sorting(
    tmp_path: Path,
) -> None:
    """With thousands of queued notices, the page query reads the notices by id from the
    cursor and stops at the limit (no sort of every queued notice), and pages through them
    in id order, skipping notices that are not due."""
    path = tmp_path / "views.db"
    store = SQLiteViewStore(path, [NotificationsProjection()])
    store.create_table()
    campaign, incident = str(uuid4()), str(uuid4())
    ids = sorted(str(uuid4()) for _ in range(3_000))
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO campaigns (campaign_id, incident_id, audience, status, "
            "template_version, drafted_by, created_at, last_change_at) "
            "VALUES (?, ?, 'people', 'dispatching', 'v1', 'a', 'x', 'x')",
            [campaign, incident],
        )
        db.executemany(
            "INSERT INTO notices (notice_id, campaign_id, incident_id, language, fallback, "
            "status, attempts, version) VALUES (?, ?, ?, 'en', 0, ?, 0, 1)",
            [
                (n, campaign, incident, "sent" if i % 3 == 0 else "queued")
                for i, n in enumerate(ids)
            ],
        )
    recording = Recording(store)
    queue = NoticeQueueView(recording)  # type: ignore[arg-type]
    first = queue.due(NOW, 100)
    second = queue.due(NOW, 100, after=str(first[-1].id))
    queued = [n for i, n in enumerate(ids) if i % 3]
    assert [str(n.id) for n in first + second] == queued[:200]
    sql, params = recording.asked[0]
    plan = " ".join(str(r["detail"]) for r in store.query(f"EXPLAIN QUERY PLAN {sql}", params))
    assert "TEMP B-TREE" not in plan
    assert "notices_1 (notice_id>?)" in plan
    store.close()
