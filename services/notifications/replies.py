"""SMTP replies as they are recorded. A relay's text may name the recipient (Postfix: ``550
5.1.1 <ann@example.org>: Recipient address rejected``), and what is recorded stays in the
log for good, out of an erasure's reach. So a reply keeps its codes and wording, with every
address in it, and the recipient's local part wherever it appears, replaced by
``<address>``; and it is cut to a bounded length.
"""

from __future__ import annotations

import re

_ADDRESS = re.compile(r"[^\s<>()\[\]\"',;:]+@[^\s<>()\[\]\"',;:]+")
BLANK = "<address>"
MAX_LENGTH = 300
MIN_LOCAL_PART = 3
"""Shorter local parts are not blanked on their own (they would blank ordinary words)."""


def redact(reply: str, recipient: str) -> str:
    """``reply`` without any address, nor ``recipient``'s local part."""
    text = _ADDRESS.sub(BLANK, reply)
    local = recipient.rsplit("@", 1)[0]
    if len(local) >= MIN_LOCAL_PART:
        text = re.sub(re.escape(local), BLANK, text, flags=re.IGNORECASE)
    return text[:MAX_LENGTH]
