"""The people commands of the application: import, correct, erase, export.

An import is processed in batches. For each batch, one transaction of the key store claims
the people's ids in its lookup index (one row per incident and keyed hash of the address,
unique, so the first claim wins and later imports find it) and gives those the log does not
hold yet their keys and references; then every new person is saved in one transaction of
the log. A person's id is random: nothing in the log
derives from their address. Re-running a file (or resuming an interrupted one) adds nobody
twice: a claimed id whose person the log lacks (an import cut short between the index and
the log) is recorded then, under that id; two imports recording the same id at once collide
in the log, and the loser reads the batch again.

Erasing destroys the person's keys and lookup rows in one transaction of the key store,
noted as pending there until the log records the erasure (a start-up finishes one a crash
interrupted).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.persistence import IntegrityError
from pydantic import BaseModel, ConfigDict

from events.base import Cause
from events.incident import Incident
from events.people import AffectedPerson
from services.application.base import LedgerApplication
from services.application.context import RequestContext
from services.application.errors import Conflict, InvalidInput, NotFound, RuleBroken
from services.application.fields import Email, Line, OptionalTitle, Title, checked
from services.assessment.jurisdictions import is_known
from services.incidents.handlers import IncidentHandlers
from services.logging import redactor
from services.people.rows import Progress, read_rows
from services.people.validation import PersonInput, Rejection, check_row, normalise_language
from services.vault.keystore import Erasure
from services.vault.lookup_index import AddressTaken
from services.vault.sealing import PersonData
from services.vault.vault import Vault

log = structlog.get_logger()


@dataclass
class ImportReport:
    """What an import did."""

    rows: int = 0
    imported: int = 0
    already_present: int = 0
    duplicates: int = 0
    rejected: int = 0
    batches: int = 0
    rejections_file: str | None = None
    rejections: list[Rejection] = field(default_factory=list, repr=False)


class CorrectPerson(BaseModel):
    """A correction of a person's data; only the fields given change."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: Line
    email: Email | None = None
    name: OptionalTitle | None = None
    language: Title | None = None
    jurisdiction: Title | None = None
    reference: OptionalTitle | None = None


@dataclass(frozen=True)
class PersonView:
    """A person as the application shows them: data opened, or marked erased."""

    person_id: UUID
    incident_id: UUID
    status: str
    language: str | None
    jurisdiction: str | None
    data: PersonData | None
    recorded_at: str
    erased_at: str | None


ANALYZE_AFTER = 1_000
"""People imported at once after which the key store's statistics are refreshed."""


class PeopleHandlers:
    """Commands on affected people; personal data is sealed before it reaches an event."""

    import_batch_size: int = 1000
    import_max_bytes: int = 256 * 2**20

    def __init__(self, core: LedgerApplication, incidents: IncidentHandlers, vault: Vault) -> None:
        self.core = core
        self.incidents = incidents
        self.vault = vault
        """Seals and opens the people's data (their keys live in it)."""

    def import_people(
        self,
        incident_id: UUID,
        path: Path,
        ctx: RequestContext,
        *,
        progress: Progress | None = None,
        on_batch: Callable[[ImportReport], None] | None = None,
    ) -> ImportReport:
        """Import people from a CSV or JSON Lines file into an incident."""
        incident = self.core.load(incident_id, Incident)
        if incident.is_closed:
            raise RuleBroken("status", "the incident is closed; reopen it before importing")
        vault = self.vault
        report = ImportReport()
        source = f"import:{ctx.correlation_id}"
        rejected_path = path.with_name(path.name + ".rejected.csv")
        writer = _RejectionWriter(rejected_path)
        try:
            batch: list[PersonInput] = []
            for row in read_rows(path, max_bytes=self.import_max_bytes, progress=progress):
                report.rows += 1
                checked = check_row(row)
                if isinstance(checked, Rejection):
                    report.rejected += 1
                    writer.write(checked)
                    continue
                batch.append(checked)
                if len(batch) >= self.import_batch_size:
                    self._import_batch(incident, batch, vault, ctx, source, report, writer)
                    batch = []
                    if on_batch is not None:
                        on_batch(report)
            if batch:
                self._import_batch(incident, batch, vault, ctx, source, report, writer)
        finally:
            writer.close()
        if report.imported >= ANALYZE_AFTER:
            vault.analyze()
        report.rejections_file = str(rejected_path) if writer.count else None
        self.core.log_change(
            "people.imported",
            ctx,
            incident_id=str(incident_id),
            imported=report.imported,
            already_present=report.already_present,
            rejected=report.rejected,
        )
        return report

    import_attempts: int = 10
    """How many times a batch is read again after a concurrent import recorded some of its
    people first."""

    def _import_batch(
        self,
        incident: Incident,
        batch: list[PersonInput],
        vault: Vault,
        ctx: RequestContext,
        source: str,
        report: ImportReport,
        writer: _RejectionWriter,
    ) -> None:
        unique: dict[str, PersonInput] = {}
        for person in batch:
            lookup = vault.lookups.email(person.data.email)
            if lookup in unique:
                report.duplicates += 1
                writer.write(Rejection(person.row, "email", "duplicate of an earlier row"))
            else:
                unique[lookup] = person
        report.batches += 1
        data = {lookup: p.data for lookup, p in unique.items()}
        for _ in range(self.import_attempts):
            enrolled = vault.enrol(incident.id, data, self.core.existing_ids)
            if not enrolled:
                report.already_present += len(unique)
                return
            redactor.remember(
                *(
                    v
                    for lookup, _, _ in enrolled
                    for v in (data[lookup].name, data[lookup].reference)
                )
            )
            cause = self.core.cause(ctx)
            people = [
                AffectedPerson.record(
                    cause,
                    person_id=pid,
                    incident_id=incident.id,
                    language=unique[lookup].language,
                    jurisdiction=unique[lookup].jurisdiction,
                    sealed=sealed,
                    source=source,
                    row=unique[lookup].row,
                )
                for lookup, pid, sealed in enrolled
            ]
            try:
                self.core.save_aggregates(people)
            except IntegrityError:
                # Another import recorded some of them first: their new keys protect
                # nothing; read the batch again.
                vault.shred([sealed.key_id for _, _, sealed in enrolled])
                log.info("people.import_raced", incident_id=str(incident.id), people=len(people))
                continue
            report.imported += len(people)
            report.already_present += len(unique) - len(people)
            return
        raise Conflict(
            "people", "another import of the same people kept racing this one; try again"
        )

    def _people(
        self, found: list[tuple[UUID, UUID]], incident_id: UUID | None
    ) -> list[AffectedPerson]:
        """The recorded people among index rows (person, incident), oldest first; ids a cut
        short import claimed but never recorded are left out, and so is anyone erased (an
        erased person is found by nobody, whatever row may linger)."""
        ids = [p for p, i in found if incident_id is None or i == incident_id]
        loaded = self.core.load_many(ids)
        people = [a for a in loaded.values() if isinstance(a, AffectedPerson) and not a.is_erased]
        return sorted(people, key=lambda a: (a.state.recorded_at, str(a.id)))

    def people_by_email(self, email: str, incident_id: UUID | None = None) -> list[AffectedPerson]:
        """Every person recorded at this address (on one incident, if given); nobody once
        they were erased."""
        vault = self.vault
        return self._people(vault.index.by_email(vault.lookups.email(email)), incident_id)

    def people_by_reference(
        self, reference: str, incident_id: UUID | None = None
    ) -> list[AffectedPerson]:
        """Every person recorded with this external reference (on one incident, if given);
        nobody once they were erased."""
        vault = self.vault
        return self._people(
            vault.index.by_reference(vault.lookups.reference(reference)), incident_id
        )

    def person_on(self, incident_id: UUID, email: str) -> AffectedPerson:
        """The person with this address on an incident."""
        found = self.people_by_email(email, incident_id)
        if not found:
            raise NotFound("email", "no such person on this incident")
        return found[0]

    def view_person(self, person: AffectedPerson) -> PersonView:
        """A person with their data opened (None once erased)."""
        state = person.state
        data = None if person.is_erased else self.vault.open(state.sealed)
        erased = person.is_erased or data is None
        return PersonView(
            person_id=person.id,
            incident_id=state.incident_id,
            status="erased" if erased else "active",
            language=None if erased else state.language,
            jurisdiction=None if erased else state.jurisdiction,
            data=data,
            recorded_at=state.recorded_at.isoformat(),
            erased_at=state.erased_at.isoformat() if state.erased_at else None,
        )

    def correct_person(
        self, target: UUID, request: CorrectPerson | Mapping[str, Any], ctx: RequestContext
    ) -> AffectedPerson:
        """Record corrected data for a person (resealed under the same key). The lookup
        index follows a new address or reference before the correction is saved, and is
        put back when it is not."""
        cmd = self.core.validated(CorrectPerson, request)
        vault = self.vault
        moved: dict[str, tuple[AffectedPerson, PersonData]] = {}

        def correct(person: AffectedPerson, cause: Any) -> None:
            current = None if person.is_erased else vault.open(person.state.sealed)
            if current is None:
                raise RuleBroken("person", "the person's data was erased; nothing to correct")
            data = _corrected(current, cmd)
            language = person.state.language
            if cmd.language is not None:
                normal = normalise_language(cmd.language)
                if normal is None:
                    raise InvalidInput("language", "is not a known language code")
                language = normal
            jurisdiction = (cmd.jurisdiction or person.state.jurisdiction).upper()
            if not is_known(jurisdiction):
                raise InvalidInput("jurisdiction", "is not a known ISO 3166 code")
            sealed = vault.reseal(data, person.state.sealed.key_id)
            if sealed is None:
                raise RuleBroken("person", "the person's data was erased; nothing to correct")
            person.correct(
                cause,
                language=language,
                jurisdiction=jurisdiction,
                sealed=sealed,
                reason=cmd.reason,
                changed=(data, language, jurisdiction)
                != (current, person.state.language, person.state.jurisdiction),
            )
            self._point_lookups(person, data)
            moved["current"] = (person, current)

        try:
            return self.core.change(target, AffectedPerson, ctx, correct, logged="person.corrected")
        except BaseException:
            if "current" in moved:
                person, current = moved["current"]
                try:
                    self._point_lookups(person, current)
                except (RuleBroken, AddressTaken):
                    log.warning("person.lookups_not_restored", person_id=str(person.id))
            raise

    def _point_lookups(self, person: AffectedPerson, data: PersonData) -> None:
        """Make the lookup index find the person by ``data``'s address and reference."""
        vault = self.vault
        try:
            vault.keys.move_lookups(
                person.id,
                person.state.incident_id,
                person.state.sealed.key_id,
                vault.lookups.email(data.email),
                vault.lookups.reference(data.reference) if data.reference else None,
            )
        except AddressTaken:
            raise RuleBroken("email", "another person of this incident has this address") from None
        except KeyError:
            raise RuleBroken("person", "the person's data was erased; nothing to correct") from None

    def erase_person(self, target: UUID, reason: str, ctx: RequestContext) -> AffectedPerson:
        """Destroy a person's keys and lookups, then record the erasure (who, when, why; no
        data)."""
        vault = self.vault
        person = self.core.load(target, AffectedPerson)
        if person.is_erased:
            raise RuleBroken("person", "the person's data was already erased")
        reason = checked("reason", Line, reason)
        erasure = Erasure(
            person_id=person.id,
            key_ids=person.state.key_ids,
            actor=ctx.actor,
            correlation_id=ctx.correlation_id,
            reason=reason,
        )
        vault.erase(erasure)
        erased = self.core.change(
            target,
            AffectedPerson,
            ctx,
            lambda p, cause: p.erase(cause, reason=reason, keys_destroyed=erasure.key_ids),
            logged="person.erased",
        )
        vault.keys.recorded(target)
        return erased

    def complete_erasures(self) -> int:
        """Record the erasures whose keys and lookups were destroyed but whose record a crash
        prevented (on behalf of who asked, with their reason); return how many."""
        vault = self.vault
        done = 0
        for erasure in vault.keys.pending():
            try:
                person = self.core.load(erasure.person_id, AffectedPerson)
            except NotFound:
                vault.keys.recorded(erasure.person_id)
                continue
            if not person.is_erased:
                cause = Cause(
                    actor=erasure.actor,
                    correlation_id=erasure.correlation_id,
                    at=self.core.clock.now(),
                )
                person.erase(cause, reason=erasure.reason, keys_destroyed=erasure.key_ids)
                try:
                    self.core.save(person)
                except IntegrityError:
                    continue
                done += 1
                log.warning("person.erasure_completed", person_id=str(person.id))
            vault.keys.recorded(erasure.person_id)
        return done


def _corrected(current: PersonData, cmd: CorrectPerson) -> PersonData:
    """The person's data with the fields the correction gives replaced."""
    return current.model_copy(
        update={
            "email": current.email if cmd.email is None else cmd.email,
            "name": current.name if cmd.name is None else cmd.name,
            "reference": current.reference if cmd.reference is None else (cmd.reference or None),
        }
    )


class _RejectionWriter:
    """Writes rejected rows (row, field, reason; never the values) next to the input."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._file: Any = None
        self._csv: Any = None
        if path.exists():
            path.unlink()

    def write(self, rejection: Rejection) -> None:
        if self._file is None:
            self._file = self.path.open("w", encoding="utf-8", newline="")
            self._csv = csv.writer(self._file)
            self._csv.writerow(["row", "field", "reason"])
        self._csv.writerow([rejection.row, rejection.field, rejection.reason])
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
