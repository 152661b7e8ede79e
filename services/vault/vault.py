"""The vault: what the application uses to seal, open, find and shred personal data."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from uuid import UUID

from events.people import Sealed
from services.vault.keystore import Erasure, KeyStore
from services.vault.lookup_index import LookupIndex
from services.vault.sealing import Lookups, PersonData, open_sealed, seal


class Vault:
    """Seals with fresh per-person keys, opens while the key exists, finds people by keyed
    lookups of their address or reference, shreds by destroying keys and lookups."""

    def __init__(self, keys: KeyStore, lookups: Lookups) -> None:
        self.keys = keys
        self.lookups = lookups

    @property
    def index(self) -> LookupIndex:
        """The lookup index kept beside the keys."""
        return self.keys.index

    def seal_new(self, people: Sequence[PersonData]) -> list[Sealed]:
        """Seal each person's data under a new key of their own (keys saved first)."""
        keys = self.keys.create(len(people))
        return [seal(data, key_id, key) for data, (key_id, key) in zip(people, keys, strict=True)]

    def enrol(
        self,
        incident_id: UUID,
        people: Mapping[str, PersonData],
        recorded: Callable[[Sequence[UUID]], set[UUID]],
    ) -> list[tuple[str, UUID, Sealed]]:
        """Claim ids for people of an incident (keyed by their email lookup) and seal those
        the log has not ``recorded`` yet under new keys of their own (see
        :meth:`KeyStore.enrol`); return (email lookup, person id, sealed data) of each."""
        references = {
            lookup: self.lookups.reference(data.reference) if data.reference else None
            for lookup, data in people.items()
        }
        return [
            (e.lookup, e.person_id, seal(people[e.lookup], e.key_id, e.key))
            for e in self.keys.enrol(incident_id, references, recorded)
        ]

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

    def erase(self, erasure: Erasure) -> int:
        """Destroy a person's keys and lookups at once (noted as pending until recorded)."""
        return self.keys.erase(erasure)

    def analyze(self) -> None:
        """Refresh the statistics of the keys and lookups after a bulk import."""
        self.keys.analyze()

    def close(self) -> None:
        """Release the key store."""
        self.keys.close()
