"""Where an uploaded people file waits while it is imported (the API's and the dashboard's
imports): a private temporary folder, the file readable by this process only, and the
import's rejections report read back (row, field, reason; never the values)."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from services.people.handlers import ImportReport
from services.people.validation import Rejection

TEMP_PREFIX = "breach-import-"
"""Prefix of the temporary folders uploads wait in (removed after each import)."""


def temporary_folder() -> Path:
    """A new private temporary folder for one upload."""
    return Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))


def open_private(path: Path) -> BinaryIO:
    """A new file at ``path`` for writing, readable by this process only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(fd, "wb")


def read_rejections(report: ImportReport) -> Iterator[Rejection]:
    """The rejected rows an import wrote to its rejections file, in row order."""
    if report.rejections_file is None:
        return
    with Path(report.rejections_file).open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader, None)
        for row, field, reason in reader:
            yield Rejection(int(row), field, reason)
