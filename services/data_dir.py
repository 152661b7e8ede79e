"""The data directory is private to the account breachledger runs as.

Every process passes through :func:`make_private` before it opens anything there: the
process's umask gains 077 (so every database, write-ahead log, secret, mailbox message and
upload created afterwards is 0600, every folder 0700), the directory is created 0700, files
and folders an older version left readable by others are tightened (said in one log line),
and a directory that group or others may write to is refused: whoever can write there
could have planted or swapped the stores, so nothing is opened or created in it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import structlog

from services.application.errors import InvalidInput

log = structlog.get_logger()

SETTING = "BREACH_DATA_DIR"
PRIVATE = 0o077
"""Permission bits of group and others."""


def make_private(data_dir: Path) -> int:
    """Make ``data_dir`` (and what is in it) private, creating it if needed; refuse one that
    group or others may write to. Return how many paths had to be tightened."""
    os.umask(os.umask(PRIVATE) | PRIVATE)
    try:
        found = data_dir.stat()
    except FileNotFoundError:
        try:
            data_dir.mkdir(mode=0o700, parents=True)
        except OSError as e:
            raise InvalidInput(SETTING, f"{data_dir} cannot be created: {_reason(e)}") from None
        return 0
    except OSError as e:
        raise InvalidInput(SETTING, f"{data_dir} cannot be read: {_reason(e)}") from None
    if not stat.S_ISDIR(found.st_mode):
        raise InvalidInput(SETTING, f"{data_dir} is not a directory")
    mode = stat.S_IMODE(found.st_mode)
    if mode & 0o022:
        who = (
            "group and others"
            if mode & 0o022 == 0o022
            else ("its group" if mode & 0o020 else "others")
        )
        raise InvalidInput(
            SETTING,
            f"the data directory {data_dir} may be written by {who} (mode {mode:o}); "
            f"refusing to use it: make it private first (chmod 700 {data_dir})",
        )
    return _tighten(data_dir)


def _reason(error: OSError) -> str:
    """What the operating system said, in lower case, without the path it repeats."""
    return (error.strerror or type(error).__name__).lower()


def _tighten(data_dir: Path) -> int:
    """Take group and other bits off every file and folder under ``data_dir`` (symbolic
    links are left alone), the directory itself last; return how many changed."""
    changed = 0
    failed = 0
    paths: list[Path] = []
    for folder, dirs, files in os.walk(data_dir):
        base = Path(folder)
        paths.extend(base / name for name in (*files, *dirs))
    for path in [*paths, data_dir]:
        try:
            found = path.lstat()
        except FileNotFoundError:
            continue
        mode = stat.S_IMODE(found.st_mode)
        if stat.S_ISLNK(found.st_mode) or not mode & PRIVATE:
            continue
        try:
            path.chmod(mode & ~PRIVATE)
        except OSError:
            failed += 1
            continue
        changed += 1
    if changed:
        log.warning("data_dir.tightened", paths=changed)
    if failed:
        log.warning("data_dir.not_tightened", paths=failed)
    return changed
