"""The people commands of the application: import, correct, erase, export.

An import is processed in batches; each batch (keys first, then one save of every new
person) is all-or-nothing, and a person's id derives from the incident and the keyed hash of
their address, so re-running a file (or resuming an interrupted one) adds nobody twice.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import BaseModel, ConfigDict

from events.incident import Incident
from events.people import AffectedPerson
from services.application.context import RequestContext
from services.application.errors import InvalidInput, NotFound, RuleBroken
from services.application.fields import Email, Line, OptionalTitle, Title, checked
from services.assessment.jurisdictions import is_known
from services.incidents.handlers import IncidentHandlers
from services.logging import redactor
from services.people.rows import Progress, read_rows
from services.people.validation import PersonInput, Rejection, check_row, normalise_language
from services.vault.sealing import PersonData
from services.vault.vault import Vault

PEOPLE_NAMESPACE = uuid5(NAMESPACE_URL, "https://breachledger.invalid/affected-person")


def person_id(incident_id: UUID, lookup: str) -> UUID:
    """The id of a person on an incident: stable, and revealing nothing about them."""
    return uuid5(PEOPLE_NAMESPACE, f"{incident_id}/{lookup}")


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


class PeopleHandlers(IncidentHandlers):
    """Commands on affected people; personal data is sealed before it reaches an event."""

    import_batch_size: int = 1000
    import_max_bytes: int = 256 * 2**20

    def _vault(self) -> Vault:
        if self.vault is None:
            msg = "no vault configured"
            raise RuntimeError(msg)
        return self.vault

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
        incident = self.load(incident_id, Incident)
        if incident.is_closed:
            raise RuleBroken("status", "the incident is closed; reopen it before importing")
        vault = self._vault()
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
        report.rejections_file = str(rejected_path) if writer.count else None
        self.log_change(
            "people.imported",
            ctx,
            incident_id=str(incident_id),
            imported=report.imported,
            already_present=report.already_present,
            rejected=report.rejected,
        )
        return report

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
        lookups = [vault.lookups.email(p.data.email) for p in batch]
        ids = [person_id(incident.id, lookup) for lookup in lookups]
        existing = self.existing_ids(ids)
        fresh: list[tuple[PersonInput, str, UUID]] = []
        seen: set[UUID] = set()
        for person, lookup, pid in zip(batch, lookups, ids, strict=True):
            if pid in existing:
                report.already_present += 1
            elif pid in seen:
                report.duplicates += 1
                writer.write(Rejection(person.row, "email", "duplicate of an earlier row"))
            else:
                seen.add(pid)
                fresh.append((person, lookup, pid))
        if not fresh:
            report.batches += 1
            return
        redactor.remember(*(v for p, _, _ in fresh for v in (p.data.name, p.data.reference)))
        sealed = vault.seal_new([p.data for p, _, _ in fresh])
        cause = self.cause(ctx)
        people = [
            AffectedPerson.record(
                cause,
                person_id=pid,
                incident_id=incident.id,
                lookup=lookup,
                reference_lookup=vault.lookups.reference(p.data.reference)
                if p.data.reference
                else None,
                language=p.language,
                jurisdiction=p.jurisdiction,
                sealed=s,
                source=source,
                row=p.row,
            )
            for (p, lookup, pid), s in zip(fresh, sealed, strict=True)
        ]
        self.save_aggregates(people)
        report.imported += len(people)
        report.batches += 1

    def person_on(self, incident_id: UUID, email: str) -> AffectedPerson:
        """The person with this address on an incident."""
        lookup = self._vault().lookups.email(email)
        try:
            return self.load(person_id(incident_id, lookup), AffectedPerson)
        except NotFound:
            raise NotFound("email", "no such person on this incident") from None

    def view_person(self, person: AffectedPerson) -> PersonView:
        """A person with their data opened (None once erased)."""
        state = person.state
        data = None if person.is_erased else self._vault().open(state.sealed)
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
        """Record corrected data for a person (resealed under the same key)."""
        cmd = self.validated(CorrectPerson, request)
        vault = self._vault()

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
                lookup=vault.lookups.email(data.email),
                reference_lookup=vault.lookups.reference(data.reference)
                if data.reference
                else None,
                language=language,
                jurisdiction=jurisdiction,
                sealed=sealed,
                reason=cmd.reason,
                changed=(data, language, jurisdiction)
                != (current, person.state.language, person.state.jurisdiction),
            )

        return self.change(target, AffectedPerson, ctx, correct, logged="person.corrected")

    def erase_person(self, target: UUID, reason: str, ctx: RequestContext) -> AffectedPerson:
        """Destroy a person's keys, then record the erasure (who, when, why; no data)."""
        vault = self._vault()
        person = self.load(target, AffectedPerson)
        if person.is_erased:
            raise RuleBroken("person", "the person's data was already erased")
        reason = checked("reason", Line, reason)
        keys = person.state.key_ids
        vault.shred(keys)
        return self.change(
            target,
            AffectedPerson,
            ctx,
            lambda p, cause: p.erase(cause, reason=reason, keys_destroyed=keys),
            logged="person.erased",
        )


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
