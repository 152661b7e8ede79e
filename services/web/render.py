"""Rendering dashboard pages: one autoescaping Jinja2 environment over ``templates/web`` and
the small formatting helpers the templates share (times in the configured zone, countdowns).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from services.access.permissions import Permission
from services.assessment.headline import headline
from services.http.auth import Caller
from services.http.runtime import runtime_of
from services.projections.schema import from_db_time
from services.timefmt import show_time

WEB_DIR = Path(__file__).resolve().parents[2] / "templates" / "web"
"""Templates and static files of the dashboard."""

STATIC_DIR = WEB_DIR / "static"

FLASH = {
    "reported": "Incident reported.",
    "amended": "Facts corrected.",
    "triaged": "Triage recorded.",
    "noted": "Note added.",
    "closed": "Incident closed.",
    "reopened": "Incident reopened.",
    "assessed": "Impact assessment recorded.",
    "decided": "Decision recorded.",
    "task": "Task updated.",
    "task_added": "Task opened.",
    "drafted": "Campaign drafted.",
    "redrafted": "Draft changed; it needs a new preview and approval.",
    "approved": "Campaign approved.",
    "sending": "Sending started.",
    "paused": "Sending paused.",
    "resumed": "Sending resumed.",
    "cancelled": "Campaign cancelled.",
    "password": "Password changed.",
    "demo": "Demo incident recorded.",
    "user": "User updated.",
    "service": "Service account added: issue it a token (Change, Issue token).",
    "acknowledged": "Alert acknowledged.",
    "owner": "Owner set.",
    "webhook_disabled": "Webhook disabled.",
    "webhook_enabled": "Webhook enabled; it delivers again from where it stopped.",
}
"""Fixed confirmation messages, named by the ``ok`` query parameter after a change."""


def as_moment(value: datetime | str | None) -> datetime | None:
    """A moment from an aware datetime or a view column's text."""
    if value is None or isinstance(value, datetime):
        return value
    return from_db_time(value)


def left_text(seconds: float) -> str:
    """Time left (or overdue) in words; the dashboard's script writes the same format. The
    duration's parts are joined by no-break spaces, so a narrow column breaks the text only
    between the duration and its word ("overdue", "left"), however long it grows."""
    whole = int(abs(seconds))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h", f"{minutes:02d}m", f"{secs:02d}s"]
    if days:
        parts.insert(0, f"{days}d")
    text = "\u00a0".join(parts)
    return f"overdue {text}" if seconds < 0 else f"{text} left"


def urgency_class(seconds: float, due_soon_seconds: float) -> str:
    """The CSS class of a countdown: overdue, due-soon or on-track."""
    if seconds < 0:
        return "overdue"
    return "due-soon" if seconds <= due_soon_seconds else "on-track"


def iso_utc(value: datetime | str | None) -> str:
    """A moment as ISO 8601 in UTC to the second, for scripts (``data-deadline``) and links."""
    moment = as_moment(value)
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_exact(value: datetime | str | None) -> str:
    """A moment as ISO 8601 in UTC to the microsecond (replay links: exactly that event)."""
    moment = as_moment(value)
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def local_input(value: datetime | str | None, zone: tzinfo) -> str:
    """A moment as a ``datetime-local`` input value in ``zone`` (to the minute)."""
    moment = as_moment(value)
    if moment is None:
        return ""
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def show_exact(moment: datetime | None, zone: tzinfo) -> str:
    """A moment in ``zone`` to the second, with the zone's abbreviation."""
    if moment is None:
        return "-"
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def words(value: Any) -> str:
    """An enum value or identifier in words: ``web_application_exfiltration`` -> spaced."""
    if value is None:
        return "-"
    text = str(getattr(value, "value", value))
    return text.replace("_", " ")


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The dashboard's template environment (autoescaping everything, strict undefined)."""
    env = Environment(
        loader=FileSystemLoader(WEB_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["words"] = words
    env.filters["iso"] = iso_utc
    env.filters["iso_exact"] = iso_exact
    env.filters["left"] = left_text
    env.filters["short"] = lambda value: str(value)[:8]
    env.globals["P"] = Permission
    return env


def page(
    request: Request,
    template: str,
    *,
    caller: Caller | None = None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a page; every page gets the caller, their permissions and CSRF token, the
    zone and the formatting helpers."""
    rt = runtime_of(request)
    zone = rt.settings.zone
    flash = FLASH.get(request.query_params.get("ok", ""))
    values: dict[str, Any] = {
        "request": request,
        "caller": caller,
        "perms": caller.permissions if caller is not None else frozenset(),
        "csrf": caller.csrf if caller is not None else "",
        "zone_name": rt.settings.timezone,
        "mailbox_enabled": rt.settings.smtp_url is None,
        "flash": flash,
        "error": None,
        "when": lambda value: show_time(as_moment(value), zone),
        "when_exact": lambda value: show_exact(as_moment(value), zone),
        "headline": lambda facts, severity, evaluation: headline(facts, severity, evaluation, zone),
        "local_input": lambda value: local_input(value, zone),
        "due_soon_seconds": rt.settings.due_soon_hours * 3600,
        "query": query_string,
        "alerts_unread": (
            rt.alerts.unread(caller.username)
            if caller is not None and caller.may(Permission.ALERT_READ)
            else None
        ),
    }
    values.update(context)
    html = environment().get_template(template).render(values)
    return HTMLResponse(html, status_code=status)


def query_string(params: Mapping[str, Any]) -> str:
    """A query string of the non-empty ``params`` (with the leading ``?``), or empty."""
    given = {k: v for k, v in params.items() if v not in (None, "")}
    return "?" + urlencode(given) if given else ""
