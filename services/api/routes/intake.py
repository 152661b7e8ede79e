"""Alert intake for SIEM and monitoring tools: an alert becomes an incident.

Requests are authenticated by an HMAC-SHA256 signature over the raw body with the shared
intake secret (header ``X-Breach-Signature: sha256=<hex>``), checked before the body is
parsed. The incident's id is derived from the alert's source and id, so an alert delivered
twice (a retry, or a replay) creates one incident: the second answers 409 naming it.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError
from starlette.concurrency import run_in_threadpool

from events.values import IncidentType, SourceChannel
from services.access import actors
from services.application.context import RequestContext
from services.application.errors import InvalidInput, RuleBroken
from services.application.fields import Moment, OptionalText, Title
from services.http.problems import Problem
from services.http.requests import tag
from services.http.runtime import runtime_of
from services.incidents.handlers import DuplicateReport
from services.incidents.presentation import incident_document

router = APIRouter(prefix="/intake", tags=["intake"])

ALERT_NAMESPACE = uuid5(NAMESPACE_URL, "https://breachledger.invalid/alert")
SIGNATURE_HEADER = "X-Breach-Signature"
CLOCK_SKEW = timedelta(minutes=5)
ALERT_FIELDS = {
    "discovered_at": "detected_at",
    "reporter": "source",
    "source": "channel",
}
"""The alert's field each field of the incident report comes from (to name it in refusals)."""


class Alert(BaseModel):
    """An alert from a monitoring tool."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alert_id: Annotated[str, StringConstraints(pattern=r"^[\w.:/-]{1,128}$")]
    source: Annotated[str, StringConstraints(pattern=r"^[\w.-]{1,48}$")]
    title: Title
    description: OptionalText = ""
    detected_at: Moment
    incident_type: IncidentType = IncidentType.OTHER
    channel: SourceChannel = SourceChannel.SIEM


def tolerate_skew(detected_at: datetime, now: datetime) -> datetime:
    """A detection time slightly ahead of our clock (the tool's clock runs fast) is taken
    as now; further ahead it is left for the report's rule to refuse."""
    if now < detected_at <= now + CLOCK_SKEW:
        return now
    return detected_at


def alert_incident_id(source: str, alert_id: str) -> UUID:
    """The incident id an alert maps to."""
    return uuid5(ALERT_NAMESPACE, f"{source}\n{alert_id}")


def sign(secret: bytes, body: bytes) -> str:
    """The signature header value for ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def _verify(request: Request, secret: bytes, body: bytes) -> None:
    given = request.headers.get(SIGNATURE_HEADER.lower())
    if not given or not hmac.compare_digest(given.strip(), sign(secret, body)):
        raise Problem(
            401,
            "Unauthorized",
            f"{SIGNATURE_HEADER}: missing, or not the HMAC-SHA256 of the body with the intake "
            "secret",
            field=SIGNATURE_HEADER,
        )


@router.post(
    "/alerts",
    status_code=201,
    summary="Create an incident from a signed alert",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": Alert.model_json_schema()}},
        }
    },
)
async def intake(request: Request, response: Response) -> Any:
    """Verify the signature, then report the alert as an incident (once per alert id)."""
    rt = runtime_of(request)
    if rt.settings.intake_secret is None:
        raise Problem(
            503, "Intake off", "intake: set BREACH_INTAKE_SECRET to turn it on", field="intake"
        )
    body = await request.body()
    _verify(request, rt.settings.intake_secret.get_secret_value().encode(), body)
    try:
        alert = Alert.model_validate_json(body)
    except ValidationError as e:
        first = e.errors()[0]
        if first["type"] == "json_invalid":
            raise Problem(400, "Malformed JSON", "body: malformed JSON", field="body") from None
        found = InvalidInput.from_validation(e)
        field = "body" if found.field == "input" else found.field
        raise InvalidInput(field, found.reason) from None
    incident_id = alert_incident_id(alert.source, alert.alert_id)
    ctx = RequestContext(actor=actors.intake(alert.source))
    data = {
        "title": alert.title,
        "description": alert.description,
        "reporter": alert.source,
        "source": alert.channel.value,
        "incident_type": alert.incident_type.value,
        "discovered_at": tolerate_skew(alert.detected_at, rt.app.core.clock.now()),
    }
    try:
        incident = await run_in_threadpool(
            rt.gateway.run, rt.app.incidents.report_incident, data, ctx, incident_id=incident_id
        )
    except (InvalidInput, RuleBroken) as e:
        raise type(e)(ALERT_FIELDS.get(e.field, e.field), e.reason) from None
    except DuplicateReport as e:
        raise Problem(
            409,
            "Duplicate alert",
            f"alert_id: already reported as incident {e.incident_id}",
            field="alert_id",
            incident_id=str(e.incident_id),
        ) from None
    response.headers["Location"] = f"/api/v1/incidents/{incident.id}"
    tag(response, incident.version)
    return incident_document(incident)
