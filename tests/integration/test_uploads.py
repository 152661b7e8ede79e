"""Where uploaded people files wait: a private folder of <data_dir>/uploads per upload,
removed after its import; folders a dead process left are removed at the next start, those
of an upload still in progress in another process are not."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from services.bootstrap import bootstrap
from services.config import Settings
from tests.support.clocks import ManualClock

pytestmark = pytest.mark.sqlite_only

HOLD_AN_UPLOAD = textwrap.dedent(
    """
    import os, sys
    from services.bootstrap import bootstrap
    from services.config import Settings

    rt = bootstrap(Settings(data_dir=sys.argv[1]), configure_logs=False)
    upload = rt.uploads.new()
    (upload.folder / "people.csv").write_text("email\\nzelda@planted.example.net\\n")
    print(upload.folder, flush=True)
    if sys.argv[2] == "crash":
        os._exit(9)
    sys.stdin.readline()
    upload.close()
    print("closed", flush=True)
    """
)


def hold(data_dir: Path, how: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", HOLD_AN_UPLOAD, str(data_dir), how],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_an_upload_left_by_a_crashed_process_is_removed_at_the_next_start(
    settings: Settings, clock: ManualClock
) -> None:
    """A process dies with an upload in its folder: the next start removes the folder."""
    proc = hold(settings.data_dir, "crash")
    assert proc.stdout is not None
    folder = Path(proc.stdout.readline().strip())
    assert proc.wait(timeout=30) == 9
    assert folder.parent == settings.data_dir / "uploads"
    assert (folder / "people.csv").exists()
    rt = bootstrap(settings, clock=clock, configure_logs=False)
    try:
        assert not folder.exists()
        assert list((settings.data_dir / "uploads").iterdir()) == []
    finally:
        rt.close()


def test_a_stray_folder_in_the_upload_area_is_removed_at_start(
    settings: Settings, clock: ManualClock
) -> None:
    """A folder with no lock (left by a crash as it was being made) is removed too once it
    is a minute old."""
    stray = settings.data_dir / "uploads" / "upload-stray"
    stray.mkdir(parents=True)
    (stray / "people.csv").write_text("email\nzelda@planted.example.net\n")
    old = time.time() - 3600
    os.utime(stray, (old, old))
    rt = bootstrap(settings, clock=clock, configure_logs=False)
    try:
        assert not stray.exists()
    finally:
        rt.close()


def test_an_upload_in_progress_elsewhere_survives_another_process_starting(
    settings: Settings, clock: ManualClock
) -> None:
    """While another process still imports from its folder, a process starting on the same
    data directory leaves it alone; the owner removes it when done."""
    proc = hold(settings.data_dir, "wait")
    assert proc.stdout is not None
    assert proc.stdin is not None
    folder = Path(proc.stdout.readline().strip())
    rt = bootstrap(settings, clock=clock, configure_logs=False)
    try:
        assert (folder / "people.csv").exists()
    finally:
        rt.close()
    proc.stdin.write("done\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == "closed"
    assert proc.wait(timeout=30) == 0
    assert not folder.exists()
