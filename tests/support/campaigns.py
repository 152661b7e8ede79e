"""Campaigns for tests: content that passes the notice templates' checks, and a people
campaign taken from draft to sending the way a team does (the author drafts and previews, a
user in the DPO role approves)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from services.application.context import RequestContext
from services.bootstrap import Runtime
from tests.support.identity import dpo_of

CONTENT: dict[str, str] = {
    "nature": "CVs were downloaded from our careers portal by an unknown party.",
    "consequences": "Targeted phishing that mentions your application.",
    "measures": "We closed the flaw and rotated every access key.",
    "advice": "Do not answer messages asking for your password.",
}
DPO = RequestContext(actor="dpo")


def start_people_campaign(
    rt: Runtime,
    incident_id: UUID,
    author: RequestContext,
    *,
    approver: RequestContext = DPO,
    content: Mapping[str, Any] = CONTENT,
) -> UUID:
    """Draft, preview, approve (``approver``, made a DPO if needed) and start a people
    campaign of ``incident_id``; return its id, with the notices queued."""
    campaign = rt.app.notifications.draft_campaign(
        incident_id, {"audience": "people", **content}, author
    )
    rt.app.notifications.preview_campaign(campaign.id, author)
    rt.app.notifications.approve_campaign(campaign.id, dpo_of(rt, approver))
    rt.app.notifications.start_dispatch(campaign.id, author)
    rt.settle()
    return campaign.id
