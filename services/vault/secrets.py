"""Secrets the vault needs (the key-wrapping master key, the lookup secret), from settings or
from files created once with owner-only permissions."""

from __future__ import annotations

import base64
import os
from pathlib import Path


def load_or_create(path: Path, *, size: int = 32) -> bytes:
    """Read a base64 secret from ``path``, creating it (mode 0600) on first use."""
    if path.exists():
        return base64.b64decode(path.read_text(encoding="ascii").strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = os.urandom(size)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(base64.b64encode(secret).decode("ascii") + "\n")
    return secret


def decode(value: str, name: str) -> bytes:
    """Decode a base64 secret given in settings, checking it is 32 bytes."""
    try:
        secret = base64.b64decode(value, validate=True)
    except ValueError:
        msg = f"{name} is not base64"
        raise ValueError(msg) from None
    if len(secret) != 32:
        msg = f"{name} must be 32 bytes (base64 of 32 random bytes)"
        raise ValueError(msg)
    return secret
