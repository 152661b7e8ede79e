"""Sealing a person's data with their key, and the keyed lookups that find them again."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import unicodedata
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, ConfigDict, Field

from events.canonical import Form, canonical_json
from events.people import Sealed


class PersonData(BaseModel):
    """The personal fields of an affected person: only ever held sealed or in memory."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    email: str
    name: str = ""
    reference: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)


def seal(data: PersonData, key_id: UUID, key: bytes) -> Sealed:
    """Encrypt a person's data under their key (the key id is bound as associated data)."""
    nonce = os.urandom(12)
    plaintext = canonical_json(data.model_dump(), Form.SPACED)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, key_id.bytes)
    return Sealed(
        key_id=key_id,
        nonce=base64.b64encode(nonce).decode("ascii"),
        ciphertext=base64.b64encode(ciphertext).decode("ascii"),
    )


def open_sealed(sealed: Sealed, key: bytes) -> PersonData:
    """Decrypt sealed data with its key; raises ValueError if it was tampered with."""
    try:
        plaintext = AESGCM(key).decrypt(
            base64.b64decode(sealed.nonce),
            base64.b64decode(sealed.ciphertext),
            sealed.key_id.bytes,
        )
    except InvalidTag:
        msg = f"sealed data under key {sealed.key_id} does not authenticate"
        raise ValueError(msg) from None
    return PersonData.model_validate(json.loads(plaintext))


def normalise_email(email: str) -> str:
    """The form of an address used for de-duplication and lookups."""
    return unicodedata.normalize("NFKC", email).strip().lower()


class Lookups:
    """Keyed hashes (HMAC-SHA256) of emails and references: findable, not readable."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, kind: str, value: str) -> str:
        return hmac.new(self._secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    def email(self, email: str) -> str:
        """The lookup of an email address."""
        return self._mac("email", normalise_email(email))

    def reference(self, reference: str) -> str:
        """The lookup of an external reference."""
        return self._mac("reference", unicodedata.normalize("NFKC", reference).strip())
