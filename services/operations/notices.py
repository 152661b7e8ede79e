"""Settling the notices a crash left uncertain, a campaign at a time, on a wired runtime: the
candidates are read from the notices view, the rule is the command's
(:meth:`~services.notifications.handlers.NotificationHandlers.settle_uncertain`)."""

from __future__ import annotations

from uuid import UUID

from services.application.context import RequestContext
from services.application.errors import InvalidInput
from services.bootstrap import Runtime
from services.notifications.message import FOUND_LIST_MAX_BYTES, message_ids_in


def found_in(data: bytes) -> set[str]:
    """The Message-IDs of a list given as bytes (a file, an upload); refused, naming
    ``found``, when it is too large, not text, or holds none."""
    if len(data) > FOUND_LIST_MAX_BYTES:
        raise InvalidInput("found", f"is larger than {FOUND_LIST_MAX_BYTES // 2**20} MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("found", "is not UTF-8 text") from None
    ids = message_ids_in(text)
    if not ids:
        raise InvalidInput("found", "holds no Message-ID (<local@domain>)")
    return ids


def settle_campaign(
    rt: Runtime,
    campaign_id: UUID,
    *,
    found: set[str] | None,
    delivered: bool,
    reason: str,
    ctx: RequestContext,
) -> dict[str, int]:
    """Settle the campaign's uncertain notices (see the command); counts confirmed and
    requeued, and how many were uncertain."""
    rt.gateway.current()
    candidates = rt.notifications.uncertain_ids(campaign_id)
    counts: dict[str, int] = rt.gateway.run(
        rt.app.notifications.settle_uncertain,
        campaign_id,
        candidates,
        found=found,
        delivered=delivered,
        reason=reason,
        ctx=ctx,
    )
    return {"uncertain": len(candidates), **counts}
