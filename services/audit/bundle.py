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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from uuid import UUID

from services.application.encoding import canonical_json
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
) -> dict[str, Any]:
    """Write a bundle to a directory, or to a .zip file when ``out`` ends in .zip."""
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
        "events.jsonl": b"".join(canonical_json(event_line(n)) + b"\n" for n in events),
        "chain.jsonl": b"".join(
            canonical_json({"position": p, "digest": d, "link": lk}) + b"\n" for p, d, lk in links
        ),
        "report.html": report_html.encode(),
    }
    try:
        version = metadata.version("breachledger")
    except metadata.PackageNotFoundError:
        version = "unknown"
    manifest = {
        "format": FORMAT,
        "generated_at": datetime.now(UTC).isoformat(),
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
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode()
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


def _read(path: Path) -> dict[str, bytes]:
    if path.is_dir():
        return {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            return {name: z.read(name) for name in z.namelist()}
    raise BundleError(f"{path} is neither a bundle directory nor a .zip bundle")


def verify_bundle(path: Path, key: bytes) -> BundleVerdict:
    """Check a bundle offline: the manifest's signature, every file's hash, every event
    against the chain, the chain's links, and the checkpoint's signature."""
    files = _read(path)
    verdict = BundleVerdict(ok=True)

    def bad(problem: str, position: int | None = None) -> None:
        verdict.ok = False
        verdict.problems.append(problem)
        if position is not None and verdict.first_bad_position is None:
            verdict.first_bad_position = position

    for name in ("manifest.json", "manifest.sig", *FILES):
        if name not in files:
            bad(f"{name} is missing")
    if not verdict.ok:
        return verdict
    manifest_bytes = files["manifest.json"]
    expected_sig = hmac.new(key, manifest_bytes, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(files["manifest.sig"].decode().strip(), expected_sig):
        bad("manifest.sig does not match: the manifest was altered, or the key is wrong")
    try:
        manifest = json.loads(manifest_bytes)
    except ValueError:
        bad("manifest.json is not valid JSON")
        return verdict
    checkpoint = manifest["checkpoint"]
    verdict.checkpoint = checkpoint["position"]
    if not hmac.compare_digest(
        checkpoint["signature"], sign(key, checkpoint["position"], checkpoint["link"])
    ):
        bad("the checkpoint's signature does not match", checkpoint["position"])
    chain_rows = []
    for number, raw in enumerate(files["chain.jsonl"].splitlines(), start=1):
        try:
            chain_rows.append(json.loads(raw))
        except ValueError:
            bad(f"chain.jsonl line {number} is not JSON")
            return verdict
    link = manifest["start_link"]
    digests: dict[int, str] = {}
    previous = manifest["positions"][0] - 1 if manifest["positions"] else 0
    for row in chain_rows:
        if row["position"] != previous + 1:
            bad(f"chain.jsonl: position {previous + 1} missing or out of order", previous + 1)
            break
        try:
            link = next_link(link, row["digest"])
        except (ValueError, TypeError):
            bad(
                f"chain.jsonl: the digest at position {row['position']} is malformed",
                row["position"],
            )
            break
        if link != row["link"]:
            bad(
                f"chain.jsonl: the link at position {row['position']} does not follow",
                row["position"],
            )
            break
        digests[row["position"]] = row["digest"]
        previous = row["position"]
    if chain_rows and (chain_rows[-1]["position"], link) != (
        checkpoint["position"],
        checkpoint["link"],
    ):
        bad("the chain does not end in the signed checkpoint", checkpoint["position"])
    seen: list[int] = []
    for number, raw in enumerate(files["events.jsonl"].splitlines(), start=1):
        try:
            line = json.loads(raw)
        except ValueError:
            bad(f"events.jsonl line {number} is not JSON")
            continue
        position = line.get("position")
        if seen and position <= seen[-1]:
            bad(f"events.jsonl line {number}: position {position} out of order", position)
        seen.append(position)
        if digests.get(position) != _line_digest(line):
            bad(
                f"events.jsonl line {number}: the event at position {position} differs from "
                "the one the chain covers",
                position,
            )
    if seen != manifest["positions"]:
        missing = sorted(set(manifest["positions"]) - set(seen))
        extra = sorted(set(seen) - set(manifest["positions"]))
        bad(
            f"events.jsonl holds other positions than the manifest lists "
            f"(missing {missing[:5]}, unexpected {extra[:5]})",
            (missing or extra or [None])[0],
        )
    for name in FILES:
        if _sha(files[name]) != manifest["files"].get(name):
            bad(f"{name} does not match its hash in the manifest")
    verdict.events = len(seen)
    return verdict
