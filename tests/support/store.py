"""Looking at a data directory the way an auditor would: straight at the SQLite files."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def count_events(data_dir: Path) -> int:
    """How many events are stored under ``data_dir`` (0 when there is no store yet)."""
    path = Path(data_dir) / "events.db"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        try:
            return int(db.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0])
        except sqlite3.OperationalError:
            return 0
