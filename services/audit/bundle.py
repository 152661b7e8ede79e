"""The auditor's bundle: an incident's stored events, the chain links and checkpoint that
cover them, a signed manifest and a readable report, verifiable offline with the audit key.

Layout (a directory, or the same files in a .zip):

- ``events.jsonl``: the incident's stored events (its own, its tasks', campaigns', notices'
  and people's), one per line in log order, exactly as stored (personal data sealed);
- ``chain.jsonl``: every link from the first bundled position to the covering checkpoint
  (digests only for events not in the bundle, so nothing else is disclosed);
- ``manifest.json``: versions, the bundled positions, the checkpoint, and each file's hash;
- ``manifest.sig``: an HMAC of the manifest with the audit key;
- ``report.html``: the human report.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, ValidationError

from events.canonical import Form, canonical_json
from services.audit.chain import ChainStore, event_digest, next_link, sign

FORMAT = "breachledger-audit-bundle/1"
FILES = ("events.jsonl", "chain.jsonl", "report.html")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def event_line(n: Any) -> dict[str, Any]:
    """One stored event as a bundle line (the stored bytes kept exactly)."""
    state: bytes = n.state
    try:
        text, encoding = state.decode("utf-8"), "utf-8"
        json.loads(text)
    except (UnicodeDecodeError, ValueError):
        text, encoding = base64.b64encode(state).decode("ascii"), "base64"
    oid = n.originator_id.hex if hasattr(n.originator_id, "hex") else str(n.originator_id)
    return {
        "position": n.id,
        "originator_id": oid,
        "originator_version": n.originator_version,
        "topic": n.topic,
        "state": text,
        "state_encoding": encoding,
    }


def _line_digest(line: dict[str, Any]) -> str:
    raw = (
        line["state"].encode()
        if line["state_encoding"] == "utf-8"
        else base64.b64decode(line["state"])
    )
    return event_digest(
        line["position"], line["originator_id"], line["originator_version"], line["topic"], raw
    )


class BundleError(ValueError):
    """A bundle cannot be written or read."""


def write_bundle(
    out: Path,
    *,
    incident_id: UUID,
    events: list[Any],
    chain: ChainStore,
    key: bytes,
    report_html: str,
    versions: dict[str, Any],
    generated_at: datetime,
) -> dict[str, Any]:
    """Write a bundle (its manifest dated ``generated_at``) to a directory, or to a .zip
    file when ``out`` ends in .zip."""
    if not events:
        raise BundleError("the incident has no stored events")
    first, last = events[0].id, events[-1].id
    checkpoint = chain.covering(last)
    if checkpoint is None:
        raise BundleError("no checkpoint covers the incident's last event yet; run any command")
    start_link = chain.link_at(first - 1)
    if start_link is None:
        raise BundleError(f"the chain has no link at position {first - 1}")
    links = chain.links(first, checkpoint.position)
    files: dict[str, bytes] = {
        "events.jsonl": b"".join(
            canonical_json(event_line(n), Form.COMPACT) + b"\n" for n in events
        ),
        "chain.jsonl": b"".join(
            canonical_json({"position": p, "digest": d, "link": lk}, Form.COMPACT) + b"\n"
            for p, d, lk in links
        ),
        "report.html": report_html.encode(),
    }
    try:
        version = metadata.version("breachledger")
    except metadata.PackageNotFoundError:
        version = "unknown"
    manifest = {
        "format": FORMAT,
        "generated_at": generated_at.isoformat(),
        "breachledger": version,
        "incident_id": str(incident_id),
        "versions": versions,
        "positions": [n.id for n in events],
        "start_link": start_link,
        "checkpoint": {
            "position": checkpoint.position,
            "link": checkpoint.link,
            "signature": checkpoint.signature,
            "at": checkpoint.at,
        },
        "files": {name: _sha(data) for name, data in files.items()},
    }
    manifest_bytes = canonical_json(manifest, Form.INDENTED)
    files["manifest.json"] = manifest_bytes
    files["manifest.sig"] = hmac.new(key, manifest_bytes, hashlib.sha256).hexdigest().encode()
    if out.suffix == ".zip":
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in files.items():
                z.writestr(name, data)
    else:
        out.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (out / name).write_bytes(data)
    return manifest


@dataclass
class BundleVerdict:
    """The result of checking a bundle."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    first_bad_position: int | None = None
    events: int = 0
    checkpoint: int | None = None


class _Checkpoint(BaseModel):
    """The signed checkpoint a manifest names."""

    model_config = ConfigDict(strict=True)

    position: int
    link: str
    signature: str


class _Manifest(BaseModel):
    """The parts of a manifest the check reads."""

    model_config = ConfigDict(strict=True)

    positions: list[int]
    start_link: str
    checkpoint: _Checkpoint
    files: dict[str, str]


class _ChainRow(BaseModel):
    """One line of chain.jsonl."""

    model_config = ConfigDict(strict=True)

    position: int
    digest: str
    link: str


class _EventLine(BaseModel):
    """One line of events.jsonl."""

    model_config = ConfigDict(strict=True)

    position: int
    originator_id: str
    originator_version: int
    topic: str
    state: str
    state_encoding: Literal["utf-8", "base64"]


_UNREADABLE = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
    ValueError,
)
"""What reading a damaged (or unsupported) member of a .zip raises."""


def unpacked_size(path: Path) -> int:
    """How many bytes the members of the .zip at ``path`` say they unpack to (checked
    before anything is unpacked); BundleError when it is no readable .zip."""
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(i.file_size for i in archive.infolist())
    except _UNREADABLE:
        raise BundleError("not a .zip bundle") from None


def _read(path: Path) -> tuple[dict[str, bytes], list[str]]:
    """The bundle's files (only those a bundle has; anything else is not read) and the
    names of those present but damaged; BundleError when ``path`` is no bundle at all."""
    names = ("manifest.json", "manifest.sig", *FILES)
    if path.is_dir():
        return {n: (path / n).read_bytes() for n in names if (path / n).is_file()}, []
    try:
        if not zipfile.is_zipfile(path):
            raise BundleError("not a .zip bundle nor a bundle directory")
        archive = zipfile.ZipFile(path)
    except _UNREADABLE:
        raise BundleError("not a .zip bundle: it is damaged or truncated") from None
    files: dict[str, bytes] = {}
    damaged: list[str] = []
    with archive:
        present = set(archive.namelist())
        for name in names:
            if name not in present:
                continue
            try:
                files[name] = archive.read(name)
            except _UNREADABLE:
                damaged.append(name)
    return files, damaged


def verify_bundle(path: Path, key: bytes) -> BundleVerdict:
    """Check a bundle offline: the manifest's signature, every file's hash, every event
    against the chain, the chain's links, and the checkpoint's signature. A bundle that is
    not a bundle directory nor a readable .zip raises BundleError; every other fault (a
    damaged, missing, altered or malformed file, a wrong key) is a problem of the verdict."""
    files, damaged = _read(path)
    verdict = BundleVerdict(ok=True)

    def bad(problem: str, position: int | None = None) -> None:
        verdict.ok = False
        verdict.problems.append(problem)
        if position is not None and verdict.first_bad_position is None:
            verdict.first_bad_position = position

    for name in damaged:
        bad(f"{name} is damaged: it cannot be unpacked from the .zip")
    for name in ("manifest.json", "manifest.sig", *FILES):
        if name not in files and name not in damaged:
            bad(f"{name} is missing")
    if not verdict.ok:
        return verdict
    manifest_bytes = files["manifest.json"]
    expected_sig = hmac.new(key, manifest_bytes, hashlib.sha256).hexdigest()
    signature = files["manifest.sig"].decode("ascii", "replace").strip()
    if not hmac.compare_digest(signature.encode(), expected_sig.encode()):
        bad("manifest.sig does not match: the manifest was altered, or the key is wrong")
    try:
        manifest = _Manifest.model_validate_json(manifest_bytes)
    except ValidationError:
        bad("manifest.json is not a bundle manifest")
        return verdict
    checkpoint = manifest.checkpoint
    verdict.checkpoint = checkpoint.position
    if not hmac.compare_digest(
        checkpoint.signature.encode(), sign(key, checkpoint.position, checkpoint.link).encode()
    ):
        bad("the checkpoint's signature does not match", checkpoint.position)
    chain_rows: list[_ChainRow] = []
    for number, raw in enumerate(files["chain.jsonl"].splitlines(), start=1):
        try:
            chain_rows.append(_ChainRow.model_validate_json(raw))
        except ValidationError:
            bad(f"chain.jsonl line {number} is not a chain link")
            return verdict
    link = manifest.start_link
    digests: dict[int, str] = {}
    previous = manifest.positions[0] - 1 if manifest.positions else 0
    for row in chain_rows:
        if row.position != previous + 1:
            bad(f"chain.jsonl: position {previous + 1} missing or out of order", previous + 1)
            break
        try:
            link = next_link(link, row.digest)
        except (ValueError, TypeError):
            bad(f"chain.jsonl: the digest at position {row.position} is malformed", row.position)
            break
        if link != row.link:
            bad(f"chain.jsonl: the link at position {row.position} does not follow", row.position)
            break
        digests[row.position] = row.digest
        previous = row.position
    if chain_rows and (chain_rows[-1].position, link) != (checkpoint.position, checkpoint.link):
        bad("the chain does not end in the signed checkpoint", checkpoint.position)
    seen: list[int] = []
    for number, raw in enumerate(files["events.jsonl"].splitlines(), start=1):
        try:
            line = _EventLine.model_validate_json(raw)
            digest = _line_digest(line.model_dump())
        except (ValidationError, ValueError):
            bad(f"events.jsonl line {number} is not a bundle event")
            continue
        position = line.position
        if seen and position <= seen[-1]:
            bad(f"events.jsonl line {number}: position {position} out of order", position)
        seen.append(position)
        if digests.get(position) != digest:
            bad(
                f"events.jsonl line {number}: the event at position {position} differs from "
                "the one the chain covers",
                position,
            )
    if seen != manifest.positions:
        missing = sorted(set(manifest.positions) - set(seen))
        extra = sorted(set(seen) - set(manifest.positions))
        bad(
            f"events.jsonl holds other positions than the manifest lists "
            f"(missing {missing[:5]}, unexpected {extra[:5]})",
            (missing or extra)[0] if missing or extra else None,
        )
    for name in FILES:
        if _sha(files[name]) != manifest.files.get(name):
            bad(f"{name} does not match its hash in the manifest")
    verdict.events = len(seen)
    return verdict
