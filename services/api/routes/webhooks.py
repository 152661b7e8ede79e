"""Outbound webhook subscriptions (admin): add (the signing secret is in that answer only),
list, show, disable, enable, send a signed test delivery, read the delivery log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from events.webhooks import PayloadShape, WebhookKind, WebhookSubscription
from services.access.permissions import Permission
from services.application.fields import Line
from services.http.auth import Caller, require
from services.http.requests import context, tag
from services.http.runtime import runtime_of
from services.webhooks.documents import webhook_document
from services.webhooks.store import STATUSES

router = APIRouter(tags=["webhooks"])

Admin = Annotated[Caller, Depends(require(Permission.WEBHOOKS_ADMIN))]


class NewWebhook(BaseModel):
    """A receiver to subscribe."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=4096, description="http(s) URL of the receiver.")
    kinds: list[WebhookKind] = Field(min_length=1, description="Kinds of event to deliver.")
    shape: PayloadShape = Field(
        default=PayloadShape.JSON, description="json (the full document) or chat ({text})."
    )


class Reason(BaseModel):
    """Why."""

    model_config = ConfigDict(extra="forbid")

    reason: Line


def _answer(response: Response, subscription: WebhookSubscription) -> dict[str, Any]:
    tag(response, subscription.version)
    return webhook_document(subscription)


@router.get("/webhooks", summary="Webhook subscriptions")
def list_webhooks(request: Request, caller: Admin) -> Any:
    """Every subscription, oldest first."""
    subs = runtime_of(request).app.webhooks.list_webhooks()
    return {"items": [webhook_document(s) for s in subs]}


@router.post("/webhooks", status_code=201, summary="Subscribe a webhook receiver")
def add_webhook(body: NewWebhook, request: Request, response: Response, caller: Admin) -> Any:
    """Subscribe a receiver; the answer holds the signing secret, shown only here."""
    rt = runtime_of(request)
    subscription, secret = rt.gateway.run(
        rt.app.webhooks.add_webhook,
        body.url,
        body.kinds,
        context(request, caller),
        shape=body.shape,
    )
    response.headers["Location"] = f"/api/v1/webhooks/{subscription.id}"
    return {**_answer(response, subscription), "secret": secret}


@router.get("/webhooks/{webhook_id}", summary="A webhook subscription")
def show_webhook(webhook_id: str, request: Request, response: Response, caller: Admin) -> Any:
    """A subscription's origin, kinds and state."""
    return _answer(response, runtime_of(request).app.webhooks.get_webhook(webhook_id))


@router.post("/webhooks/{webhook_id}/disable", summary="Disable a webhook subscription")
def disable_webhook(
    webhook_id: str, body: Reason, request: Request, response: Response, caller: Admin
) -> Any:
    """Stop deliveries; the subscription keeps its place in the log."""
    rt = runtime_of(request)
    subscription = rt.gateway.run(
        rt.app.webhooks.disable_webhook, webhook_id, body.reason, context(request, caller)
    )
    return _answer(response, subscription)


@router.post("/webhooks/{webhook_id}/enable", summary="Enable a webhook subscription")
def enable_webhook(webhook_id: str, request: Request, response: Response, caller: Admin) -> Any:
    """Deliver again, from where deliveries stopped."""
    rt = runtime_of(request)
    subscription = rt.gateway.run(
        rt.app.webhooks.enable_webhook, webhook_id, context(request, caller)
    )
    return _answer(response, subscription)


@router.post("/webhooks/{webhook_id}/test", summary="Send a signed test delivery")
def test_webhook(webhook_id: str, request: Request, caller: Admin) -> Any:
    """Send a signed ``ping`` to the receiver now and report its answer (nothing recorded)."""
    rt = runtime_of(request)
    answer = rt.gateway.run(rt.app.webhooks.test_webhook, webhook_id, context(request, caller))
    return {"outcome": answer.outcome, "code": answer.code, "error": answer.error}


@router.get("/webhooks/{webhook_id}/deliveries", summary="A webhook's delivery log")
def deliveries(
    webhook_id: str,
    request: Request,
    caller: Admin,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    status: Annotated[str | None, Query(pattern="^(" + "|".join(STATUSES) + ")$")] = None,
) -> Any:
    """Deliveries, latest first: id, position, kind, status, attempts, last answer code and
    times (never a body)."""
    found = runtime_of(request).app.webhooks.deliveries(webhook_id, limit=limit, status=status)
    return {"items": [d.as_dict() for d in found]}
