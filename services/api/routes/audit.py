"""Audit: replay an incident (or the board) as of a recorded moment, the changes between two
moments, verification of the live record and of a bundle, and the auditor's bundle itself.

Every answer is rebuilt from the log. Moments are ISO 8601 (one without an offset is read in
the configured zone; ``now`` is accepted); a moment that is malformed, in the future or
before the incident was reported is refused naming its parameter.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from services.access.permissions import Permission
from services.application.errors import InvalidInput
from services.audit.bundle import BundleError, unpacked_size, verify_bundle
from services.audit.replay import diff, replay_incident
from services.bootstrap import Runtime
from services.http.auth import Caller, require
from services.http.problems import Problem
from services.http.runtime import runtime_of
from services.operations import audit as service
from services.operations.board_replays import BoardReplays
from services.timefmt import parse_time

router = APIRouter(tags=["audit"])

Replayer = Annotated[Caller, Depends(require(Permission.AUDIT_REPLAY))]
Exporter = Annotated[Caller, Depends(require(Permission.AUDIT_EXPORT))]

ZIP = "application/zip"
CHUNK = 64 * 1024
UNPACKED_RATIO = 64
"""A bundle sent for checking may unpack to at most this many times the body limit."""

Moment = Annotated[
    str,
    Query(
        min_length=1,
        max_length=64,
        description="ISO 8601, e.g. 2026-11-27T14:05+01:00 (without an offset: the "
        "configured zone), or 'now'.",
    ),
]


def moment(rt: Runtime, field: str, text: str, now: datetime) -> datetime:
    """``text`` as a moment no later than ``now``, or 422 naming ``field``."""
    value = parse_time(field, text, rt.settings.zone, now=now)
    if value > now:
        raise InvalidInput(field, "is in the future")
    return value


def reported_by(rt: Runtime, field: str, value: datetime, reported: datetime) -> None:
    """Refuse a moment before the incident was reported (422 naming ``field``)."""
    if value < reported:
        raise InvalidInput(field, f"the incident was reported later ({reported.isoformat()})")


@router.get(
    "/replay",
    summary="The board as of a moment",
    responses={429: {"description": "Too many replays of the board are being rebuilt."}},
)
def board_replay(request: Request, caller: Replayer, at: Moment) -> Any:
    """Every incident as the board showed it at ``at``, rebuilt from the log up to the last
    event recorded by then (its position is in the answer). A process rebuilds one board at
    a time per user and ``BREACH_REPLAY_CONCURRENCY`` in all (429 with Retry-After beyond
    that), and answers a moment it has rebuilt recently from its cache."""
    rt = runtime_of(request)
    when = moment(rt, "at", at, rt.app.core.clock.now())
    replays = request.app.state.board_replays
    assert isinstance(replays, BoardReplays)
    position, rows = replays.board_as_of(rt, caller.username, when)
    return {"as_of": when.isoformat(), "position": position, "board": rows}


@router.get("/incidents/{incident_id}/replay", summary="An incident as of a moment")
def incident_replay(incident_id: UUID, request: Request, caller: Replayer, at: Moment) -> Any:
    """The incident as recorded at ``at``: facts, assessment with its working, obligations,
    decisions and the state each was based on, tasks and campaigns."""
    rt = runtime_of(request)
    when = moment(rt, "at", at, rt.app.core.clock.now())
    reported_by(rt, "at", when, rt.app.incidents.get_incident(incident_id).created_on)
    return replay_incident(rt.app, rt.notifications, incident_id, when).model_dump(mode="json")


@router.get("/incidents/{incident_id}/diff", summary="What changed between two moments")
def incident_diff(
    incident_id: UUID,
    request: Request,
    caller: Replayer,
    since: Annotated[str, Query(alias="from", min_length=1, max_length=64)],
    until: Annotated[str, Query(alias="to", min_length=1, max_length=64)],
) -> Any:
    """The changes to the incident (and its tasks and campaigns) recorded between ``from``
    and ``to``, in words."""
    rt = runtime_of(request)
    now = rt.app.core.clock.now()
    start = moment(rt, "from", since, now)
    end = moment(rt, "to", until, now)
    reported = rt.app.incidents.get_incident(incident_id).created_on
    reported_by(rt, "from", start, reported)
    if end < start:
        raise InvalidInput("to", "is before from")
    changes = diff(
        replay_incident(rt.app, rt.notifications, incident_id, start),
        replay_incident(rt.app, rt.notifications, incident_id, end),
    )
    return {"from": start.isoformat(), "to": end.isoformat(), "changes": changes}


@router.get("/audit/verify", summary="Verify the live record")
def verify_live(request: Request, caller: Exporter) -> Any:
    """Recompute the hash chain over every stored event and check the signed checkpoints;
    ``ok`` is false and ``first_bad_position`` names the first altered event otherwise.
    Events not yet covered by a checkpoint are counted in ``unverified_tail``."""
    verdict = service.verify_live(runtime_of(request))
    return {
        "ok": verdict.ok,
        "checked": verdict.checked,
        "checkpoints": verdict.checkpoints,
        "first_bad_position": verdict.first_bad_position,
        "reason": verdict.reason,
        "unverified_tail": verdict.unverified_tail,
    }


def _chunks(handle: IO[bytes]) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK):
            yield chunk


@router.get(
    "/incidents/{incident_id}/bundle",
    summary="Export the auditor's bundle",
    response_class=StreamingResponse,
    responses={200: {"content": {ZIP: {}}, "description": "The bundle as a .zip file."}},
)
def export_bundle(incident_id: UUID, request: Request, caller: Exporter) -> StreamingResponse:
    """The incident's verifiable bundle as a .zip: its stored events (personal data sealed),
    the chain and signed checkpoint covering them, a signed manifest and an HTML report."""
    rt = runtime_of(request)
    rt.app.incidents.get_incident(incident_id)
    name = f"breachledger-bundle-{incident_id}.zip"
    scratch = Path(tempfile.mkdtemp(prefix="breach-bundle-"))
    try:
        out = scratch / name
        try:
            service.export(rt, incident_id, out)
        except BundleError as e:
            raise Problem(409, "Bundle not ready", f"bundle: {e}", field="bundle") from None
        size = out.stat().st_size
        handle = out.open("rb")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return StreamingResponse(
        _chunks(handle),
        media_type=ZIP,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Length": str(size),
        },
    )


@router.post(
    "/audit/bundle/verify",
    summary="Verify a bundle",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {ZIP: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def verify_sent_bundle(request: Request, caller: Exporter) -> Any:
    """Check a bundle (the .zip this API exports) with the ledger's audit key: the manifest's
    signature, every file's hash, every event against the chain, and the checkpoint. A body
    that is no readable .zip is refused (422 naming ``bundle``); a damaged, missing, altered
    or malformed file, or another key's signature, is a verdict with ``ok`` false and the
    problems named."""
    rt = runtime_of(request)
    body = await request.body()
    return await run_in_threadpool(_check_bundle, body, rt.audit_key, rt.settings.http_max_body)


def _check_bundle(body: bytes, key: bytes, max_body: int) -> dict[str, Any]:
    limit = UNPACKED_RATIO * max_body
    with tempfile.TemporaryDirectory(prefix="breach-check-") as scratch:
        path = Path(scratch) / "bundle.zip"
        path.write_bytes(body)
        try:
            if unpacked_size(path) > limit:
                raise InvalidInput("bundle", f"unpacks to more than {limit} bytes")
            verdict = verify_bundle(path, key)
        except BundleError as e:
            raise InvalidInput("bundle", str(e)) from None
    return {
        "ok": verdict.ok,
        "events": verdict.events,
        "checkpoint": verdict.checkpoint,
        "first_bad_position": verdict.first_bad_position,
        "problems": verdict.problems,
    }
