"""Reading people files (CSV or JSON Lines) as a stream of rows, checked before anything is
imported: size, encoding and, for CSV, the header."""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.application.errors import InvalidInput

REQUIRED_COLUMNS = ("email", "name", "language", "jurisdiction")
KNOWN_COLUMNS = (*REQUIRED_COLUMNS, "reference")
CHUNK = 1 << 20

Progress = Callable[[int, int], None]
"""Called with (bytes read, bytes in all)."""


@dataclass(frozen=True)
class Row:
    """One data row: its 1-based number in the file (header excluded), its fields, and why
    it cannot be read (``problem``, in our words; then ``fields`` is empty)."""

    number: int
    fields: dict[str, Any]
    problem: str | None = None


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise InvalidInput("file", "use .csv or .jsonl (JSON Lines)")


def check_file(path: Path, max_bytes: int) -> int:
    """Check the file exists, is within the size limit and is UTF-8; return its size."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InvalidInput("file", "does not exist") from None
    if not path.is_file():
        raise InvalidInput("file", "is not a file")
    if size > max_bytes:
        raise InvalidInput(
            "file",
            f"is {size / 2**20:,.0f} MiB, over the import limit of "
            f"{max_bytes / 2**20:,.0f} MiB; split it or raise BREACH_IMPORT_MAX_BYTES",
        )
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    line = 1
    try:
        with path.open("rb") as f:
            while chunk := f.read(CHUNK):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as e:
                    bad = offset + e.start
                    line += chunk[: e.start].count(b"\n")
                    msg = f"is not UTF-8 (invalid byte at offset {bad}, line {line})"
                    raise InvalidInput("file", msg) from None
                offset += len(chunk)
                line += chunk.count(b"\n")
            decoder.decode(b"", final=True)
    except PermissionError:
        raise InvalidInput("file", "cannot be read (permission denied)") from None
    except UnicodeDecodeError:
        raise InvalidInput("file", "is not UTF-8 (truncated at the end)") from None
    return size


class _Counting(io.RawIOBase):
    """Counts bytes read from a binary file for progress reporting."""

    def __init__(self, raw: io.BufferedReader, progress: Progress | None, total: int) -> None:
        self.raw = raw
        self.read_bytes = 0
        self.progress = progress
        self.total = total

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)
        self.read_bytes += n or 0
        if self.progress is not None:
            self.progress(self.read_bytes, self.total)
        return n or 0


def read_rows(path: Path, *, max_bytes: int, progress: Progress | None = None) -> Iterator[Row]:
    """Yield the rows of a CSV or JSON Lines file, streamed (never the whole file in memory)."""
    kind = _format(path)
    total = check_file(path, max_bytes)
    with path.open("rb") as raw:
        counted = io.BufferedReader(_Counting(raw, progress, total), buffer_size=CHUNK)
        text = io.TextIOWrapper(counted, encoding="utf-8-sig", newline="")
        if kind == "csv":
            yield from _csv_rows(text)
        else:
            yield from _jsonl_rows(text)


def _csv_rows(text: io.TextIOWrapper) -> Iterator[Row]:
    reader = csv.DictReader(text, strict=True)
    try:
        header = reader.fieldnames
    except csv.Error:
        raise InvalidInput("file", "the header is not valid CSV") from None
    if not header:
        raise InvalidInput("file", "is empty")
    columns = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise InvalidInput("file", f"the header lacks the column(s) {', '.join(missing)}")
    repeated = [i for i, c in enumerate(columns, start=1) if c in columns[: i - 1]]
    if repeated:
        first = columns.index(columns[repeated[0] - 1]) + 1
        raise InvalidInput(
            "file", f"columns {first} and {repeated[0]} of the header have the same name"
        )
    reader.fieldnames = columns
    number = 0
    try:
        for record in reader:
            number += 1
            extra = record.pop(None, None)
            if extra:
                yield Row(number, {}, "more values than columns")
                continue
            yield Row(number, dict(record))
    except csv.Error:
        raise InvalidInput("file", f"line {reader.line_num} is not valid CSV") from None


def _jsonl_rows(text: io.TextIOWrapper) -> Iterator[Row]:
    number = 0
    for line in text:
        if not line.strip():
            continue
        number += 1
        try:
            value = json.loads(line)
        except json.JSONDecodeError as e:
            yield Row(number, {}, f"not valid JSON ({e.msg})")
            continue
        if not isinstance(value, dict):
            yield Row(number, {}, "each line must be a JSON object")
            continue
        yield Row(number, {str(k).strip().lower(): v for k, v in value.items()})
