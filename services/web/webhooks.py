"""Outbound webhooks, for admins: the subscriptions (each by its receiver's origin, never its
whole URL) with their latest delivery, a form subscribing a receiver (its signing secret
shown once, on the page answering the form), and a page per subscription with its delivery
log, disable and enable, and a signed test delivery."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from events.webhooks import PayloadShape, WebhookKind, WebhookSubscription
from services.access.permissions import Permission
from services.application.context import RequestContext
from services.application.errors import ServiceError
from services.bootstrap import Runtime
from services.http.auth import Caller
from services.http.runtime import runtime_of
from services.web.access import (
    Posted,
    WebRefusal,
    changer,
    parse_id,
    request_context,
    text,
    texts,
    version_of,
    viewer,
)
from services.web.incident import STALE
from services.web.render import page
from services.webhooks.documents import webhook_document
from services.webhooks.store import STATUSES

router = APIRouter(include_in_schema=False)

ADMIN = Permission.WEBHOOKS_ADMIN
LIMITS = (50, 200, 1000)
"""How many rows of a delivery log a page shows (the first is the default)."""


def _fresh_values() -> dict[str, Any]:
    return {"kinds": [], "shape": PayloadShape.JSON.value}


def webhooks_page(
    request: Request,
    caller: Caller,
    *,
    error: str | None = None,
    status: int = 200,
    values: dict[str, Any] | None = None,
) -> Response:
    """Every subscription with its latest delivery, and the form subscribing a receiver
    (re-filled after a refusal with the kinds and shape chosen, never the URL)."""
    handlers = runtime_of(request).app.webhooks
    subscriptions = handlers.list_webhooks()
    latest = handlers.latest_deliveries(s.id for s in subscriptions)
    rows = [{**webhook_document(s), "last": latest.get(s.id)} for s in subscriptions]
    return page(
        request,
        "webhooks.html",
        caller=caller,
        status=status,
        error=error,
        rows=rows,
        kinds=[k.value for k in WebhookKind],
        shapes=[s.value for s in PayloadShape],
        values=values or _fresh_values(),
    )


def _subscription(request: Request, webhook_id: UUID) -> WebhookSubscription:
    try:
        return runtime_of(request).app.webhooks.get_webhook(webhook_id)
    except ServiceError:
        raise WebRefusal(404, "Not found", "There is no such webhook subscription.") from None


def _wanted_status(request: Request) -> str | None:
    """The delivery status the page is filtered by (none when absent or not a status)."""
    given = request.query_params.get("status", "")
    return given if given in STATUSES else None


def _limit(request: Request) -> int:
    given = request.query_params.get("limit", "")
    return int(given) if given in {str(n) for n in LIMITS} else LIMITS[0]


def webhook_page(
    request: Request,
    caller: Caller,
    webhook_id: UUID,
    *,
    error: str | None = None,
    status: int = 200,
    secret: str | None = None,
    tested: dict[str, Any] | None = None,
) -> Response:
    """One subscription, its delivery log (latest first, filtered by status and limited,
    with the counts by status), its forms, and a secret or a test's answer to show."""
    handlers = runtime_of(request).app.webhooks
    subscription = _subscription(request, webhook_id)
    wanted = _wanted_status(request)
    limit = _limit(request)
    counts = handlers.delivery_counts(subscription.id)
    rows = handlers.deliveries(subscription.id, limit=limit, status=wanted)
    return page(
        request,
        "webhook.html",
        caller=caller,
        status=status,
        error=error,
        hook=webhook_document(subscription),
        deliveries=[d.as_dict() for d in rows],
        counts=counts,
        total=counts[wanted] if wanted else sum(counts.values()),
        wanted=wanted,
        limit=limit,
        limits=LIMITS,
        statuses=STATUSES,
        secret=secret,
        tested=tested,
    )


@router.get("/webhooks")
def webhooks(request: Request) -> Response:
    """Every subscription: its receiver's origin, kinds, shape, state, creation and latest
    delivery."""
    return webhooks_page(request, viewer(request, ADMIN))


@router.post("/webhooks")
def add_webhook(request: Request, form: Posted) -> Response:
    """Subscribe a receiver; answer with its page showing the signing secret, once."""
    caller = changer(request, form, ADMIN)
    rt = runtime_of(request)
    kinds = texts(form, "kinds")
    shape = text(form, "shape") or PayloadShape.JSON.value
    try:
        subscription, secret = rt.gateway.run(
            rt.app.webhooks.add_webhook,
            text(form, "url"),
            kinds,
            request_context(request, caller),
            shape=shape,
        )
    except ServiceError as e:
        known = {k.value for k in WebhookKind}
        values = {
            "kinds": [k for k in kinds if k in known],
            "shape": shape if shape in {s.value for s in PayloadShape} else "",
        }
        return webhooks_page(
            request, caller, error=f"{e.field}: {e.reason}", status=e.http_status, values=values
        )
    return webhook_page(request, caller, subscription.id, secret=secret)


@router.get("/webhooks/{webhook_id}")
def show_webhook(request: Request, webhook_id: str) -> Response:
    """One subscription and its delivery log (``?status=`` filters, ``?limit=`` bounds)."""
    caller = viewer(request, ADMIN)
    return webhook_page(request, caller, parse_id(webhook_id, "webhook subscription"))


def _test(rt: Runtime, target: UUID, form: FormData, ctx: RequestContext) -> dict[str, Any]:
    answer = rt.app.webhooks.test_webhook(target, ctx)
    return {"outcome": answer.outcome, "code": answer.code, "error": answer.error}


def _disable(rt: Runtime, target: UUID, form: FormData, ctx: RequestContext) -> None:
    rt.app.webhooks.disable_webhook(target, text(form, "reason"), ctx)


def _enable(rt: Runtime, target: UUID, form: FormData, ctx: RequestContext) -> None:
    rt.app.webhooks.enable_webhook(target, ctx)


WebhookStep = Callable[[Runtime, UUID, FormData, RequestContext], dict[str, Any] | None]

WEBHOOK_STEPS: dict[str, WebhookStep] = {
    "disable": _disable,
    "enable": _enable,
    "test": _test,
}
"""Each subscription action's command; the test answers the receiver's answer to show."""

VERSIONED = frozenset({"disable", "enable"})
"""Actions guarded by the version the page showed (a test changes nothing)."""

DONE = {"disable": "webhook_disabled", "enable": "webhook_enabled"}
"""The confirmation each change redirects with."""


@router.post("/webhooks/{webhook_id}/{action}")
def webhook_action(request: Request, webhook_id: str, action: str, form: Posted) -> Response:
    """Disable (with a reason) or enable a subscription, or send it a signed test delivery
    and show the receiver's answer (its code, or the kind of failure; never the URL)."""
    caller = changer(request, form, ADMIN)
    target = parse_id(webhook_id, "webhook subscription")
    step = WEBHOOK_STEPS.get(action)
    if step is None:
        return webhook_page(
            request, caller, target, error="action: no such webhook action", status=404
        )
    rt = runtime_of(request)
    try:
        version = version_of(form) if action in VERSIONED else None
        ctx = request_context(request, caller, target, version)
        tested = rt.gateway.run(step, rt, target, form, ctx)
    except ServiceError as e:
        status = e.http_status
        message = STALE if status == 412 else f"{e.field}: {e.reason}"
        return webhook_page(request, caller, target, error=message, status=status)
    if tested is not None:
        return webhook_page(request, caller, target, tested=tested)
    return RedirectResponse(f"/webhooks/{target}?ok={DONE[action]}", status_code=303)
