"""Webhook commands for admins: add, list, test, deliveries, disable, enable.

They need the webhooks.admin permission of a signed-in user. The signing secret is printed
by ``add`` only; nothing prints it again, and no command prints a subscription's whole URL
(only its origin).
"""

from __future__ import annotations

from typing import Annotated

import typer

from events.webhooks import PayloadShape, WebhookKind
from services.access.permissions import Permission
from services.cli.app import app, state_of
from services.cli.guard import needs
from services.cli.output import emit_json, emit_table, note, say
from services.webhooks.documents import webhook_document

webhooks_app = typer.Typer(
    help=(
        "Outbound webhooks: signed deliveries of chosen kinds of event to a receiver, from "
        "the log, retried with backoff, with a delivery log per subscription. Kinds: "
        + ", ".join(k.value for k in WebhookKind)
        + "."
    ),
    no_args_is_help=True,
)
app.add_typer(webhooks_app, name="webhooks")

IdArg = Annotated[str, typer.Argument(help="The subscription's id (from `breach webhooks list`).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@webhooks_app.command("add")
@needs(Permission.WEBHOOKS_ADMIN)
def add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The receiver's http(s) URL.")],
    kinds: Annotated[
        list[WebhookKind], typer.Option("--kind", "-k", help="A kind of event (repeat).")
    ],
    shape: Annotated[
        PayloadShape,
        typer.Option("--shape", help="json (the full document) or chat (Slack/Teams text)."),
    ] = PayloadShape.JSON,
    as_json: JsonOpt = False,
) -> None:
    """Subscribe a receiver; prints the signing secret (shown only now)."""
    state = state_of(ctx)
    rt = state.runtime
    subscription, secret = rt.gateway.run(
        rt.app.webhooks.add_webhook, url, kinds, state.request(), shape=shape
    )
    if as_json:
        emit_json({**webhook_document(subscription), "secret": secret})
        return
    say(f"added webhook {subscription.id} to {subscription.state.origin}")
    say(f"signing secret: {secret}")
    note("the secret is shown only now; the receiver checks X-Breachledger-Signature with it")


@webhooks_app.command("list")
@needs(Permission.WEBHOOKS_ADMIN)
def list_webhooks(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List subscriptions: origin, kinds, shape and state (never the secret)."""
    subs = [webhook_document(s) for s in state_of(ctx).runtime.app.webhooks.list_webhooks()]
    if as_json:
        emit_json(subs)
        return
    rows = [
        {
            **s,
            "kinds": ", ".join(s["kinds"]),
            "state": f"disabled: {s['disabled_reason']}" if s["disabled"] else "active",
        }
        for s in subs
    ]
    emit_table(
        rows,
        [
            ("webhook_id", "Id"),
            ("origin", "Receiver"),
            ("kinds", "Kinds"),
            ("shape", "Shape"),
            ("state", "State"),
        ],
    )


@webhooks_app.command("test")
@needs(Permission.WEBHOOKS_ADMIN)
def ping(ctx: typer.Context, webhook_id: IdArg, as_json: JsonOpt = False) -> None:
    """Send a signed test delivery (kind ping) now and print the receiver's answer."""
    state = state_of(ctx)
    rt = state.runtime
    answer = rt.gateway.run(rt.app.webhooks.test_webhook, webhook_id, state.request())
    doc = {"outcome": answer.outcome, "code": answer.code, "error": answer.error}
    if as_json:
        emit_json(doc)
        return
    said = f"answered {answer.code}" if answer.code is not None else f"no answer ({answer.error})"
    say(f"ping {answer.outcome}: {said}")


@webhooks_app.command("deliveries")
@needs(Permission.WEBHOOKS_ADMIN)
def deliveries(
    ctx: typer.Context,
    webhook_id: IdArg,
    limit: Annotated[int, typer.Option(help="How many, latest first.")] = 50,
    status: Annotated[
        str | None, typer.Option(help="Only pending, delivered, dead or gone.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """A subscription's delivery log: position, kind, status, attempts, last answer."""
    found = state_of(ctx).runtime.app.webhooks.deliveries(webhook_id, limit=limit, status=status)
    rows = [d.as_dict() for d in found]
    if as_json:
        emit_json(rows)
        return
    emit_table(
        [{**r, "last": r["last_code"] or r["last_error"] or "-"} for r in rows],
        [
            ("position", "Position"),
            ("kind", "Kind"),
            ("status", "Status"),
            ("attempts", "Attempts"),
            ("last", "Last answer"),
            ("last_at", "Last tried"),
            ("delivery_id", "Delivery id"),
        ],
    )


@webhooks_app.command("disable")
@needs(Permission.WEBHOOKS_ADMIN)
def disable(
    ctx: typer.Context,
    webhook_id: IdArg,
    reason: Annotated[str, typer.Option(help="Why (required).")],
) -> None:
    """Stop a subscription's deliveries (enabled again, it resumes where it stopped)."""
    state = state_of(ctx)
    rt = state.runtime
    rt.gateway.run(rt.app.webhooks.disable_webhook, webhook_id, reason, state.request())
    say(f"disabled webhook {webhook_id}")


@webhooks_app.command("enable")
@needs(Permission.WEBHOOKS_ADMIN)
def enable(ctx: typer.Context, webhook_id: IdArg) -> None:
    """Deliver again, from where the subscription stopped."""
    state = state_of(ctx)
    rt = state.runtime
    rt.gateway.run(rt.app.webhooks.enable_webhook, webhook_id, state.request())
    say(f"enabled webhook {webhook_id}")
