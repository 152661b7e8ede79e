"""Writing people files for import tests."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "de", "fr", "zh-CN")
PLACES = ("DE", "FR", "GB", "CN")


def person(i: int) -> dict[str, Any]:
    """The i-th candidate of a careers portal."""
    return {
        "email": f"candidate{i}@applicants.example.org",
        "name": f"Candidate Number{i}",
        "language": LANGUAGES[i % 4],
        "jurisdiction": PLACES[i % 4],
        "reference": f"APP-{i:06d}",
        "position": "Backend engineer",
    }


def write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str] | None = None) -> Path:
    """Write rows as CSV with a header."""
    columns = columns or list(rows[0])
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write rows as JSON Lines."""
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
