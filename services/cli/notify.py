"""Notification commands: draft, preview, approve, send (with live progress), pause, resume,
cancel, status, resolve and settle (uncertain notices, one or a campaign's); the local
mailbox; and the template check."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from events.notifications import Campaign, NoticeAudience
from services.access.permissions import Permission, may_read_message, may_see_person
from services.application.errors import InvalidInput, NotFound, NotPermitted
from services.bootstrap import Runtime
from services.cli.app import app, state_of
from services.cli.guard import needs
from services.cli.incidents import LIST_MAX, JsonOpt
from services.cli.inputs import read_document
from services.cli.output import emit_fields, emit_json, emit_table, note, say
from services.ledger import BreachLedger
from services.notifications.dispatcher import DeliveryCheck
from services.notifications.languages import LanguagePlan
from services.notifications.message import FOUND_LIST_MAX_BYTES
from services.operations.notices import found_in, settle_campaign
from services.smtp_target import SmtpTarget
from services.timefmt import show_time

notify_app = typer.Typer(help="Notify people, authorities and customers.", no_args_is_help=True)
app.add_typer(notify_app, name="notify")
mailbox_app = typer.Typer(
    help="The local capture server's mailbox (when no SMTP relay is configured).",
    invoke_without_command=True,
)
app.add_typer(mailbox_app, name="mailbox")
templates_app = typer.Typer(help="Notice templates.", no_args_is_help=True)
app.add_typer(templates_app, name="templates")

CampaignArg = Annotated[str, typer.Argument(help="Campaign id, or a unique prefix of it.")]
ReasonOpt = Annotated[str, typer.Option(help="Why (required).")]


@contextmanager
def smtp_target(rt: Runtime) -> Iterator[tuple[SmtpTarget, DeliveryCheck | None]]:
    """The configured relay, or a local capture server running for the duration."""
    try:
        target, delivery, capture = rt.smtp_target()
    except ValueError as e:
        raise InvalidInput("BREACH_SMTP_URL", str(e)) from None
    try:
        yield target, delivery
    finally:
        if capture is not None:
            capture.stop()
            capture.mailbox.close()


def _recipients(values: list[str]) -> list[dict[str, str]]:
    out = []
    for position, value in enumerate(values, start=1):
        name, sep, rest = value.partition("<")
        address, sep2, language = rest.partition(">")
        if not sep or not sep2 or "@" not in address:
            raise InvalidInput(
                "recipient",
                f"item {position} is not written 'Name <address>' or 'Name <address> zh-CN'",
            )
        out.append(
            {"name": name.strip(), "email": address.strip(), "language": language.strip() or "en"}
        )
    return out


@notify_app.command("draft")
@needs(Permission.CAMPAIGN_MANAGE)
def draft(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(help="Incident id or unique prefix.")],
    audience: Annotated[
        str | None,
        typer.Option(help="people, authority or customer (required for a new campaign)."),
    ] = None,
    content: Annotated[
        Path | None,
        typer.Option(
            help="YAML/JSON: nature, consequences, measures, advice, ... (required for a new "
            "campaign; with --campaign, only the parts it holds change)."
        ),
    ] = None,
    recipient: Annotated[
        list[str] | None,
        typer.Option(
            help="For authority/customer: 'Name <address> [language]'; repeatable (with "
            "--campaign, they replace the recipients)."
        ),
    ] = None,
    campaign: Annotated[
        str | None,
        typer.Option(
            help="Change this existing draft instead of starting one: what is omitted stays."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Draft a campaign (the content file is described in the README), or change a draft
    with --campaign (only the content and recipients given change)."""
    state = state_of(ctx)
    rt = state.runtime
    if campaign is None and audience is None:
        raise InvalidInput("audience", "is required for a new campaign")
    if campaign is None and content is None:
        raise InvalidInput("content", "is required for a new campaign")
    data: dict[str, Any] = read_document(content) if content is not None else {}
    if audience is not None:
        data["audience"] = audience
    if recipient:
        data["recipients"] = _recipients(recipient)
    if campaign is not None:
        result = rt.gateway.run(
            rt.app.notifications.redraft_campaign,
            rt.notifications.resolve_campaign(campaign),
            data,
            state.request(),
        )
    else:
        result = rt.gateway.run(
            rt.app.notifications.draft_campaign,
            rt.board.resolve(incident_id),
            data,
            state.request(),
        )
    if as_json:
        emit_json(
            {
                "campaign_id": str(result.id),
                "version": result.version,
                **result.state.model_dump(mode="json"),
            }
        )
    else:
        typer.echo(str(result.id))


@notify_app.command("preview")
@needs(Permission.CAMPAIGN_PREVIEW)
def preview(
    ctx: typer.Context,
    campaign: CampaignArg,
    email: Annotated[str | None, typer.Option(help="Render for this affected person.")] = None,
    recipient: Annotated[
        int | None, typer.Option(help="Render for this organisation recipient (0, 1, ...).")
    ] = None,
    language: Annotated[str | None, typer.Option(help="Render in this language.")] = None,
    html: Annotated[bool, typer.Option("--html", help="Print the HTML body too.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Render the notice for a chosen recipient (or sample data) and record the preview."""
    state = state_of(ctx)
    rt = state.runtime
    target = rt.notifications.resolve_campaign(campaign)
    person = None
    if email is not None:
        if not may_see_person(state.permissions):
            raise NotPermitted(
                "email",
                "a person's notice shows their data: it needs "
                f"{Permission.PEOPLE_RIGHTS.value}; preview with sample data instead",
            )
        incident = rt.app.notifications.load_campaign(target).state.incident_id
        person = rt.app.people.person_on(incident, email).id
    rendered = rt.gateway.run(
        rt.app.notifications.preview_campaign,
        target,
        state.request(),
        person_id=person,
        recipient_index=recipient,
        language=language,
    )
    if as_json:
        emit_json(
            {
                "subject": rendered.subject,
                "text": rendered.text,
                "html": rendered.html,
                "language": rendered.language,
                "fallback": rendered.fallback,
                "mixed": rendered.mixed,
            }
        )
        return
    say(f"Subject: {rendered.subject}")
    if rendered.fallback:
        note(f"no template in the requested language; fell back to {rendered.language}")
    if rendered.mixed:
        note(f"the campaign has no {rendered.language} content: English paragraphs shown")
    say("")
    say(rendered.text)
    if html:
        say(rendered.html)


def _on_campaign(
    ctx: typer.Context,
    campaign: str,
    method: Callable[[BreachLedger], Callable[..., Campaign]],
    *args: Any,
) -> Campaign:
    """Run the application's command ``method`` on the campaign ``campaign`` names."""
    state = state_of(ctx)
    rt = state.runtime
    target = rt.notifications.resolve_campaign(campaign)
    return rt.gateway.run(method(rt.app), target, *args, state.request())


def _plan_lines(plan: LanguagePlan) -> Iterator[str]:
    """What a DPO should know of a campaign's languages before approving, a line each."""
    for line in plan.lines:
        if line.fallback:
            yield (
                f"{line.recipients} in {line.language}: no {line.language} templates; "
                "they get the whole notice in English"
            )
        elif line.mixed:
            yield (
                f"{line.recipients} in {line.language}: no {line.notice_language} content; "
                f"English paragraphs under {line.notice_language} headings"
            )


@notify_app.command("languages")
@needs(Permission.CAMPAIGN_READ)
def languages(ctx: typer.Context, campaign: CampaignArg, as_json: JsonOpt = False) -> None:
    """The languages the campaign's recipients get their notices in: per recipient
    language, how many, the templates' language, and whether they fall back to English
    (no templates in theirs) or would get a mixed notice (no content in it)."""
    rt = state_of(ctx).runtime
    found = rt.app.notifications.load_campaign(rt.notifications.resolve_campaign(campaign))
    plan = rt.app.notifications.language_plan(found)
    if as_json:
        emit_json({"campaign_id": str(found.id), **plan.as_json()})
        return
    emit_table(
        [
            {
                "language": line.language,
                "recipients": line.recipients,
                "notice": line.notice_language,
                "fallback": "yes" if line.fallback else "",
                "mixed": "yes (no content)" if line.mixed else "",
            }
            for line in plan.lines
        ],
        [
            ("language", "language"),
            ("recipients", "recipients"),
            ("notice", "notice in"),
            ("fallback", "falls back"),
            ("mixed", "mixed"),
        ],
    )


@notify_app.command("approve")
@needs(Permission.CAMPAIGN_APPROVE)
def approve(
    ctx: typer.Context,
    campaign: CampaignArg,
    allow_mixed_languages: Annotated[
        bool,
        typer.Option(
            "--allow-mixed-languages",
            help="Let recipients in a language the campaign has no content in get English "
            "paragraphs under that language's headings (recorded with the approval); "
            "without it such a campaign is refused. See `notify languages`.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Approve a previewed campaign (DPO role; not the drafter). Freezes templates and
    content: any later change needs a new approval. Refused while a recipient would get a
    mixed-language notice, unless --allow-mixed-languages."""
    state = state_of(ctx)
    rt = state.runtime
    target = rt.notifications.resolve_campaign(campaign)
    result = rt.gateway.run(
        rt.app.notifications.approve_campaign,
        target,
        state.request(),
        allow_mixed=allow_mixed_languages,
    )
    plan = rt.app.notifications.language_plan(result)
    if as_json:
        emit_json(
            {
                "campaign_id": str(result.id),
                "approved_hash": result.state.approved_hash,
                "mixed_languages": list(result.state.mixed_allowed),
                "languages": plan.as_json(),
            }
        )
        return
    typer.echo(f"approved {result.id} ({result.state.approved_hash})")
    for line in _plan_lines(plan):
        note(line)


def _run_dispatch(rt: Runtime, campaign_id: UUID, *, quiet: bool) -> dict[str, Any]:
    with smtp_target(rt) as (target, delivery):
        dispatcher = rt.dispatcher(target, delivery)
        total = max(rt.notifications.progress(campaign_id, rt.app.core.clock.now())["total"], 1)
        with Progress(
            TextColumn("sending"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeRemainingColumn(),
            transient=True,
            disable=quiet,
        ) as bar:
            task = bar.add_task("send", total=total, detail="")

            def update() -> None:
                p = rt.notifications.progress(campaign_id, rt.app.core.clock.now())
                detail = f"sent {p['sent']} deferred {p['deferred']} failed {p['failed']}"
                bar.update(task, completed=p["done"], total=max(p["total"], 1), detail=detail)

            report = rt.gateway.run(asyncio.run, dispatcher.run(progress=update))
    progress = rt.notifications.progress(campaign_id, rt.app.core.clock.now())
    return {"progress": progress, "recovered": report.recovered}


NOT_DONE = 6
"""The exit status of ``notify send`` while the campaign is not done: notices remain
deferred, uncertain or in flight (or it is paused)."""


def remaining(
    p: dict[str, Any], next_attempt: datetime | None, zone: tzinfo, now: datetime
) -> list[str]:
    """What keeps a campaign from being done, a line each (none when it is done)."""
    lines = []
    if p["in_flight"]:
        by = p["in_flight_resolved_by"]
        left = max((by - now).total_seconds(), 0) if by else 0
        lines.append(
            f"{p['in_flight']} in flight (claimed for sending, no answer recorded): resolved "
            f"by {show_time(by, zone)} at the latest (in {left:.0f} s), by this command or "
            "`breach serve` run again"
        )
    if p["queued"]:
        lines.append(f"{p['queued']} queued, not sent yet")
    if p["deferred"]:
        when = f", next attempt {show_time(next_attempt, zone)}" if next_attempt else ""
        lines.append(f"{p['deferred']} deferred{when}: sent by a later `breach notify send`")
    if p["uncertain"]:
        lines.append(
            f"{p['uncertain']} uncertain after a crash: a DPO settles them with `breach notify "
            "settle CAMPAIGN --found RELAY-LOG` (or --delivered / --resend)"
        )
    if p["status"] == "paused":
        lines.append("paused: `breach notify resume` first")
    return lines


@notify_app.command("send")
@needs(Permission.CAMPAIGN_MANAGE)
def send(ctx: typer.Context, campaign: CampaignArg, as_json: JsonOpt = False) -> None:
    """Start (or continue) sending an approved campaign, with a live progress bar. Returns
    when nothing is due; says what remains (deferred, uncertain or in-flight notices) and
    exits with status 6 until the campaign is done."""
    state = state_of(ctx)
    rt = state.runtime
    target = rt.notifications.resolve_campaign(campaign)
    rt.gateway.run(rt.app.notifications.send_campaign, target, state.request())
    result = _run_dispatch(rt, target, quiet=as_json)
    now = state.now()
    p = rt.notifications.progress(target, now)
    left = remaining(p, rt.notifications.next_attempt_of(target), state.zone, now)
    if as_json:
        emit_json({**result, "progress": p, "remaining": left})
    else:
        say(
            f"{p['status']}: {p['sent']} sent, {p['deferred']} deferred, {p['failed']} failed, "
            f"{p['suppressed']} suppressed, {p['uncertain']} uncertain of {p['total']}"
        )
        for line in left:
            note(line)
    if p["status"] != "completed":
        raise typer.Exit(NOT_DONE)


@notify_app.command("pause")
@needs(Permission.CAMPAIGN_CONTROL)
def pause(ctx: typer.Context, campaign: CampaignArg, reason: ReasonOpt) -> None:
    """Pause sending."""
    result = _on_campaign(ctx, campaign, lambda a: a.notifications.pause_dispatch, reason)
    typer.echo(f"paused {result.id}")


@notify_app.command("resume")
@needs(Permission.CAMPAIGN_CONTROL)
def resume(ctx: typer.Context, campaign: CampaignArg) -> None:
    """Resume sending (then run `breach notify send` or keep `breach serve` running)."""
    result = _on_campaign(ctx, campaign, lambda a: a.notifications.resume_dispatch)
    typer.echo(f"resumed {result.id}")


@notify_app.command("cancel")
@needs(Permission.CAMPAIGN_CONTROL)
def cancel(ctx: typer.Context, campaign: CampaignArg, reason: ReasonOpt) -> None:
    """Cancel a campaign; unsent notices will not be sent."""
    result = _on_campaign(ctx, campaign, lambda a: a.notifications.cancel_campaign, reason)
    typer.echo(f"cancelled {result.id}")


@notify_app.command("status")
@needs(Permission.CAMPAIGN_READ)
def status(
    ctx: typer.Context,
    campaign: Annotated[str | None, typer.Argument(help="One campaign (default: all).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Campaign progress: queued, sent, deferred, failed, suppressed, uncertain, in flight;
    rate and estimated time left (none while stalled); for a campaign still sending, what
    remains, with when the notices in flight are resolved at the latest."""
    state = state_of(ctx)
    rt = state.runtime
    now, zone = state.now(), state.zone
    if campaign is not None:
        ids = [rt.notifications.resolve_campaign(campaign)]
    else:
        ids = [UUID(r["campaign_id"]) for r in rt.notifications.campaigns()]
    rows = []
    for cid in ids:
        row = next(r for r in rt.notifications.campaigns() if r["campaign_id"] == str(cid))
        rows.append({**row, **rt.notifications.progress(cid, now)})
    if as_json:
        emit_json(rows)
        return
    if not rows:
        say("No campaigns.")
        return
    emit_table(
        [
            {
                **r,
                "id": r["campaign_id"][:8],
                "incident": r["incident_id"][:8],
                "rate": f"{r['rate_per_second']:.1f}/s" if r["rate_per_second"] else "",
                "left": f"{r['seconds_left']:.0f}s" if r["seconds_left"] else "",
                "in_flight": r["in_flight"],
            }
            for r in rows
        ],
        [
            ("id", "Campaign"),
            ("incident", "Incident"),
            ("audience", "Audience"),
            ("status", "Status"),
            ("total", "Notices"),
            ("sent", "Sent"),
            ("deferred", "Deferred"),
            ("failed", "Failed"),
            ("suppressed", "Suppressed"),
            ("uncertain", "Uncertain"),
            ("in_flight", "In flight"),
            ("rate", "Rate"),
            ("left", "Time left"),
        ],
    )
    for r in rows:
        short = r["campaign_id"][:8]
        if r["stalled_since"]:
            note(f"{short}: stalled, no notice moved since {show_time(r['stalled_since'], zone)}")
        if r["status"] in ("dispatching", "paused"):
            upcoming = rt.notifications.next_attempt_of(UUID(r["campaign_id"]))
            for line in remaining(r, upcoming, zone, now):
                note(f"{short}: {line}")


@notify_app.command("resolve")
@needs(Permission.NOTICE_RESOLVE)
def resolve(
    ctx: typer.Context,
    notice: Annotated[str, typer.Argument(help="Notice id or unique prefix.")],
    reason: ReasonOpt,
    delivered: Annotated[
        bool, typer.Option("--delivered/--resend", help="Confirmed delivered, or send again.")
    ],
) -> None:
    """Settle a notice a crash left uncertain."""
    state = state_of(ctx)
    rt = state.runtime
    result = rt.gateway.run(
        rt.app.notifications.resolve_uncertain,
        rt.notifications.resolve_notice(notice),
        delivered=delivered,
        reason=reason,
        ctx=state.request(),
    )
    typer.echo(f"{'confirmed' if delivered else 'requeued'} notice {result.id}")


@notify_app.command("settle")
@needs(Permission.NOTICE_RESOLVE)
def settle(
    ctx: typer.Context,
    campaign: CampaignArg,
    reason: ReasonOpt,
    found: Annotated[
        Path | None,
        typer.Option(
            help="A list of the Message-IDs the relay accepted (one per line, or its log as "
            "it is): those notices are confirmed delivered, the campaign's other uncertain "
            "ones are sent again.",
            show_default=False,
        ),
    ] = None,
    delivered: Annotated[
        bool | None,
        typer.Option(
            "--delivered/--resend",
            help="Without --found: confirm every uncertain notice delivered, or send every "
            "one again.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Settle at once every notice of a campaign a crash left uncertain: by a list of the
    Message-IDs found at the relay (the rest are sent again), or all confirmed, or all sent
    again. A list none of the uncertain notices is in is refused (it is the wrong list)."""
    if (found is None) == (delivered is None):
        raise InvalidInput("found", "give --found FILE, or --delivered or --resend")
    ids = None
    if found is not None:
        try:
            if found.stat().st_size > FOUND_LIST_MAX_BYTES:
                raise InvalidInput("found", f"is larger than {FOUND_LIST_MAX_BYTES // 2**20} MiB")
            data = found.read_bytes()
        except OSError:
            raise InvalidInput("found", "cannot be read") from None
        ids = found_in(data)
    state = state_of(ctx)
    rt = state.runtime
    counts = settle_campaign(
        rt,
        rt.notifications.resolve_campaign(campaign),
        found=ids,
        delivered=bool(delivered),
        reason=reason,
        ctx=state.request(),
    )
    if as_json:
        emit_json(counts)
        return
    say(
        f"{counts['uncertain']} uncertain: {counts['confirmed']} confirmed delivered, "
        f"{counts['requeued']} queued to be sent again"
    )
    if counts["requeued"]:
        note("run `breach notify send` (or keep `breach serve` running) to send them")


@mailbox_app.callback()
@needs(Permission.MAILBOX_READ)
def mailbox(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=LIST_MAX, help="How many, newest first.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """List what the local capture server received."""
    if ctx.invoked_subcommand is not None:
        return
    state = state_of(ctx)
    rt = state.runtime
    box = rt.mailbox()
    stored = box.list(limit)
    audiences = rt.notifications.audiences_of_messages([m.message_id for m in stored])
    rows = [
        {
            "message_id": m.message_id,
            "received_at": m.received_at,
            "to": m.recipient
            if may_read_message(state.permissions, audiences.get(m.message_id))
            else "(an affected person)",
            "size": m.size,
        }
        for m in stored
    ]
    if as_json:
        emit_json({"count": box.count(), "messages": rows})
        return
    say(f"{box.count()} message(s) received")
    if rows:
        emit_table(
            rows,
            [
                ("received_at", "Received"),
                ("to", "To"),
                ("message_id", "Message-ID"),
                ("size", "Bytes"),
            ],
        )


@mailbox_app.command("show")
@needs(Permission.MAILBOX_READ)
def mailbox_show(
    ctx: typer.Context,
    message_id: Annotated[str, typer.Argument(help="The Message-ID (with or without <>).")],
    html: Annotated[bool, typer.Option("--html", help="Print the HTML part instead.")] = False,
) -> None:
    """Print a received message's headers and body (one to an affected person only for
    holders of people.rights)."""
    state = state_of(ctx)
    rt = state.runtime
    box = rt.mailbox()
    wanted = message_id if message_id.startswith("<") else f"<{message_id}>"
    msg = box.read(wanted)
    if msg is None:
        raise NotFound("message_id", "no such message in the mailbox")
    audience = rt.notifications.audiences_of_messages([wanted]).get(wanted)
    if not may_read_message(state.permissions, audience):
        raise NotPermitted(
            "role",
            f"reading a message to an affected person needs {Permission.PEOPLE_RIGHTS.value}",
        )
    emit_fields([(h, str(msg[h])) for h in ("From", "To", "Subject", "Date", "Message-ID")])
    body = msg.get_body(("html",) if html else ("plain",))
    say("")
    say(body.get_content() if body is not None else "")


@templates_app.command("check")
@needs(Permission.CAMPAIGN_READ)
def check(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Render every notice template with sample data and check each carries what its
    audience requires (exit 1 on a problem)."""
    rt = state_of(ctx).runtime
    assert rt.app.templates is not None
    problems = rt.app.templates.check()
    versions = {a.value: rt.app.templates.version(a) for a in _audiences()}
    if as_json:
        emit_json(
            {
                "ok": not problems,
                "versions": versions,
                "problems": [{"template": t, "element": e, "problem": p} for t, e, p in problems],
            }
        )
    elif problems:
        emit_table(
            [{"t": t, "e": e, "p": p} for t, e, p in problems],
            [("t", "Template"), ("e", "Element"), ("p", "Problem")],
        )
    else:
        for audience, version in versions.items():
            langs = ", ".join(rt.app.templates.languages(_audience(audience)))
            say(f"{audience}: {langs} ({version}) ok")
    if problems:
        raise typer.Exit(1)


def _audiences() -> list[NoticeAudience]:
    return list(NoticeAudience)


def _audience(value: str) -> NoticeAudience:
    return NoticeAudience(value)
