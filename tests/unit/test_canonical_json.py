"""The one canonical JSON encoder keeps every digest already recorded: old values pinned.

The hexadecimal digests and bytes below were computed with the encodings that each use had
before they shared :mod:`events.canonical`; they must never change.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import AwareDatetime, BaseModel

from events.assessment import digest
from events.canonical import Form, canonical_digest, canonical_json
from events.notifications import Contact, NoticeAudience, NoticeContent
from services.application.encoding import CanonicalJSONTranscoder
from services.notifications.templates import NoticeTemplates
from services.vault.sealing import PersonData, seal

ROOT = Path(__file__).resolve().parents[2]


class Sample(BaseModel):
    """Nested values, key order to sort, non-ASCII text and a line separator."""

    name: str = "Zoë Ørsted — 東京"
    count: int = 3
    ratio: float = 0.1
    at: AwareDatetime = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    tags: tuple[str, ...] = ("b", "a")
    extra: dict[str, Any] = {"z": None, "a": {"y": 1, "b": [True, False]}, "é": "\u2028"}


SAMPLE_COMPACT = (
    b'{"at":"2026-03-01T12:30:00Z","count":3,"extra":{"a":{"b":[true,false],"y":1},'
    b'"z":null,"\xc3\xa9":"\xe2\x80\xa8"},"name":"Zo\xc3\xab \xc3\x98rsted \xe2\x80\x94 '
    b'\xe6\x9d\xb1\xe4\xba\xac","ratio":0.1,"tags":["b","a"]}'
)
SAMPLE_DIGEST = "2d30e2e962b8c05844fb9bfcf735f2c32321f53e4d1d1accd01cff88c9a60347"


def test_the_facts_digest_is_unchanged() -> None:
    """``events.assessment.digest`` (compact form) gives the digest recorded before."""
    assert digest(Sample()) == SAMPLE_DIGEST


def test_stored_event_bytes_are_unchanged() -> None:
    """The event store's transcoder writes the same bytes as before (compact, UTF-8)."""
    value = Sample().model_dump(mode="json")
    encoded = CanonicalJSONTranscoder().encode(value)
    assert encoded == SAMPLE_COMPACT
    assert hashlib.sha256(encoded).hexdigest() == SAMPLE_DIGEST
    assert canonical_json(value) == SAMPLE_COMPACT
    assert canonical_digest(value) == SAMPLE_DIGEST


def _templates(directory: Path) -> NoticeTemplates:
    for audience in NoticeAudience:
        english = directory / audience.value / "en"
        english.mkdir(parents=True)
        (english / "subject.txt").write_text("Notice about {{ notice.nature }}\n")
        (english / "body.txt").write_text("Dear {{ recipient.name }},\n{{ notice.nature }}\n")
        (english / "body.html").write_text("<p>{{ notice.nature }}</p>\n")
    return NoticeTemplates(directory)


CONTENT = NoticeContent(
    organisation="Acme Ærø",
    nature="a lost laptop",
    consequences="phishing",
    measures="wiped",
    contact=Contact(name="Dana Privé", email="dpo@example.org"),
    categories=("email", "name"),
    people_count=12,
)


def test_the_content_hash_an_approval_freezes_is_unchanged(tmp_path: Path) -> None:
    """A notice approval's content hash (spaced form, UTF-8) is the one recorded before."""
    templates = _templates(tmp_path)
    assert templates.version(NoticeAudience.PEOPLE) == "sha256:5e73f3889b244fc8"
    recipients = [{"name": "Jörg", "email": "j@example.org"}]
    assert templates.content_hash(NoticeAudience.PEOPLE, CONTENT, recipients) == (
        "sha256:facee0c27537fab54303a81a1ff584c7a97fb6964baa68122a21481d7e5e8fe8"
    )
    assert templates.content_hash(NoticeAudience.AUTHORITY, CONTENT) == (
        "sha256:50799e9821a86a7decd9dc9523b100bd54a1a9628120269220489d6ce2cc4f2d"
    )


def test_the_bundle_manifest_layout_is_unchanged() -> None:
    """A signed bundle manifest is laid out as before (indented, non-ASCII escaped)."""
    manifest = {
        "format": "f/1",
        "incident_id": "x",
        "name": "Zoë",
        "positions": [1, 2],
        "nested": {"b": 1, "a": None},
    }
    assert canonical_json(manifest, Form.INDENTED) == (
        b'{\n  "format": "f/1",\n  "incident_id": "x",\n  "name": "Zo\\u00eb",\n'
        b'  "nested": {\n    "a": null,\n    "b": 1\n  },\n  "positions": [\n    1,\n    2\n'
        b"  ]\n}"
    )


def test_sealed_personal_data_holds_the_same_plaintext() -> None:
    """Sealing encrypts the same plaintext bytes as before (spaced form, UTF-8)."""
    key, key_id = bytes(range(32)), UUID(int=7)
    person = PersonData(
        email="zoë@example.org", name="Zoë Ørsted", reference="R-1", attributes={"b": "2", "a": "1"}
    )
    sealed = seal(person, key_id, key)
    plaintext = AESGCM(key).decrypt(
        base64.b64decode(sealed.nonce), base64.b64decode(sealed.ciphertext), key_id.bytes
    )
    assert plaintext == (
        b'{"attributes": {"a": "1", "b": "2"}, "email": "zo\xc3\xab@example.org", '
        b'"name": "Zo\xc3\xab \xc3\x98rsted", "reference": "R-1"}'
    )


def test_no_other_module_encodes_json_with_sorted_keys() -> None:
    """Only events/canonical.py sorts JSON keys in events/ and services/."""
    pattern = re.compile(r"sort_keys\s*=\s*True")
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("events", "services")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != ROOT / "events" / "canonical.py" and pattern.search(path.read_text())
    ]
    assert offenders == [], f"encode canonical JSON with events.canonical instead: {offenders}"
