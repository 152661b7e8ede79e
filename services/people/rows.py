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
    """One data row: its 1-based number in the file (header excluded) and its fields."""

    number: int
    fields: dict[str, Any]


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise InvalidInput("file", f"{path.name}: use .csv or .jsonl (JSON Lines)")


def check_file(path: Path, max_bytes: int) -> int:
    """Check the file exists, is within the size limit and is UTF-8; return its size."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InvalidInput("file", f"{path} does not exist") from None
    if not path.is_file():
        raise InvalidInput("file", f"{path} is not a file")
    if size > max_bytes:
        raise InvalidInput(
            "file",
            f"{path.name} is {size / 2**20:,.0f} MiB, over the import limit of "
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
                    msg = f"{path.name} is not UTF-8 (invalid byte at offset {bad}, line {line})"
                    raise InvalidInput("file", msg) from None
                offset += len(chunk)
                line += chunk.count(b"\n")
            decoder.decode(b"", final=True)
    except PermissionError:
        raise InvalidInput("file", f"{path} cannot be read (permission denied)") from None
    except UnicodeDecodeError:
        raise InvalidInput("file", f"{path.name} is not UTF-8 (truncated at the end)") from None
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
            yield from _csv_rows(path, text)
        else:
            yield from _jsonl_rows(path, text)


def _csv_rows(path: Path, text: io.TextIOWrapper) -> Iterator[Row]:
    reader = csv.DictReader(text, strict=True)
    try:
        header = reader.fieldnames
    except csv.Error as e:
        raise InvalidInput("file", f"{path.name}: the header is not valid CSV ({e})") from None
    if not header:
        raise InvalidInput("file", f"{path.name} is empty")
    columns = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise InvalidInput(
            "file", f"{path.name}: the header lacks the column(s) {', '.join(missing)}"
        )
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise InvalidInput("file", f"{path.name}: column {duplicates[0]!r} appears twice")
    reader.fieldnames = columns
    number = 0
    try:
        for record in reader:
            number += 1
            extra = record.pop(None, None)
            fields: dict[str, Any] = dict(record)
            if extra:
                fields["__extra__"] = extra
            yield Row(number, fields)
    except csv.Error as e:
        raise InvalidInput("file", f"{path.name}: line {reader.line_num}: {e}") from None


def _jsonl_rows(path: Path, text: io.TextIOWrapper) -> Iterator[Row]:
    number = 0
    for line in text:
        if not line.strip():
            continue
        number += 1
        try:
            value = json.loads(line)
        except json.JSONDecodeError as e:
            yield Row(number, {"__error__": f"not valid JSON ({e.msg})"})
            continue
        if not isinstance(value, dict):
            yield Row(number, {"__error__": "each line must be a JSON object"})
            continue
        yield Row(number, {str(k).strip().lower(): v for k, v in value.items()})
