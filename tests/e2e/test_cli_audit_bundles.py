"""Checking a damaged auditor's bundle with the real ``breach`` command, offline as an
auditor runs it and on the ledger's own data directory: exit status 5, one line naming what
failed, and never the audit key nor a dump of the program's variables."""

from __future__ import annotations

import base64
import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli, Result


def rewritten(source: Path, out: Path, change: Callable[[dict[str, bytes]], None]) -> Path:
    """A well-formed zip with the members of ``source`` as ``change`` leaves them."""
    with zipfile.ZipFile(source) as z:
        members = {name: z.read(name) for name in z.namelist()}
    change(members)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out


def flipped(source: Path, out: Path, member: str) -> Path:
    """The zip with one byte of ``member``'s stored data inverted (its CRC no longer holds)."""
    data = bytearray(source.read_bytes())
    with zipfile.ZipFile(source) as z:
        info = z.getinfo(member)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF
    out.write_bytes(bytes(data))
    return out


def damaged(bundle: Path, where: Path) -> dict[str, tuple[Path, str]]:
    """Every way a bundle is spoilt here, with the words its failure line must hold."""
    whole = bundle.read_bytes()
    (where / "not-a-zip.zip").write_bytes(b"this is not a bundle\n" * 50)
    (where / "truncated.zip").write_bytes(whole[: len(whole) // 2])

    def drop(members: dict[str, bytes]) -> None:
        del members["manifest.sig"]

    def resign(members: dict[str, bytes]) -> None:
        members["manifest.sig"] = b"0" * 64

    def edit(members: dict[str, bytes]) -> None:
        members["events.jsonl"] = members["events.jsonl"].replace(b"Lost", b"Lust", 1)

    return {
        "not a zip": (where / "not-a-zip.zip", "not a .zip bundle"),
        "truncated": (where / "truncated.zip", "not a .zip bundle"),
        "member flipped": (flipped(bundle, where / "flipped.zip", "events.jsonl"), "events.jsonl"),
        "report flipped": (flipped(bundle, where / "report.zip", "report.html"), "report.html"),
        "member edited": (rewritten(bundle, where / "edited.zip", edit), "events.jsonl"),
        "member missing": (rewritten(bundle, where / "missing.zip", drop), "manifest.sig"),
        "bad signature": (rewritten(bundle, where / "signed.zip", resign), "manifest.sig"),
    }


def key_forms(key: bytes) -> list[str]:
    """The audit key as it could show up in output (also the first bytes of each form, as a
    renderer that cuts long values would show them)."""
    forms = [
        key.hex(),
        base64.b64encode(key).decode(),
        base64.urlsafe_b64encode(key).decode(),
        repr(key),
        repr(key)[2:-1],
    ]
    return forms + [f[:16] for f in forms]


def assert_one_clean_line(result: Result, key: bytes, words: str) -> None:
    """Exit 5; one line on stderr naming what failed; nothing on stdout; no key, no frame."""
    assert result.code == 5, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("breach: error: verification failed"), lines[0]
    assert words in lines[0], lines[0]
    assert result.out == ""
    both = result.out + result.err
    for form in key_forms(key):
        assert form not in both
    for frame_word in ("locals", "Traceback", 'File "', "self ="):
        assert frame_word not in both


@pytest.fixture
def exported(cli: Cli, tmp_path: Path) -> tuple[Path, bytes]:
    """A bundle of one incident, and the audit key of its ledger."""
    incident = cli.ok("report", "--title", "Lost laptop", "--discovered-at", "now").out.strip()
    cli.ok("note", incident[:8], "encrypted disk, key held by IT")
    bundle = tmp_path / "bundle.zip"
    cli.ok("audit", "export", incident[:8], "--out", str(bundle))
    key = base64.b64decode((cli.data_dir / "secrets" / "audit.key").read_text().strip())
    return bundle, key


def test_each_damaged_bundle_fails_with_status_5_offline(
    exported: tuple[Path, bytes], tmp_path: Path
) -> None:
    """Offline (only BREACH_AUDIT_KEY, no ledger): not a zip, truncated, a member's bytes
    flipped, a member edited, a member missing, a bad signature: each exits 5 with one line."""
    bundle, key = exported
    auditor = Cli(tmp_path / "auditor-has-no-ledger")
    auditor.env["BREACH_AUDIT_KEY"] = base64.b64encode(key).decode()
    assert auditor.ok("audit", "verify", str(bundle)).out.startswith("verified:")
    for path, words in damaged(bundle, tmp_path).values():
        result = auditor("audit", "verify", str(path))
        assert_one_clean_line(result, key, words)


def test_each_damaged_bundle_fails_with_status_5_on_the_ledger(
    cli: Cli, exported: tuple[Path, bytes], tmp_path: Path
) -> None:
    """Damage checked where the ledger's own key is (its data directory): not a zip, a
    member's bytes flipped, a bad signature."""
    bundle, key = exported
    cases = damaged(bundle, tmp_path)
    for case in ("not a zip", "member flipped", "bad signature"):
        path, words = cases[case]
        assert_one_clean_line(cli("audit", "verify", str(path)), key, words)


def test_a_bundle_checked_with_another_key_fails_with_status_5(
    exported: tuple[Path, bytes], tmp_path: Path
) -> None:
    """The wrong key: exit 5, one line naming the signature; neither key is printed."""
    bundle, key = exported
    other = os.urandom(32)
    auditor = Cli(tmp_path / "auditor")
    auditor.env["BREACH_AUDIT_KEY"] = base64.b64encode(other).decode()
    result = auditor("audit", "verify", str(bundle))
    assert_one_clean_line(result, key, "manifest.sig")
    assert_one_clean_line(result, other, "manifest.sig")


def test_a_failed_verdict_in_json_exits_5_and_prints_the_verdict(
    exported: tuple[Path, bytes], tmp_path: Path, cli: Cli
) -> None:
    """With --json a failed verdict is printed on stdout and the status is still 5."""
    bundle, _ = exported
    missing = damaged(bundle, tmp_path)["member missing"][0]
    result = cli("audit", "verify", str(missing), "--json")
    assert result.code == 5
    assert result.json()["ok"] is False
    assert "manifest.sig is missing" in result.json()["problems"]


def test_a_directory_bundle_with_a_member_missing_fails_with_status_5(
    cli: Cli, exported: tuple[Path, bytes], tmp_path: Path
) -> None:
    """A bundle written as a directory, one file removed: exit 5 naming it."""
    bundle, key = exported
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(io.BytesIO(bundle.read_bytes())) as z:
        z.extractall(folder)
    (folder / "chain.jsonl").unlink()
    assert_one_clean_line(cli("audit", "verify", str(folder)), key, "chain.jsonl")
