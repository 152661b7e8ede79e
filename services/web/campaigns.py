"""Notification campaigns: draft from the incident page; the campaign page to change the
draft, preview, approve, send, pause, resume or cancel it; and its live progress as JSON
for the page's small script."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from events.notifications import CONTENT_LANGUAGE, Campaign, CampaignStatus, NoticeAudience
from services.access.permissions import Permission
from services.application.context import RequestContext
from services.application.errors import InvalidInput, NotFound, ServiceError
from services.bootstrap import Runtime
from services.http.auth import Caller, require
from services.http.problems import Problem
from services.http.runtime import runtime_of
from services.notifications.templates import Rendered
from services.web.access import (
    Posted,
    WebRefusal,
    changer,
    parse_id,
    request_context,
    text,
    version_of,
    viewer,
)
from services.web.incident import (
    Failure,
    failure_of,
    incident_page,
    load_incident,
    readable,
    submitted,
)
from services.web.render import page

router = APIRouter(include_in_schema=False)

MANAGE = Permission.CAMPAIGN_MANAGE
APPROVE = Permission.CAMPAIGN_APPROVE
CONTENT_FIELDS = ("nature", "consequences", "measures", "advice", "reference")
TRANSLATED_FIELDS = ("nature", "consequences", "measures", "advice")
"""The words a campaign has in each other language (fields ``t.<language>.<part>``)."""


def parse_recipients(raw: str) -> list[dict[str, str]]:
    """Organisation recipients, one ``Name <address> [language]`` per line."""
    out = []
    for number, line in enumerate(raw.splitlines(), start=1):
        value = line.strip()
        if not value:
            continue
        name, sep, rest = value.partition("<")
        address, sep2, language = rest.partition(">")
        if not sep or not sep2 or "@" not in address or not name.strip():
            raise InvalidInput(
                "recipients",
                f"line {number} is not written 'Name <address>' or 'Name <address> zh-CN'",
            )
        out.append(
            {"name": name.strip(), "email": address.strip(), "language": language.strip() or "en"}
        )
    return out


def recipients_text(campaign: Campaign) -> str:
    """A campaign's organisation recipients as the form writes them."""
    return "\n".join(
        f"{r.name} <{r.email}> {r.language}".strip() for r in campaign.state.recipients
    )


def _multiline(form: FormData, name: str) -> str:
    return text(form, name).replace("\r\n", "\n")


def translations_of(form: FormData) -> dict[str, Any] | None:
    """The words of other languages the form gives (``t.<language>.<part>``): a language
    whose parts are all empty is left as it is, one with ``t.<language>.remove`` ticked
    goes; None when the form has none."""
    languages = sorted(
        {key.split(".")[1] for key in form if key.count(".") == 2 and key[:2] == "t."}
    )
    out: dict[str, Any] = {}
    for language in languages:
        if text(form, f"t.{language}.remove") == "yes":
            out[language] = None
            continue
        parts = {p: _multiline(form, f"t.{language}.{p}") for p in TRANSLATED_FIELDS}
        if any(v.strip() for v in parts.values()):
            out[language] = parts
    return out or None


def draft_data(form: FormData, audience: str | None = None) -> dict[str, Any]:
    """The draft command's input from the form: the parts it holds (a form without a part
    leaves it as it is)."""
    data: dict[str, Any] = {"audience": audience or text(form, "audience")}
    for name in CONTENT_FIELDS:
        if name in form:
            data[name] = _multiline(form, name)
    recipients = parse_recipients(text(form, "recipients"))
    if recipients:
        data["recipients"] = recipients
    translations = translations_of(form)
    if translations:
        data["translations"] = translations
    return data


def load_campaign(rt: Runtime, incident_id: UUID, campaign_id: UUID) -> Campaign:
    """The incident's campaign, or a 404 page."""
    try:
        campaign = rt.app.notifications.load_campaign(campaign_id)
    except NotFound:
        campaign = None
    if campaign is None or campaign.state.incident_id != incident_id:
        raise WebRefusal(404, "Not found", "There is no such campaign on this incident.")
    return campaign


def campaign_page(
    request: Request,
    caller: Caller,
    incident_id: UUID,
    campaign_id: UUID,
    *,
    failure: Failure | None = None,
    preview: Rendered | None = None,
) -> Response:
    """The campaign page: content, recipients, approval state, progress and the forms."""
    rt = runtime_of(request)
    readable(rt, caller, incident_id)
    incident = load_incident(rt, incident_id)
    campaign = load_campaign(rt, incident_id, campaign_id)
    templates = rt.app.templates
    languages = templates.languages(campaign.state.audience) if templates is not None else ["en"]
    content = campaign.state.content
    values: dict[str, Any] = {
        **{name: getattr(content, name) for name in CONTENT_FIELDS},
        "recipients": recipients_text(campaign),
    }
    for language, words in campaign.state.translations.items():
        for part in TRANSLATED_FIELDS:
            values[f"t.{language}.{part}"] = getattr(words, part)
    if failure is not None and failure.form == "redraft":
        values.update(failure.values)
    plan = rt.app.notifications.language_plan(campaign)
    return page(
        request,
        "campaign.html",
        caller=caller,
        status=failure.status if failure else 200,
        error=failure.message if failure else None,
        failure=failure,
        incident=incident,
        incident_id=str(incident_id),
        campaign=campaign,
        c=campaign.state,
        campaign_id=str(campaign_id),
        version=campaign.version,
        progress=rt.notifications.progress(campaign_id, rt.app.core.clock.now()),
        languages=languages,
        other_languages=[x for x in languages if x != CONTENT_LANGUAGE],
        plan=plan,
        preview=preview,
        values=values,
        statuses=CampaignStatus,
    )


@router.post("/incidents/{incident_id}/campaigns")
def draft(request: Request, incident_id: str, form: Posted) -> Response:
    """Draft a campaign for the incident, then show it."""
    caller = changer(request, form, MANAGE)
    target = parse_id(incident_id)
    rt = runtime_of(request)
    load_incident(rt, target)
    try:
        campaign = rt.gateway.run(
            rt.app.notifications.draft_campaign,
            target,
            draft_data(form),
            request_context(request, caller),
        )
    except ServiceError as e:
        return incident_page(
            request, caller, target, failure=failure_of("draft", e, submitted(form))
        )
    return RedirectResponse(
        f"/incidents/{target}/campaigns/{campaign.id}?ok=drafted", status_code=303
    )


@router.get("/incidents/{incident_id}/campaigns/{campaign_id}")
def show(request: Request, incident_id: str, campaign_id: str) -> Response:
    """The campaign page."""
    caller = viewer(request, Permission.CAMPAIGN_READ)
    return campaign_page(request, caller, parse_id(incident_id), parse_id(campaign_id, "campaign"))


CampaignReader = Annotated[Caller, Depends(require(Permission.CAMPAIGN_READ))]


@router.get("/incidents/{incident_id}/campaigns/{campaign_id}/progress")
def progress(
    request: Request, incident_id: str, campaign_id: str, caller: CampaignReader
) -> dict[str, Any]:
    """Live progress of a campaign (JSON for the page's script): counts by status, rate and
    time left."""
    rt = runtime_of(request)
    credentials = rt.app.credentials
    if caller.via_session and credentials is not None and credentials.must_change(caller.username):
        raise Problem(403, "Forbidden", "password: set a new password first", field="password")
    try:
        incident, campaign = UUID(incident_id), UUID(campaign_id)
    except ValueError:
        raise Problem(404, "Not found", "id: not a campaign of this incident", field="id") from None
    row = rt.notifications.campaign(campaign)
    if row is None or row["incident_id"] != str(incident):
        raise Problem(404, "Not found", "id: not a campaign of this incident", field="id")
    return rt.notifications.progress(campaign, rt.app.core.clock.now())


Step = Callable[[Runtime, UUID, FormData, RequestContext], Any]


def _campaign_change(
    request: Request,
    form: FormData,
    incident_id: str,
    campaign_id: str,
    *,
    name: str,
    needed: tuple[Permission, ...],
    step: Step,
    ok: str,
) -> Response:
    caller = changer(request, form, *needed)
    target = parse_id(incident_id)
    cid = parse_id(campaign_id, "campaign")
    rt = runtime_of(request)
    load_campaign(rt, target, cid)
    version = version_of(form)
    try:
        result = rt.gateway.run(step, rt, cid, form, request_context(request, caller, cid, version))
    except ServiceError as e:
        return campaign_page(
            request, caller, target, cid, failure=failure_of(name, e, submitted(form))
        )
    if isinstance(result, Rendered):
        return campaign_page(request, caller, target, cid, preview=result)
    return RedirectResponse(f"/incidents/{target}/campaigns/{cid}?ok={ok}", status_code=303)


def _redraft(rt: Runtime, cid: UUID, form: FormData, ctx: RequestContext) -> Any:
    audience = rt.app.notifications.load_campaign(cid).state.audience.value
    return rt.app.notifications.redraft_campaign(cid, draft_data(form, audience), ctx)


def _preview(rt: Runtime, cid: UUID, form: FormData, ctx: RequestContext) -> Any:
    language = text(form, "language").strip() or None
    index_text = text(form, "recipient").strip()
    index = None
    if index_text:
        if not index_text.isdigit():
            raise InvalidInput("recipient", "choose one of the campaign's recipients")
        index = int(index_text)
    audience = rt.app.notifications.load_campaign(cid).state.audience
    if audience is not NoticeAudience.PEOPLE and index is None:
        index = 0
    return rt.app.notifications.preview_campaign(cid, ctx, recipient_index=index, language=language)


def _send(rt: Runtime, cid: UUID, form: FormData, ctx: RequestContext) -> Any:
    return rt.app.notifications.send_campaign(cid, ctx)


CONTROL = Permission.CAMPAIGN_CONTROL

STEPS: dict[str, tuple[tuple[Permission, ...], Step, str]] = {
    "redraft": ((MANAGE,), _redraft, "redrafted"),
    "preview": ((Permission.CAMPAIGN_PREVIEW,), _preview, ""),
    "approve": (
        (APPROVE,),
        lambda rt, c, f, ctx: rt.app.notifications.approve_campaign(
            c, ctx, allow_mixed=text(f, "allow_mixed_languages") == "yes"
        ),
        "approved",
    ),
    "send": ((MANAGE,), _send, "sending"),
    "pause": (
        (CONTROL,),
        lambda rt, c, f, ctx: rt.app.notifications.pause_dispatch(c, text(f, "reason"), ctx),
        "paused",
    ),
    "resume": (
        (CONTROL,),
        lambda rt, c, f, ctx: rt.app.notifications.resume_dispatch(c, ctx),
        "resumed",
    ),
    "cancel": (
        (CONTROL,),
        lambda rt, c, f, ctx: rt.app.notifications.cancel_campaign(c, text(f, "reason"), ctx),
        "cancelled",
    ),
}
"""Each campaign action: who may take it, what it does, and the confirmation shown."""


@router.post("/incidents/{incident_id}/campaigns/{campaign_id}/{action}")
def campaign_action(
    request: Request, incident_id: str, campaign_id: str, action: str, form: Posted
) -> Response:
    """Change, preview, approve, send, pause, resume or cancel a campaign."""
    if action not in STEPS:
        raise WebRefusal(404, "Not found", "There is no such campaign action.")
    needed, step, ok = STEPS[action]
    return _campaign_change(
        request, form, incident_id, campaign_id, name=action, needed=needed, step=step, ok=ok
    )
