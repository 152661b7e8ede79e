"""Where an uploaded people file waits while it is imported (the API's and the dashboard's
imports): a private folder of its own under ``<data_dir>/uploads`` (0700, the file 0600),
removed as soon as the import is answered, whatever happened; and the import's rejections
report read back (row, field, reason; never the values).

A folder is held by an exclusive lock (``flock``) on its ``.lock`` file for as long as its
upload is in use. A process that dies mid-import releases the lock with it, so the next
process to start on the data directory (any of them: every start sweeps) removes what it
left, while the folders of uploads still in progress in other processes stay.
"""

from __future__ import annotations

import csv
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import structlog

from services.people.handlers import ImportReport
from services.people.validation import Rejection

log = structlog.get_logger()

PREFIX = "upload-"
"""Prefix of the folders uploads wait in."""
LOCK = ".lock"
STRAY_AFTER = 60.0
"""Seconds after which a folder without a lock file (its maker died before locking it) is
removed."""


class Upload:
    """One upload's private folder, locked while in use; :meth:`close` removes it."""

    def __init__(self, folder: Path, lock: int) -> None:
        self.folder = folder
        self._lock: int | None = lock

    def close(self) -> None:
        """Remove the folder and everything in it, then release the lock (idempotent)."""
        if self._lock is None:
            return
        shutil.rmtree(self.folder, ignore_errors=True)
        os.close(self._lock)
        self._lock = None

    def __enter__(self) -> Upload:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Uploads:
    """The upload area of a data directory: ``<data_dir>/uploads``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def new(self) -> Upload:
        """A new private folder for one upload, locked until the upload is closed."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        while True:
            folder = Path(tempfile.mkdtemp(prefix=PREFIX, dir=self.directory))
            lock = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if os.stat(folder / LOCK).st_ino == os.fstat(lock).st_ino:
                    return Upload(folder, lock)
            except FileNotFoundError:
                pass
            # A sweep took the folder between its creation and the lock: make another.
            os.close(lock)

    def sweep(self) -> int:
        """Remove the folders of uploads whose process is gone; return how many."""
        try:
            entries = list(self.directory.iterdir())
        except FileNotFoundError:
            return 0
        removed = 0
        for entry in entries:
            if self._remove_if_left(entry):
                removed += 1
        if removed:
            log.info("uploads.swept", folders=removed)
        return removed

    def _remove_if_left(self, entry: Path) -> bool:
        if entry.is_symlink() or not entry.is_dir():
            entry.unlink(missing_ok=True)
            return True
        try:
            lock = os.open(entry / LOCK, os.O_RDONLY)
        except FileNotFoundError:
            if time.time() - entry.lstat().st_mtime < STRAY_AFTER:
                return False
            shutil.rmtree(entry, ignore_errors=True)
            return True
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            shutil.rmtree(entry, ignore_errors=True)
            return True
        finally:
            os.close(lock)


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
