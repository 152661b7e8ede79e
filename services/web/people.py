"""Importing an incident's affected people from the incident page: a CSV or JSON Lines file
uploaded through a form, imported as the API and the command line import it (all-or-nothing
batches, nobody added twice), answered with the counts and the rejected rows' numbers,
fields and reasons (never their values).

The upload is written to a private folder of the data directory's upload area and removed,
with its rejections report, before the page is answered (whatever happened).
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path

from fastapi import APIRouter, Request, Response
from starlette.datastructures import UploadFile

from services.access.permissions import Permission
from services.application.errors import InvalidInput, ServiceError
from services.http.runtime import runtime_of
from services.people.handlers import ImportReport
from services.people.import_files import open_private, read_rejections
from services.web.access import Posted, changer, parse_id, request_context
from services.web.incident import failure_of, incident_page

router = APIRouter(include_in_schema=False)

SUFFIXES = (".csv", ".jsonl", ".ndjson")
SHOWN_REJECTIONS = 50
"""Rejected rows listed on the page (the counts cover every one)."""
CHUNK = 1 << 20


def _save(upload: UploadFile, path: Path) -> None:
    """Copy the upload to ``path``, readable by this process only."""
    with open_private(path) as out:
        upload.file.seek(0)
        while chunk := upload.file.read(CHUNK):
            out.write(chunk)


def _summary(report: ImportReport) -> str:
    """The import's counts in one sentence."""
    parts = [f"{report.imported:,} imported", f"{report.already_present:,} already on record"]
    if report.duplicates:
        parts.append(f"{report.duplicates:,} repeated in the file")
    parts.append(f"{report.rejected:,} rejected")
    return f"People file read: {report.rows:,} rows; " + ", ".join(parts) + "."


@router.post("/incidents/{incident_id}/people")
def import_people(request: Request, incident_id: str, form: Posted) -> Response:
    """Import the uploaded file's people into the incident."""
    caller = changer(request, form, Permission.PEOPLE_IMPORT)
    target = parse_id(incident_id)
    rt = runtime_of(request)
    upload = form.get("file")
    name = (upload.filename or "") if isinstance(upload, UploadFile) else ""
    suffix = Path(name).suffix.lower()
    with rt.uploads.new() as held:
        try:
            if not isinstance(upload, UploadFile) or not name:
                raise InvalidInput("file", "choose a CSV or JSON Lines file of the people")
            if suffix not in SUFFIXES:
                raise InvalidInput("file", "the file must be CSV (.csv) or JSON Lines (.jsonl)")
            path = held.folder / f"people{'.csv' if suffix == '.csv' else '.jsonl'}"
            _save(upload, path)
            report = rt.gateway.run(
                rt.app.people.import_people, target, path, request_context(request, caller, target)
            )
        except ServiceError as e:
            return incident_page(request, caller, target, failure=failure_of("people", e, {}))
        rejections = list(islice(read_rejections(report), SHOWN_REJECTIONS))
    extra = {
        "flash": _summary(report),
        "import_rejections": rejections,
        "import_rejected": report.rejected,
    }
    return incident_page(request, caller, target, extra=extra)
