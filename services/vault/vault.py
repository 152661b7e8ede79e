"""The vault: what the application uses to seal, open and shred personal data."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from events.people import Sealed
from services.vault.keystore import SQLiteKeyStore
from services.vault.sealing import Lookups, PersonData, open_sealed, seal


class Vault:
    """Seals with fresh per-person keys, opens while the key exists, shreds by destroying it."""

    def __init__(self, keys: SQLiteKeyStore, lookups: Lookups) -> None:
        self.keys = keys
        self.lookups = lookups

    def seal_new(self, people: Sequence[PersonData]) -> list[Sealed]:
        """Seal each person's data under a new key of their own (keys saved first)."""
        keys = self.keys.create(len(people))
        return [seal(data, key_id, key) for data, (key_id, key) in zip(people, keys, strict=True)]

    def reseal(self, data: PersonData, key_id: UUID) -> Sealed | None:
        """Seal corrected data under an existing key (None if the key was destroyed)."""
        key = self.keys.get([key_id]).get(key_id)
        return None if key is None else seal(data, key_id, key)

    def open(self, sealed: Sealed) -> PersonData | None:
        """The person's data, or None when the key was destroyed (erased)."""
        key = self.keys.get([sealed.key_id]).get(sealed.key_id)
        return None if key is None else open_sealed(sealed, key)

    def open_many(self, sealed: Sequence[Sealed]) -> list[PersonData | None]:
        """Open many at once (one key-store query)."""
        keys = self.keys.get(s.key_id for s in sealed)
        return [open_sealed(s, keys[s.key_id]) if s.key_id in keys else None for s in sealed]

    def shred(self, key_ids: Sequence[UUID]) -> int:
        """Destroy keys for good; return how many existed."""
        return self.keys.destroy(key_ids)

    def close(self) -> None:
        """Release the key store."""
        self.keys.close()
