"""Where a webhook may deliver: http(s) only, no credentials in the URL, and never to an
address inside the machine or the network it runs in (loopback, link-local, private,
reserved; the cloud metadata address 169.254.169.254 is link-local), unless loopback is
allowed by ``BREACH_WEBHOOK_ALLOW_LOOPBACK`` (for tests and local receivers).

The host is resolved and every address it resolves to is checked. Errors name the field
(``url``) and never repeat the URL, whose path may itself be a credential.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from services.application.errors import InvalidInput

MAX_LENGTH = 2048
"""The longest URL accepted."""


@dataclass(frozen=True)
class Target:
    """A checked URL: the whole of it, its origin (what the log and lists show) and its
    SHA-256 (what the log records to tell URLs apart)."""

    url: str
    origin: str
    digest: str


def _refused(reason: str) -> InvalidInput:
    return InvalidInput("url", reason)


def address_allowed(address: str, *, allow_loopback: bool) -> bool:
    """Whether a resolved address may receive deliveries: public only (loopback too when
    allowed)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return allow_loopback
    return not (
        ip.is_private
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
        or not ip.is_global
    )


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (none when it does not resolve)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        return []
    return sorted({str(info[4][0]) for info in found})


def check_host(host: str, port: int, *, allow_loopback: bool) -> None:
    """Refuse a host that does not resolve, or resolves to an address not allowed."""
    addresses = resolve(host, port)
    if not addresses:
        raise _refused("the host does not resolve")
    if not all(address_allowed(a, allow_loopback=allow_loopback) for a in addresses):
        raise _refused(
            "points at a loopback, link-local, private, reserved or metadata address; "
            "webhooks deliver to public addresses only"
        )


def check_url(value: str, *, allow_loopback: bool) -> Target:
    """A URL a subscription may deliver to, or :class:`InvalidInput` naming ``url``."""
    url = value.strip()
    if not url:
        raise _refused("is required")
    if len(url) > MAX_LENGTH or any(c.isspace() or ord(c) < 32 for c in url):
        raise _refused(f"must be one line of at most {MAX_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _refused("is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise _refused("must be an http or https URL")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise _refused("must not hold credentials (user:password@); receivers check the signature")
    host = (parts.hostname or "").lower()
    if not host:
        raise _refused("has no host")
    if parts.fragment:
        raise _refused("must not have a fragment (#...)")
    effective = port if port is not None else (443 if scheme == "https" else 80)
    check_host(host, effective, allow_loopback=allow_loopback)
    shown = f"[{host}]" if ":" in host else host
    origin = f"{scheme}://{shown}" + (f":{port}" if port is not None else "")
    return Target(url=url, origin=origin, digest=hashlib.sha256(url.encode()).hexdigest())
