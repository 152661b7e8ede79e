"""The users' address book: each user's email address, sealed beside the log.

An address is personal data, and the log is exported in audit bundles, so the log records
only that an address was set or removed; the address itself is sealed with AES-GCM under a
key derived from the vault's master key, the user's id bound as associated data (a sealed
address moved to another user's row does not open). It lives in the credential store's
database (``credentials.db``, or the PostgreSQL schema), whose file deletes securely, so a
removed address is gone from it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Iterable
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, select

from services.storage.sql import Database, upsert
from services.users.tables import user_addresses


def sealing_key(master: bytes) -> bytes:
    """The key sealing users' addresses, derived from the vault's master key."""
    return hmac.new(master, b"breachledger user addresses v1", hashlib.sha256).digest()


class AddressBook:
    """Users' sealed email addresses in ``db`` (the credential store's database)."""

    def __init__(self, db: Database, master_key: bytes) -> None:
        self.db = db
        self._aead = AESGCM(sealing_key(master_key))

    def _seal(self, user: UUID, address: str) -> str:
        nonce = os.urandom(12)
        return base64.b64encode(
            nonce + self._aead.encrypt(nonce, address.encode(), user.bytes)
        ).decode()

    def _open(self, user: UUID, sealed: str) -> str:
        blob = base64.b64decode(sealed)
        try:
            return self._aead.decrypt(blob[:12], blob[12:], user.bytes).decode()
        except InvalidTag:
            msg = f"the sealed address of user {user} does not authenticate"
            raise ValueError(msg) from None

    def put(self, user: UUID, address: str) -> None:
        """Keep (or replace) a user's address, sealed."""
        statement = upsert(self.db.kind, user_addresses).values(
            user_id=str(user), sealed=self._seal(user, address)
        )
        with self.db.transaction() as c:
            c.execute(
                statement.on_conflict_do_update(
                    index_elements=[user_addresses.c.user_id],
                    set_={"sealed": statement.excluded.sealed},
                )
            )

    def remove(self, user: UUID) -> None:
        """Forget a user's address."""
        with self.db.transaction() as c:
            c.execute(delete(user_addresses).where(user_addresses.c.user_id == str(user)))

    def address(self, user: UUID) -> str | None:
        """A user's address (None: none set)."""
        return self.addresses([user]).get(user)

    def addresses(self, users: Iterable[UUID]) -> dict[UUID, str]:
        """The addresses of those of ``users`` that have one."""
        wanted = [str(u) for u in users]
        if not wanted:
            return {}
        rows = self.db.query(
            select(user_addresses.c.user_id, user_addresses.c.sealed).where(
                user_addresses.c.user_id.in_(wanted)
            )
        )
        return {UUID(u): self._open(UUID(u), sealed) for u, sealed in rows}
