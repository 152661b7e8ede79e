"""The one canonical JSON encoder: every JSON whose bytes are stored, hashed or signed.

Keys are sorted at every level and the text is UTF-8, so the bytes are a function of the
content alone. Three forms exist because digests were recorded with each; a form never
changes, or the digests already recorded would stop matching:

- :attr:`Form.COMPACT` (no insignificant whitespace, non-ASCII kept as UTF-8): the stored
  bytes of every event (which the audit chain hashes), the facts digest of an assessment,
  the lines of an audit bundle's ``events.jsonl`` and ``chain.jsonl``, and event stream
  envelopes;
- :attr:`Form.SPACED` (Python's default ``", "`` and ``": "`` separators, non-ASCII kept
  as UTF-8): the content hash a notice approval freezes, and the plaintext of sealed
  personal data;
- :attr:`Form.INDENTED` (two-space indent, non-ASCII escaped as ``\\uXXXX``): an audit
  bundle's signed ``manifest.json``.
"""

from __future__ import annotations

import hashlib
import json
from enum import Enum
from typing import Any


class Form(Enum):
    """A fixed layout of canonical JSON (see the module's documentation for who uses which)."""

    COMPACT = "compact"
    SPACED = "spaced"
    INDENTED = "indented"


def canonical_json(value: Any, form: Form = Form.COMPACT) -> bytes:
    """Encode a JSON-ready value as canonical JSON bytes in ``form`` (sorted keys, UTF-8)."""
    if form is Form.COMPACT:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    elif form is Form.SPACED:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    else:
        text = json.dumps(value, sort_keys=True, indent=2)
    return text.encode()


def canonical_digest(value: Any, form: Form = Form.COMPACT) -> str:
    """SHA-256 (hexadecimal) of ``value``'s canonical JSON in ``form``."""
    return hashlib.sha256(canonical_json(value, form)).hexdigest()
