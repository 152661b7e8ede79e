"""Containment tasks from the incident page: open one by hand and move each along (assign,
start, block, unblock, done, reopen, cancel, reschedule)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from events.containment import ContainmentTask
from services.access.permissions import Permission
from services.application.context import RequestContext
from services.application.errors import InvalidInput, NotFound, ServiceError
from services.bootstrap import Runtime
from services.http.runtime import runtime_of
from services.ledger import BreachLedger
from services.timefmt import parse_time
from services.web.access import (
    Posted,
    WebRefusal,
    changer,
    parse_id,
    request_context,
    text,
    texts,
    version_of,
)
from services.web.incident import failure_of, incident_page, load_incident, submitted

router = APIRouter(include_in_schema=False)

Action = Callable[[BreachLedger, UUID, dict[str, Any], RequestContext], ContainmentTask]


def _when(rt: Runtime, form: FormData, name: str) -> Any:
    raw = text(form, name).strip()
    if not raw:
        raise InvalidInput(name, "is required")
    return parse_time(name, raw, rt.settings.zone, now=rt.app.core.clock.now())


def _evidence(form: FormData) -> list[str]:
    return [line.strip() for line in text(form, "evidence").splitlines() if line.strip()]


BUILD: dict[str, Callable[[Runtime, FormData], dict[str, Any]]] = {
    "assign": lambda rt, f: {"owner": text(f, "owner")},
    "start": lambda rt, f: {},
    "block": lambda rt, f: {"reason": text(f, "reason")},
    "unblock": lambda rt, f: {"reason": text(f, "reason")},
    "done": lambda rt, f: {"outcome": text(f, "outcome"), "evidence": _evidence(f)},
    "reopen": lambda rt, f: {"reason": text(f, "reason")},
    "cancel": lambda rt, f: {"reason": text(f, "reason")},
    "due": lambda rt, f: {"due_at": _when(rt, f, "due_at"), "reason": text(f, "reason")},
}
"""Each task action's input from its form."""

ACTIONS: dict[str, Action] = {
    "assign": lambda a, t, d, c: a.containment.assign_task(t, d, c),
    "start": lambda a, t, d, c: a.containment.start_task(t, c),
    "block": lambda a, t, d, c: a.containment.block_task(t, d, c),
    "unblock": lambda a, t, d, c: a.containment.unblock_task(t, d, c),
    "done": lambda a, t, d, c: a.containment.complete_task(t, d, c),
    "reopen": lambda a, t, d, c: a.containment.reopen_task(t, d, c),
    "cancel": lambda a, t, d, c: a.containment.cancel_task(t, d, c),
    "due": lambda a, t, d, c: a.containment.change_task_due(t, d, c),
}
"""Each task action's command."""


def _task_of(rt: Runtime, incident_id: UUID, task_id: UUID) -> ContainmentTask:
    try:
        task = rt.app.containment.get_task(task_id)
    except NotFound:
        task = None
    if task is None or task.state.incident_id != incident_id:
        raise WebRefusal(404, "Not found", "There is no such task on this incident.")
    return task


@router.post("/incidents/{incident_id}/tasks")
def add_task(request: Request, incident_id: str, form: Posted) -> Response:
    """Open a task on the incident by hand."""
    caller = changer(request, form, Permission.TASK_CHANGE)
    target = parse_id(incident_id)
    rt = runtime_of(request)
    load_incident(rt, target)
    try:
        data: dict[str, Any] = {
            "title": text(form, "title"),
            "due_at": _when(rt, form, "due_at"),
            "priority": text(form, "priority") or "medium",
            "mandatory": bool(text(form, "mandatory")),
            "blocked_by": texts(form, "blocked_by"),
        }
        owner = text(form, "owner").strip()
        if owner:
            data["owner"] = owner
        rt.gateway.run(rt.app.containment.add_task, target, data, request_context(request, caller))
    except ServiceError as e:
        return incident_page(
            request, caller, target, failure=failure_of("add_task", e, submitted(form))
        )
    return RedirectResponse(f"/incidents/{target}?ok=task_added#tasks", status_code=303)


@router.post("/incidents/{incident_id}/tasks/{task_id}/{action}")
def task_action(
    request: Request, incident_id: str, task_id: str, action: str, form: Posted
) -> Response:
    """Move a task along; the form's version of the task guards against stale pages."""
    if action not in ACTIONS:
        raise WebRefusal(404, "Not found", "There is no such task action.")
    caller = changer(request, form, Permission.TASK_CHANGE)
    target = parse_id(incident_id)
    task_uuid = parse_id(task_id, "task")
    rt = runtime_of(request)
    _task_of(rt, target, task_uuid)
    version = version_of(form)
    try:
        data = BUILD[action](rt, form)
        ctx = request_context(request, caller, task_uuid, version)
        rt.gateway.run(ACTIONS[action], rt.app, task_uuid, data, ctx)
    except ServiceError as e:
        name = f"task:{task_uuid}:{action}"
        return incident_page(request, caller, target, failure=failure_of(name, e, submitted(form)))
    return RedirectResponse(f"/incidents/{target}?ok=task#task-{task_uuid}", status_code=303)
