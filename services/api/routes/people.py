"""Affected people: import a file into an incident, the incident's summary (counts only), the
data-subject rights (access, rectification, erasure) and the retention run.

Personal data travels only in request bodies and in answers to callers who hold the rights
permission; lookups by email or reference are POSTed, never put in a URL. An imported file
is streamed to a private folder of the data directory's upload area, imported as the console
imports it, and removed once the answer is sent (or the import fails). Once a person is
erased, nothing finds them by address or reference: their export is a stranger's.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask

from events.incident import Incident
from events.people import AffectedPerson
from services.access.permissions import Permission
from services.application.errors import InvalidInput, NotFound, PreconditionFailed, RuleBroken
from services.bootstrap import Runtime
from services.http.auth import Caller, require
from services.http.problems import Problem
from services.http.requests import context, if_match, tag
from services.http.runtime import runtime_of
from services.people import retention
from services.people.handlers import ImportReport
from services.people.import_files import Upload, open_private, read_rejections
from services.people.presentation import person_record

router = APIRouter(tags=["people"])

Reader = Annotated[Caller, Depends(require(Permission.PEOPLE_READ))]
Importer = Annotated[Caller, Depends(require(Permission.PEOPLE_IMPORT))]
Rights = Annotated[Caller, Depends(require(Permission.PEOPLE_RIGHTS))]
Retainer = Annotated[Caller, Depends(require(Permission.RETENTION))]

IMPORT_TYPES = {
    "text/csv": ".csv",
    "application/csv": ".csv",
    "application/x-ndjson": ".jsonl",
    "application/jsonl": ".jsonl",
    "application/x-jsonlines": ".jsonl",
}
"""Media types an import accepts, and the file kind each is read as."""


class Lookup(BaseModel):
    """Whose records: an email address or an external reference, optionally on one
    incident."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(default=None, min_length=1, max_length=320)
    reference: str | None = Field(default=None, min_length=1, max_length=200)
    incident_id: UUID | None = None


class CorrectBody(BaseModel):
    """A rectification: the person (incident and current email), why, and the new values
    (only those given change)."""

    model_config = ConfigDict(extra="forbid")

    incident_id: UUID
    email: str = Field(min_length=1, max_length=320)
    reason: str = Field(min_length=1)
    new_email: str | None = None
    name: str | None = None
    language: str | None = None
    jurisdiction: str | None = None
    reference: str | None = None


class EraseBody(BaseModel):
    """An erasure: why, and whom (incident and email, or a reference on every incident
    unless one is named)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1)
    incident_id: UUID | None = None
    email: str | None = Field(default=None, min_length=1, max_length=320)
    reference: str | None = Field(default=None, min_length=1, max_length=200)


class RetentionBody(BaseModel):
    """A retention run; ``dry_run`` reports what is due and erases nothing."""

    model_config = ConfigDict(extra="forbid")

    dry_run: bool = False


def _body_error(error: InvalidInput, name: str) -> InvalidInput:
    """A file problem reported against the request body (not the temporary file's name)."""
    if error.field != "file":
        return error
    return InvalidInput("body", error.reason.replace(name, "the body"))


async def _receive(request: Request, path: Path) -> None:
    """Write the request body to ``path`` (readable by this process only) as it arrives."""
    with open_private(path) as out:
        async for chunk in request.stream():
            if chunk:
                await run_in_threadpool(out.write, chunk)


def _report_stream(report: ImportReport, upload: Upload) -> Iterator[bytes]:
    """The import report as JSON, its rejected rows (row, field, reason) read from the
    rejections file as they are sent; the upload's folder is removed at the end."""
    try:
        counts = {
            "rows": report.rows,
            "imported": report.imported,
            "already_present": report.already_present,
            "duplicates": report.duplicates,
            "rejected": report.rejected,
            "batches": report.batches,
        }
        yield json.dumps(counts)[:-1].encode() + b', "rejections": ['
        for i, rejection in enumerate(read_rejections(report)):
            item = {"row": rejection.row, "field": rejection.field, "reason": rejection.reason}
            yield (b", " if i else b"") + json.dumps(item).encode()
        yield b"]}"
    finally:
        upload.close()


@router.post(
    "/incidents/{incident_id}/people",
    summary="Import affected people",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/json": {}}}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}} for media in IMPORT_TYPES
            },
        }
    },
)
async def import_people(incident_id: UUID, request: Request, caller: Importer) -> Any:
    """Import affected people from the body: CSV (``text/csv``; columns email, name,
    language, jurisdiction, optional reference, any other column an attribute) or JSON Lines
    (``application/x-ndjson``). Answers the counts and, for each rejected row, its number,
    field and reason (never its values). Sending the same file again adds nobody twice."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    suffix = IMPORT_TYPES.get(media)
    if suffix is None:
        raise Problem(
            415,
            "Unsupported media type",
            "Content-Type: send text/csv, or application/x-ndjson for JSON Lines",
            field="Content-Type",
        )
    rt = runtime_of(request)
    ctx = context(request, caller)
    incident = await run_in_threadpool(rt.app.core.load, incident_id, Incident)
    if incident.is_closed:
        raise RuleBroken("status", "the incident is closed; reopen it before importing")
    upload = rt.uploads.new()
    path = upload.folder / f"people{suffix}"
    try:
        await _receive(request, path)
        try:
            report = await run_in_threadpool(
                rt.gateway.run, rt.app.people.import_people, incident_id, path, ctx
            )
        except InvalidInput as e:
            raise _body_error(e, path.name) from None
    except BaseException:
        upload.close()
        raise
    stream = _report_stream(report, upload)
    # The stream removes the folder when it ends; should the client leave before it starts,
    # the folder goes when the answer is done with, or when the stream is collected.
    weakref.finalize(stream, upload.close)
    return StreamingResponse(
        stream, media_type="application/json", background=BackgroundTask(upload.close)
    )


@router.get("/incidents/{incident_id}/people", summary="Who an incident affects, in numbers")
def summary(incident_id: UUID, request: Request, caller: Reader) -> Any:
    """How many people the incident affects, by status, language and jurisdiction (counts
    only, no personal data)."""
    rt = runtime_of(request)
    rt.app.core.load(incident_id, Incident)
    return {"incident_id": str(incident_id), **rt.people.summary(incident_id)}


def _people(
    rt: Runtime, email: str | None, reference: str | None, incident_id: UUID | None
) -> list[AffectedPerson]:
    """The people an email or a reference (exactly one given) names, on one incident if
    given, found through the lookup index."""
    if (email is None) == (reference is None):
        raise InvalidInput("email", "give the person's email or their reference (one of them)")
    if email is not None:
        return rt.app.people.people_by_email(email, incident_id)
    assert reference is not None
    return rt.app.people.people_by_reference(reference, incident_id)


@router.post("/people/export", summary="Everything held about a person")
def export(body: Lookup, request: Request, caller: Rights) -> Any:
    """Every record held about a person (by email or reference, on every incident unless
    one is named), with their data, corrections and the notices they were sent: the answer
    to an access request."""
    rt = runtime_of(request)
    if body.incident_id is not None:
        rt.app.core.load(body.incident_id, Incident)
    people = _people(rt, body.email, body.reference, body.incident_id)
    return {"records": [person_record(rt.app.people, rt.notifications, p) for p in people]}


@router.post("/people/correct", summary="Correct a person's data")
def correct(body: CorrectBody, request: Request, response: Response, caller: Rights) -> Any:
    """Record a correction of a person's data (a rectification request) as a new event;
    ``If-Match`` may name the person's version from the export."""
    rt = runtime_of(request)
    rt.app.core.load(body.incident_id, Incident)
    target = rt.app.people.person_on(body.incident_id, body.email).id
    data: dict[str, Any] = {"reason": body.reason}
    for key, value in (
        ("email", body.new_email),
        ("name", body.name),
        ("language", body.language),
        ("jurisdiction", body.jurisdiction),
        ("reference", body.reference),
    ):
        if value is not None:
            data[key] = value
    person = rt.gateway.run(
        rt.app.people.correct_person, target, data, context(request, caller, target)
    )
    tag(response, person.version)
    return {
        "person_id": str(person.id),
        "incident_id": str(body.incident_id),
        "version": person.version,
    }


def _targets(rt: Runtime, body: EraseBody) -> list[AffectedPerson]:
    """The people an erasure names (as the console's ``people erase`` finds them)."""
    if body.incident_id is not None:
        rt.app.core.load(body.incident_id, Incident)
    if body.reference is not None:
        if body.email is not None:
            raise InvalidInput("email", "give the email (with incident_id) or the reference")
        people = _people(rt, None, body.reference, body.incident_id)
        if not people:
            raise NotFound("reference", "no person has this reference")
        return people
    if body.incident_id is None or body.email is None:
        raise InvalidInput("email", "give incident_id and email, or reference")
    return [rt.app.people.person_on(body.incident_id, body.email)]


@router.post("/people/erase", summary="Erase a person's data")
def erase(body: EraseBody, request: Request, caller: Rights) -> Any:
    """Erase a person's data by destroying their key (crypto-shredding) and the lookups that
    find them; the erasure is recorded (who, when, why) without the data. By reference,
    every incident's record is erased. An erased person is found by nobody afterwards: a
    second erasure answers as for a person never held (404). ``If-Match`` may name the
    version of the one person erased."""
    rt = runtime_of(request)
    targets = _targets(rt, body)
    active = [p for p in targets if not p.is_erased]
    if not active:
        raise RuleBroken("person", "the person's data was already erased")
    expected = if_match(request)
    if expected is not None:
        if len(targets) != 1:
            raise Problem(
                400,
                "Bad request",
                f"If-Match: names one person's version; this erasure names {len(targets)}",
                field="If-Match",
            )
        if targets[0].version != expected:
            raise PreconditionFailed(
                "If-Match",
                f"the version given is stale; the current version is {targets[0].version}",
            )
    ctx = context(request, caller)
    erased = rt.gateway.run(
        lambda: [rt.app.people.erase_person(p.id, body.reason, ctx).id for p in active]
    )
    return {
        "erased": [str(e) for e in erased],
        "already_erased": [str(p.id) for p in targets if p.is_erased],
    }


@router.post("/retention/run", summary="Apply the retention policy")
def run_retention(request: Request, caller: Retainer, body: RetentionBody | None = None) -> Any:
    """Erase affected people's data the configured number of days after their incident was
    closed (once its notices are final); report what was, or with ``dry_run`` would be,
    erased."""
    rt = runtime_of(request)
    dry_run = body.dry_run if body is not None else False
    days = rt.settings.retention_days
    if days is None:
        raise InvalidInput("BREACH_RETENTION_DAYS", "no retention period is configured")
    items = retention.plan(
        rt.app.people, rt.board, rt.people, rt.notifications, days=days, now=rt.app.core.clock.now()
    )
    erased = (
        0
        if dry_run
        else rt.gateway.run(retention.apply, rt.app.people, items, days, context(request, caller))
    )
    return {
        "dry_run": dry_run,
        "days": days,
        "incidents": [
            {
                "incident_id": str(i.incident_id),
                "closed_at": i.closed_at.isoformat(),
                "due_at": i.due_at.isoformat(),
                "people": len(i.people),
            }
            for i in items
        ],
        "due": sum(len(i.people) for i in items),
        "erased": erased,
    }
