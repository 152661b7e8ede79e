"""Where SMTP messages go: the relay's address, TLS mode and credentials, read from an
``smtp://`` or ``smtps://`` URL. A leaf module (the settings check the URL with it when they
load, and the transport connects with it); the password is never part of its repr."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlparse


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to connect: host, port, TLS mode and credentials."""

    host: str
    port: int
    starttls: bool = False
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0

    @classmethod
    def from_url(cls, url: str, timeout: float = 30.0) -> SmtpTarget:
        """Parse ``smtp://user:pass@host:587?starttls=true`` or ``smtps://host:465``."""
        parts = urlparse(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            msg = "the SMTP URL is not an smtp:// or smtps:// URL with a host"
            raise ValueError(msg)
        query = parse_qs(parts.query)
        starttls = query.get("starttls", ["false"])[0].lower() in ("1", "true", "yes")
        tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if tls else 25),
            starttls=starttls,
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=timeout,
        )
