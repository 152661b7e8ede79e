"""Notifications: draft, redraft, list and read campaigns with their progress, preview,
approve, send, pause, resume and cancel; notices a crash left uncertain; the local capture
server's mailbox; and the template check.

Sending answers 202: the running server's background dispatcher sends the queued notices.
A rendered notice or a received message addressed to an affected person is personal data,
shown only to callers who hold the rights permission.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from events.notifications import Campaign, CampaignStatus, NoticeAudience
from services.access.permissions import Permission, may_read_message, may_see_person
from services.application.context import RequestContext
from services.application.errors import InvalidInput, NotFound
from services.application.fields import Line
from services.bootstrap import Runtime
from services.http.auth import Caller, require
from services.http.commands import CommandRoutes
from services.http.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, paged
from services.http.problems import Problem
from services.http.requests import context, if_match, tag
from services.http.runtime import runtime_of
from services.ledger import BreachLedger
from services.notifications.handlers import DraftCampaign, RedraftCampaign
from services.notifications.mailbox import Mailbox, Stored
from services.operations.notices import found_in, settle_campaign

router = APIRouter(tags=["notifications"])

Reader = Annotated[Caller, Depends(require(Permission.CAMPAIGN_READ))]
Manager = Annotated[Caller, Depends(require(Permission.CAMPAIGN_MANAGE))]
Approver = Annotated[Caller, Depends(require(Permission.CAMPAIGN_APPROVE))]
Previewer = Annotated[Caller, Depends(require(Permission.CAMPAIGN_PREVIEW))]
Controller = Annotated[Caller, Depends(require(Permission.CAMPAIGN_CONTROL))]
Resolver = Annotated[Caller, Depends(require(Permission.NOTICE_RESOLVE))]
MailReader = Annotated[Caller, Depends(require(Permission.MAILBOX_READ))]


class PreviewBody(BaseModel):
    """For whom to render: an affected person (by email), an organisation recipient (by
    index), or sample data when neither is given; optionally in another language."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(default=None, min_length=1, max_length=320)
    recipient: int | None = Field(default=None, ge=0)
    language: str | None = Field(default=None, min_length=2, max_length=35)


class MailboxPage(Page):
    """A page of the mailbox, and how many messages it holds in all."""

    count: int


class ReasonBody(BaseModel):
    """Why (required; recorded with the change)."""

    model_config = ConfigDict(extra="forbid")

    reason: Line


class SettleBody(BaseModel):
    """How a campaign's uncertain notices are settled at once: by the Message-IDs found at
    the relay (``found``: those confirmed, the rest sent again), or all confirmed
    (``delivered`` true) or all sent again (false). Exactly one of the two."""

    model_config = ConfigDict(extra="forbid")

    reason: Line
    found: list[Annotated[str, Field(max_length=500)]] | None = Field(
        default=None, max_length=200_000
    )
    delivered: bool | None = None


class ApproveBody(BaseModel):
    """The DPO's explicit say that recipients in a language the campaign has no content in
    may get English paragraphs under that language's headings (recorded with the
    approval); without it, such a campaign is refused."""

    model_config = ConfigDict(extra="forbid")

    allow_mixed_languages: bool = False


class ResolveBody(BaseModel):
    """How an uncertain notice is settled: confirmed delivered, or sent again."""

    model_config = ConfigDict(extra="forbid")

    delivered: bool
    reason: Line


def campaign_document(rt: Runtime, campaign: Campaign) -> dict[str, Any]:
    """A campaign as it is now, with its live progress."""
    return {
        "campaign_id": str(campaign.id),
        "version": campaign.version,
        **campaign.state.model_dump(mode="json"),
        "progress": rt.notifications.progress(campaign.id, rt.app.core.clock.now()),
    }


def _answer(request: Request, response: Response, campaign: Campaign) -> dict[str, Any]:
    tag(response, campaign.version)
    return campaign_document(runtime_of(request), campaign)


@router.post("/incidents/{incident_id}/campaigns", status_code=201, summary="Draft a campaign")
def draft(
    incident_id: UUID, body: DraftCampaign, request: Request, response: Response, caller: Manager
) -> Any:
    """Draft a campaign for the incident: audience (people, authority, customer), content
    (nature, consequences, measures, advice, ...) and, for organisations, recipients."""
    rt = runtime_of(request)
    campaign = rt.gateway.run(
        rt.app.notifications.draft_campaign, incident_id, body, context(request, caller)
    )
    response.headers["Location"] = request.url_for("campaign", campaign_id=campaign.id).path
    return _answer(request, response, campaign)


@router.get("/campaigns", summary="Campaigns with their progress", response_model=Page)
def campaigns(
    request: Request,
    caller: Reader,
    incident_id: UUID | None = None,
    status: CampaignStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page:
    """Campaigns, newest first, each with its progress: notices queued, sent, deferred,
    failed, suppressed, uncertain; sending rate and estimated time left."""
    rt = runtime_of(request)
    after = decode_cursor(cursor, str, str)
    rows = rt.notifications.page(
        after=(str(after[0]), str(after[1])) if after else None,
        limit=limit + 1,
        incident_id=incident_id,
        status=status.value if status else None,
    )
    items = rt.notifications.with_progress(rows, rt.app.core.clock.now())
    return paged(items, limit, ["created_at", "campaign_id"])


@router.get("/campaigns/{campaign_id}", summary="A campaign", name="campaign")
def show(campaign_id: UUID, request: Request, response: Response, caller: Reader) -> Any:
    """The campaign as it is now, with live progress counts; ETag is its version."""
    return _answer(
        request, response, runtime_of(request).app.notifications.load_campaign(campaign_id)
    )


change = CommandRoutes(router, "campaign_id", _answer)


@change("POST", "/campaigns/{campaign_id}/redraft", "Change a draft", Manager, RedraftCampaign)
def redraft(a: BreachLedger, c: UUID, body: RedraftCampaign, x: RequestContext) -> Campaign:
    """Change the draft: the parts of the content (and the recipients) given replace theirs,
    those omitted stay; an approval is void and the new content needs a new preview and
    approval. The audience stays."""
    return a.notifications.redraft_campaign(c, body, x)


@router.post("/campaigns/{campaign_id}/preview", summary="Preview a notice")
def preview(
    campaign_id: UUID,
    request: Request,
    response: Response,
    caller: Previewer,
    body: PreviewBody | None = None,
) -> Any:
    """Render the notice for a chosen recipient (or sample data) and record the preview. A
    preview for an affected person shows their data: it needs the rights permission."""
    rt = runtime_of(request)
    body = body or PreviewBody()
    person = None
    if body.email is not None:
        if not may_see_person(caller.permissions):
            raise Problem(
                403,
                "Forbidden",
                f"email: {caller.username} may not see a person's notice (needs "
                f"{Permission.PEOPLE_RIGHTS.value}); preview with sample data instead",
                field="email",
            )
        incident = rt.app.notifications.load_campaign(campaign_id).state.incident_id
        person = rt.app.people.person_on(incident, body.email).id
    rendered = rt.gateway.run(
        rt.app.notifications.preview_campaign,
        campaign_id,
        context(request, caller, campaign_id),
        person_id=person,
        recipient_index=body.recipient,
        language=body.language,
    )
    tag(response, rt.app.notifications.load_campaign(campaign_id).version)
    return {
        "campaign_id": str(campaign_id),
        "subject": rendered.subject,
        "text": rendered.text,
        "html": rendered.html,
        "language": rendered.language,
        "fallback": rendered.fallback,
        "mixed": rendered.mixed,
    }


@router.get("/campaigns/{campaign_id}/languages", summary="The languages notices would be in")
def languages(campaign_id: UUID, request: Request, caller: Reader) -> Any:
    """For each language of the campaign's recipients: how many, the language of the
    templates their notice is rendered with, whether they fall back to English (no
    templates in theirs) and whether the notice would be mixed (no content in that
    language); with the languages lacking content and the count falling back."""
    rt = runtime_of(request)
    campaign = rt.app.notifications.load_campaign(campaign_id)
    return {
        "campaign_id": str(campaign_id),
        **rt.app.notifications.language_plan(campaign).as_json(),
    }


@router.post("/campaigns/{campaign_id}/approve", summary="Approve a campaign")
def approve(
    campaign_id: UUID,
    request: Request,
    response: Response,
    caller: Approver,
    body: ApproveBody | None = None,
) -> Any:
    """Approve a previewed draft: only a DPO who did not draft it. ``If-Match`` must name
    the version approved (428 without it); approval freezes templates and content. A
    campaign whose recipients in some language would get a mixed-language notice (see its
    languages) is refused (409) unless ``allow_mixed_languages`` is true."""
    if if_match(request) is None:
        raise Problem(
            428,
            "Precondition required",
            "If-Match: name the version of the campaign you approve (its ETag)",
            field="If-Match",
        )
    rt = runtime_of(request)
    campaign = rt.gateway.run(
        rt.app.notifications.approve_campaign,
        campaign_id,
        context(request, caller, campaign_id),
        allow_mixed=(body or ApproveBody()).allow_mixed_languages,
    )
    return _answer(request, response, campaign)


@router.post("/campaigns/{campaign_id}/send", status_code=202, summary="Start sending")
def send(campaign_id: UUID, request: Request, response: Response, caller: Manager) -> Any:
    """Start sending an approved campaign (202): its notices are queued and the server's
    dispatcher sends them; follow the progress at the campaign. A campaign already sending
    is left as it is; any other is refused (409) naming its status."""
    rt = runtime_of(request)
    campaign = rt.gateway.run(
        rt.app.notifications.send_campaign, campaign_id, context(request, caller, campaign_id)
    )
    response.headers["Location"] = request.url_for("campaign", campaign_id=campaign_id).path
    return _answer(request, response, campaign)


@change("POST", "/campaigns/{campaign_id}/pause", "Pause sending", Controller, ReasonBody)
def pause(a: BreachLedger, c: UUID, body: ReasonBody, x: RequestContext) -> Campaign:
    """Pause a sending campaign; nothing more is sent until it resumes."""
    return a.notifications.pause_dispatch(c, body.reason, x)


@change("POST", "/campaigns/{campaign_id}/resume", "Resume sending", Controller)
def resume(a: BreachLedger, c: UUID, body: None, x: RequestContext) -> Campaign:
    """Resume a paused campaign; the dispatcher continues where it stopped."""
    return a.notifications.resume_dispatch(c, x)


@change("POST", "/campaigns/{campaign_id}/cancel", "Cancel a campaign", Controller, ReasonBody)
def cancel(a: BreachLedger, c: UUID, body: ReasonBody, x: RequestContext) -> Campaign:
    """Cancel a campaign; notices not yet sent will not be."""
    return a.notifications.cancel_campaign(c, body.reason, x)


def _notice(row: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "notice_id",
        "campaign_id",
        "incident_id",
        "person_id",
        "recipient_index",
        "language",
        "status",
        "attempts",
        "message_id",
        "sending_at",
        "reason",
        "version",
    )
    return {k: row[k] for k in keys}


@router.get("/notices/uncertain", summary="Notices of unknown delivery", response_model=Page)
def uncertain(
    request: Request,
    caller: Reader,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page:
    """Notices whose delivery a crash left unknown (check the relay's log by Message-ID,
    then resolve each)."""
    rt = runtime_of(request)
    after = decode_cursor(cursor, str)
    rows = rt.notifications.uncertain_page(after=str(after[0]) if after else None, limit=limit + 1)
    return paged([_notice(r) for r in rows], limit, ["notice_id"])


@router.post("/notices/{notice_id}/resolve", summary="Settle an uncertain notice")
def resolve(
    notice_id: UUID, body: ResolveBody, request: Request, response: Response, caller: Resolver
) -> Any:
    """Settle a notice a crash left uncertain: ``delivered`` true records it sent (confirmed
    by the caller), false queues it to be sent again."""
    rt = runtime_of(request)
    notice = rt.gateway.run(
        rt.app.notifications.resolve_uncertain,
        notice_id,
        delivered=body.delivered,
        reason=body.reason,
        ctx=context(request, caller, notice_id),
    )
    tag(response, notice.version)
    return {
        "notice_id": str(notice.id),
        "version": notice.version,
        "status": notice.state.status.value,
        "message_id": notice.state.message_id,
    }


@router.post("/campaigns/{campaign_id}/settle", summary="Settle a campaign's uncertain notices")
def settle(campaign_id: UUID, body: SettleBody, request: Request, caller: Resolver) -> Any:
    """Settle every notice of the campaign a crash left uncertain: those whose Message-ID
    is in ``found`` confirmed delivered and the rest sent again, or all confirmed or all sent
    again (``delivered``). A ``found`` list holding none of them is refused (409, naming
    ``found``): it is the wrong list. Answers how many were uncertain, confirmed and
    requeued."""
    if (body.found is None) == (body.delivered is None):
        raise InvalidInput("found", "give found (Message-IDs) or delivered (true or false)")
    found = None
    if body.found is not None:
        found = found_in("\n".join(body.found).encode())
    return settle_campaign(
        runtime_of(request),
        campaign_id,
        found=found,
        delivered=bool(body.delivered),
        reason=body.reason,
        ctx=context(request, caller, campaign_id),
    )


def _entry(stored: Stored, audience: str | None, caller: Caller) -> dict[str, Any]:
    visible = may_read_message(caller.permissions, audience)
    return {
        "seq": stored.seq,
        "message_id": stored.message_id,
        "received_at": stored.received_at,
        "audience": audience,
        "to": stored.recipient if visible else None,
        "size": stored.size,
    }


@router.get("/mailbox", summary="The local mailbox", response_model=MailboxPage)
def mailbox(
    request: Request,
    caller: MailReader,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> MailboxPage:
    """What the local capture server received, newest first. The address of a message to
    an affected person is shown only to callers who hold the rights permission."""
    rt = runtime_of(request)
    after = decode_cursor(cursor, int)
    box = rt.mailbox()
    try:
        stored = box.page(before=after[0] if after else None, limit=limit + 1)
        total = box.count()
    finally:
        box.close()
    audiences = rt.notifications.audiences_of_messages([s.message_id for s in stored])
    items = [_entry(s, audiences.get(s.message_id), caller) for s in stored]
    page = paged(items, limit, ["seq"])
    return MailboxPage(items=page.items, next_cursor=page.next_cursor, count=total)


def _find(box: Mailbox, ref: str) -> Stored | None:
    if ref.isdigit():
        return box.find(seq=int(ref))
    return box.find(message_id=ref if ref.startswith("<") else f"<{ref}>")


@router.get("/mailbox/{ref}", summary="A received message")
def message(ref: str, request: Request, caller: MailReader) -> Any:
    """A received message's headers and bodies, by its sequence number or its Message-ID
    (URL-encoded, with or without the angle brackets). A message to an affected person is
    shown only to callers who hold the rights permission."""
    rt = runtime_of(request)
    box = rt.mailbox()
    try:
        stored = _find(box, ref)
        if stored is None:
            raise NotFound("message_id", "no such message in the mailbox")
        parsed = box.parse(stored)
    finally:
        box.close()
    audience = rt.notifications.audiences_of_messages([stored.message_id]).get(stored.message_id)
    if not may_read_message(caller.permissions, audience):
        raise Problem(
            403,
            "Forbidden",
            f"role: {caller.username} may not read a message to an affected person (needs "
            f"{Permission.PEOPLE_RIGHTS.value})",
            field="role",
        )
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    return {
        **_entry(stored, audience, caller),
        "headers": {
            h.lower(): str(parsed[h]) if parsed[h] is not None else None
            for h in ("From", "To", "Subject", "Date", "Message-ID")
        },
        "text": text.get_content() if text is not None else None,
        "html": html.get_content() if html is not None else None,
    }


@router.get("/templates/check", summary="Check the notice templates")
def check_templates(request: Request, caller: Reader) -> Any:
    """Render every notice template with sample data and check each carries what its
    audience requires; ``ok`` is false when any problem is listed."""
    templates = runtime_of(request).app.templates
    problems = templates.check()
    return {
        "ok": not problems,
        "versions": {a.value: templates.version(a) for a in NoticeAudience},
        "languages": {a.value: templates.languages(a) for a in NoticeAudience},
        "problems": [{"template": t, "element": e, "problem": p} for t, e, p in problems],
    }
