"""Building a notice's email as bytes, quickly and safely.

Constructing messages with ``email.message.EmailMessage`` costs more than sending them, so
notices are assembled directly: fixed headers, RFC 2047 encoded words for anything beyond
ASCII, and a multipart/alternative body with base64 parts. Every header value is stripped of
line breaks first, so a name or subject cannot inject headers.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from email.utils import format_datetime

_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')
_CONTROLS = {c: " " for c in (*range(32), 127)}
_WORD_CHARS = 10
"""Characters per encoded word: at most 40 UTF-8 bytes, so each word stays under 75."""


def one_line(value: str) -> str:
    """A header-safe value: no CR, LF or other control characters."""
    return value.translate(_CONTROLS).strip()


def encoded_word(value: str) -> str:
    """Encode text for a header (RFC 2047, UTF-8, base64) when it is not plain ASCII."""
    text = one_line(value)
    if text.isascii():
        return text
    words = [text[i : i + _WORD_CHARS] for i in range(0, len(text), _WORD_CHARS)]
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(w.encode()).decode()}?=" for w in words)


def mailbox(name: str, address: str) -> str:
    """A From/To value: the display name made safe, then the address."""
    address = one_line(address).replace("<", "").replace(">", "")
    name = one_line(name)
    if not name:
        return f"<{address}>"
    if not name.isascii():
        return f"{encoded_word(name)} <{address}>"
    if _SPECIALS.search(name):
        escaped = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}" <{address}>'
    return f"{name} <{address}>"


def _b64(text: str) -> bytes:
    return base64.encodebytes(text.encode()).replace(b"\n", b"\r\n")


def build(
    *,
    message_id: str,
    sender: tuple[str, str],
    recipient: tuple[str, str],
    subject: str,
    text: str,
    html: str | None,
    date: datetime,
    language: str,
) -> bytes:
    """The complete message, CRLF line endings, ready for SMTP DATA (plain text alone when
    there is no ``html``)."""
    boundary = "=_bl_" + message_id.strip("<>").split("@")[0].replace("-", "")
    headers = (
        f"From: {mailbox(*sender)}\r\n"
        f"To: {mailbox(*recipient)}\r\n"
        f"Subject: {encoded_word(subject)}\r\n"
        f"Date: {format_datetime(date)}\r\n"
        f"Message-ID: {message_id}\r\n"
        f"Content-Language: {one_line(language)}\r\n"
        "MIME-Version: 1.0\r\n"
    ).encode()
    if html is None:
        return b"".join(
            (
                headers,
                b"Content-Type: text/plain; charset=utf-8\r\n"
                b"Content-Transfer-Encoding: base64\r\n\r\n",
                _b64(text),
            )
        )
    headers += f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'.encode()
    return b"".join(
        (
            headers,
            f"--{boundary}\r\n".encode(),
            b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
            _b64(text),
            f"--{boundary}\r\n".encode(),
            b"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
            _b64(html),
            f"--{boundary}--\r\n".encode(),
        )
    )


_MESSAGE_ID = re.compile(r"<[^<>\s@]{1,200}@[^<>\s@]{1,200}>")
FOUND_LIST_MAX_BYTES = 32 * 2**20
"""The largest list of Message-IDs (a relay's log, say) read at once."""


def message_ids_in(text: str) -> set[str]:
    """Every Message-ID (``<local@domain>``) written in ``text``: one per line, or the lines
    of a relay's log as they are (``message-id=<...>``); everything else is ignored."""
    return set(_MESSAGE_ID.findall(text))
