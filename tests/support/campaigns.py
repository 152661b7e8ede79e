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

ZH_CN: dict[str, str] = {
    "nature": "有未知方从我们的招聘门户下载了简历。",
    "consequences": "可能收到提及您求职申请的针对性钓鱼邮件。",
    "measures": "我们已修复漏洞并更换了所有访问密钥。",
    "advice": "请勿回复索要密码的消息。",
}
"""The same words in Chinese, for the people whose notices are in zh-CN."""
CONTENT: dict[str, Any] = {
    "nature": "CVs were downloaded from our careers portal by an unknown party.",
    "consequences": "Targeted phishing that mentions your application.",
    "measures": "We closed the flaw and rotated every access key.",
    "advice": "Do not answer messages asking for your password.",
    "translations": {"zh-CN": ZH_CN},
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
