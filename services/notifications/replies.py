"""What a mail server said, reduced to what the permanent record may keep.

Servers echo the recipient in their replies (``550 5.1.1 <person@example.org>: Recipient
address rejected``, ``250 Ok: queued as ABC for <addr> (Jane Doe)``), and relay errors
carry it too. The record of a notice must never hold it (events are kept, exported to
auditors and survive the person's erasure), so every reply and relay error is reduced to:

- the reply code (``550``), when the text starts with one;
- the enhanced status code of RFC 3463 (``5.1.1``), when present, with its standard meaning
  when it is a refusal (4.x.x or 5.x.x: what an operator needs to understand a failure);
- the rest of the text with every email address, anything between ``<`` and ``>``, RFC 2047
  encoded words, the recipient's address and local part, and each word of the recipient's
  name (two letters or more, any case, with or without accents) replaced by
  :data:`PLACEHOLDER`; control characters removed; one line of at most
  :data:`MAX_TEXT` characters.

A name word of three letters or more is removed wherever it occurs, even inside a longer
word (servers glue names: ``JaneDoe``, ``jane_doe``); a two-letter word only where it
stands alone, since inside words it would erase everyday text. A reply so long that it is
cut before redaction loses the cut word as well, so no part of a name survives the cut.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

PLACEHOLDER = "[redacted]"
MAX_TEXT = 200
"""The longest redacted text kept (characters)."""
MAX_INPUT = 4000
"""The longest reply read (characters); the rest is dropped before anything else."""

_CODE = re.compile(r"([2-5]\d\d)(?:[ -]|$)")
_ENHANCED = re.compile(r"([245]\.\d{1,3}\.\d{1,3})(?=\s|$)")
_REPEATED = re.compile(r"^(?:[2-5]\d\d[ -]?)?(?:[245]\.\d{1,3}\.\d{1,3}(?:\s|$))?")
_BRACKETED = re.compile(r"<[^<>]*>")
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=")
_TOKEN = re.compile(r"[^\s<>()\[\]{},;\"']+")
_WORD = re.compile(r"[^\W\d_]{2,}")
_SPACES = re.compile(r"\s+")

MEANINGS: dict[str, str] = {
    "0.0": "other undefined status",
    "1.0": "other address status",
    "1.1": "bad destination mailbox address",
    "1.2": "bad destination system address",
    "1.3": "bad destination mailbox address syntax",
    "1.4": "destination mailbox address ambiguous",
    "1.5": "destination address valid",
    "1.6": "destination mailbox has moved, no forwarding address",
    "1.7": "bad sender's mailbox address syntax",
    "1.8": "bad sender's system address",
    "1.10": "recipient address has null MX",
    "2.0": "other or undefined mailbox status",
    "2.1": "mailbox disabled, not accepting messages",
    "2.2": "mailbox full",
    "2.3": "message length exceeds administrative limit",
    "2.4": "mailing list expansion problem",
    "3.0": "other or undefined mail system status",
    "3.1": "mail system full",
    "3.2": "system not accepting network messages",
    "3.3": "system not capable of selected features",
    "3.4": "message too big for system",
    "3.5": "system incorrectly configured",
    "4.0": "other or undefined network or routing status",
    "4.1": "no answer from host",
    "4.2": "bad connection",
    "4.3": "directory server failure",
    "4.4": "unable to route",
    "4.5": "mail system congestion",
    "4.6": "routing loop detected",
    "4.7": "delivery time expired",
    "5.0": "other or undefined protocol status",
    "5.1": "invalid command",
    "5.2": "syntax error",
    "5.3": "too many recipients",
    "5.4": "invalid command arguments",
    "5.5": "wrong protocol version",
    "6.0": "other or undefined media error",
    "6.1": "media not supported",
    "6.2": "conversion required and prohibited",
    "6.3": "conversion required but not supported",
    "6.4": "conversion with loss performed",
    "6.5": "conversion failed",
    "7.0": "other or undefined security status",
    "7.1": "delivery not authorized, message refused",
    "7.2": "mailing list expansion prohibited",
    "7.3": "security conversion required but not possible",
    "7.4": "security features not supported",
    "7.5": "cryptographic failure",
    "7.6": "cryptographic algorithm not supported",
    "7.7": "message integrity failure",
}
"""RFC 3463's meaning of each enhanced status code's subject and detail (``X.1.1``)."""


@dataclass(frozen=True)
class Recipient:
    """Who a message was for: what must not appear in its recorded outcome."""

    address: str
    name: str = ""


@dataclass(frozen=True)
class Reply:
    """A reply or relay error reduced to its codes and a redacted text."""

    code: int | None
    enhanced: str | None
    text: str

    @property
    def meaning(self) -> str | None:
        """The standard meaning of a refusal's enhanced code (of its subject, for an
        unlisted detail), or None for a success or without one."""
        if self.enhanced is None:
            return None
        kind, subject, detail = self.enhanced.split(".")
        if kind == "2":
            return None
        return MEANINGS.get(f"{subject}.{detail}") or MEANINGS.get(f"{subject}.0")

    def __str__(self) -> str:
        """The form recorded on a notice: ``550 5.1.1 (meaning) text``."""
        parts = [str(self.code) if self.code is not None else "", self.enhanced or ""]
        if self.meaning:
            parts.append(f"({self.meaning})")
        parts.append(self.text)
        return " ".join(p for p in parts if p)


def _clean(text: str) -> str:
    """Control and format characters (and line or paragraph separators) as spaces."""
    return "".join(" " if unicodedata.category(c)[0] in "CZ" and c != " " else c for c in text)


def _unaccented(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _person(recipient: Recipient, text: str) -> re.Pattern[str] | None:
    """One pattern for the recipient's address, local part and name words that may occur
    in ``text``. In an ASCII text, an ASCII word occurs only if its lower case is in the
    text's: the others are left out, and most replies (``250 2.0.0 Ok``) need no pattern
    compiled at all. A word with other letters is always kept (some match ASCII letters
    when case is ignored: the dotless i, the long s, the Kelvin sign)."""
    address = unicodedata.normalize("NFC", recipient.address.strip())
    local = address.rpartition("@")[0] if "@" in address else ""
    words = {address, local}
    for word in _WORD.findall(unicodedata.normalize("NFC", recipient.name)):
        words.update({word, _unaccented(word)})
    if text.isascii():
        lowered = text.lower()
        words = {w for w in words if not w.isascii() or w.lower() in lowered}
    anywhere = sorted((w for w in words if len(w) >= 3), key=len, reverse=True)
    alone = sorted(w for w in words if len(w) == 2)
    choices = [re.escape(w) for w in anywhere]
    choices += [rf"(?<![^\W_]){re.escape(w)}(?![^\W_])" for w in alone]
    return re.compile("|".join(choices), re.IGNORECASE) if choices else None


def _redact(text: str, person: re.Pattern[str] | None) -> str:
    text = _BRACKETED.sub(PLACEHOLDER, text)
    text = _ENCODED_WORD.sub(PLACEHOLDER, text)
    text = _TOKEN.sub(lambda m: PLACEHOLDER if "@" in m.group() else m.group(), text)
    if person is not None:
        text = person.sub(PLACEHOLDER, text)
    return text


def reduce_reply(raw: str, recipient: Recipient) -> Reply:
    """Reduce a server's reply (``550 5.1.1 text``) or a relay error's text to its codes
    and a redacted, single-line, capped text (see the module's rules)."""
    text = unicodedata.normalize("NFC", raw)
    if len(text) > MAX_INPUT:
        text = text[:MAX_INPUT]
        text = text.rsplit(None, 1)[0] if text[-1:].strip() else text
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n")]
    first = lines[0] if lines else ""
    code: int | None = None
    enhanced: str | None = None
    found = _CODE.match(first)
    if found:
        code = int(found.group(1))
        first = first[found.end() :].lstrip()
        status = _ENHANCED.match(first)
        if status and status.group(1)[0] == str(code)[0]:
            enhanced = status.group(1)
            first = first[status.end() :].lstrip()
    rest = [_REPEATED.sub("", line, count=1) if code is not None else line for line in lines[1:]]
    joined = _SPACES.sub(" ", _clean(" ".join([first, *rest]))).strip()
    redacted = _SPACES.sub(" ", _redact(joined, _person(recipient, joined))).strip()
    if len(redacted) > MAX_TEXT:
        redacted = redacted[: MAX_TEXT - 1].rstrip() + "…"
    return Reply(code=code, enhanced=enhanced, text=redacted)
