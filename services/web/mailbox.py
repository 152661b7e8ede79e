"""The local capture server's mailbox (embedded default, no SMTP relay): what it received,
and one message's headers and text. Message bodies are shown as text, never as HTML. As in
the API, a message to an affected person shows its recipient and opens only for holders of
people.rights."""

from __future__ import annotations

from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from fastapi import APIRouter, Request, Response

from services.access.permissions import Permission, may_read_message
from services.http.runtime import runtime_of
from services.notifications.mailbox import Mailbox
from services.web.access import WebRefusal, viewer
from services.web.render import page

router = APIRouter(include_in_schema=False)

SHOWN = 100
HEADERS = ("From", "To", "Subject", "Date", "Message-ID")


def _mailbox(request: Request) -> Mailbox:
    rt = runtime_of(request)
    if rt.settings.smtp_url is not None:
        raise WebRefusal(
            404,
            "No local mailbox",
            "Mail goes to the configured SMTP relay; there is no local mailbox to show.",
        )
    return rt.mailbox()


def _subject(path: Any) -> str:
    try:
        head = path.read_bytes().split(b"\r\n\r\n", 1)[0]
    except OSError:
        return ""
    parsed = message_from_bytes(head + b"\r\n\r\n", policy=policy.default)
    return str(parsed.get("Subject", ""))


@router.get("/mailbox")
def mailbox(request: Request) -> Response:
    """The newest messages the capture server received."""
    caller = viewer(request, Permission.MAILBOX_READ)
    box = _mailbox(request)
    try:
        count = box.count()
        stored = box.list(SHOWN)
    finally:
        box.close()
    audiences = runtime_of(request).notifications.audiences_of_messages(
        [m.message_id for m in stored]
    )
    messages = [
        {
            "message_id": m.message_id,
            "link": m.message_id.strip("<>"),
            "received_at": datetime.fromisoformat(m.received_at),
            "to": (
                m.recipient
                if may_read_message(caller.permissions, audiences.get(m.message_id))
                else "(an affected person)"
            ),
            "size": m.size,
            "subject": _subject(m.path),
        }
        for m in stored
    ]
    return page(request, "mailbox.html", caller=caller, count=count, messages=messages)


def _part(message: EmailMessage, kind: str) -> str:
    body = message.get_body((kind,))
    if body is None:
        return ""
    content = body.get_content()
    return content if isinstance(content, str) else ""


@router.get("/mailbox/{message_id:path}")
def message(request: Request, message_id: str) -> Response:
    """One received message: its headers, its text, and its HTML as source."""
    caller = viewer(request, Permission.MAILBOX_READ)
    box = _mailbox(request)
    ref = f"<{message_id.strip('<>')}>"
    try:
        found = box.read(ref)
    finally:
        box.close()
    if not isinstance(found, EmailMessage):
        raise WebRefusal(404, "Not found", "There is no such message in the mailbox.")
    audiences = runtime_of(request).notifications.audiences_of_messages([ref])
    if not may_read_message(caller.permissions, audiences.get(ref)):
        raise WebRefusal(
            403,
            "Not allowed",
            f"{caller.username} may not read a message to an affected person "
            f"({Permission.PEOPLE_RIGHTS.value}).",
        )
    return page(
        request,
        "message.html",
        caller=caller,
        headers=[(h, str(found.get(h, ""))) for h in HEADERS],
        body_text=_part(found, "plain"),
        body_html=_part(found, "html"),
    )
