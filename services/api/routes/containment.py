"""Containment: the task board, one task, opening and moving tasks, an incident's
containment progress, and the playbooks."""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict

from events.containment import ContainmentTask, Priority
from services.access.permissions import Permission
from services.application.context import RequestContext
from services.application.errors import NotFound
from services.containment.commands import AssignTask, CompleteTask, ReasonOnly, UnblockTask
from services.http.auth import Caller, require
from services.http.commands import CommandRoutes
from services.http.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, paged
from services.http.requests import context, tag
from services.http.runtime import runtime_of
from services.ledger import BreachLedger
from services.projections.schema import Row
from services.timefmt import parse_time

router = APIRouter(tags=["containment"])

Reader = Annotated[Caller, Depends(require(Permission.TASK_READ))]
Changer = Annotated[Caller, Depends(require(Permission.TASK_CHANGE))]


class AddTaskBody(BaseModel):
    """A task opened by hand; ``due_at`` is ISO 8601 (without an offset it is read in the
    configured time zone) or ``now``."""

    model_config = ConfigDict(extra="forbid")

    title: str
    due_at: str
    owner: str | None = None
    priority: Priority = Priority.MEDIUM
    mandatory: bool = True
    blocked_by: list[UUID] = []


class DueBody(BaseModel):
    """A new due time (as for :class:`AddTaskBody`) and why it moves."""

    model_config = ConfigDict(extra="forbid")

    due_at: str
    reason: str


def task_document(task: ContainmentTask) -> dict[str, Any]:
    """A task as a JSON-ready mapping: id, version and its whole state."""
    return {"id": str(task.id), "version": task.version, **task.state.model_dump(mode="json")}


def _answer(response: Response, task: ContainmentTask) -> dict[str, Any]:
    tag(response, task.version)
    return task_document(task)


def _row(row: Row) -> dict[str, Any]:
    return {
        **row,
        "mandatory": bool(row["mandatory"]),
        "blocked_by": [b for b in row["blocked_by"].split(",") if b],
        "evidence": json.loads(row["evidence"]),
    }


@router.get("/tasks", summary="The task board", response_model=Page)
def tasks(
    request: Request,
    caller: Reader,
    incident: UUID | None = None,
    owner: str | None = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page:
    """Tasks by due time, each marked ``overdue`` and ``waiting_on`` (unfinished tasks it
    waits for); filtered by incident, owner, or only the overdue ones."""
    rt = runtime_of(request)
    after = decode_cursor(cursor, str, str)
    rows = rt.tasks.page(
        rt.app.core.clock.now(),
        after=(str(after[0]), str(after[1])) if after else None,
        limit=limit + 1,
        incident_id=incident,
        owner=owner,
        overdue_only=overdue,
    )
    return paged([_row(r) for r in rows], limit, ["due_at", "task_id"])


@router.get("/tasks/{task_id}", summary="A task")
def show_task(task_id: UUID, request: Request, response: Response, caller: Reader) -> Any:
    """The task as it is now, from the log; ETag is its version."""
    return _answer(response, runtime_of(request).app.containment.get_task(task_id))


@router.post("/incidents/{incident_id}/tasks", status_code=201, summary="Open a task")
def add_task(
    incident_id: UUID, body: AddTaskBody, request: Request, response: Response, caller: Changer
) -> Any:
    """Open a task on an incident by hand; answers it with its ``Location``. An
    ``If-Match`` names the incident version the task is based on."""
    rt = runtime_of(request)
    data = body.model_dump(exclude_none=True, mode="json")
    data["due_at"] = parse_time(
        "due_at", body.due_at, rt.settings.zone, now=rt.app.core.clock.now()
    )
    task = rt.gateway.run(
        rt.app.containment.add_task, incident_id, data, context(request, caller, incident_id)
    )
    response.headers["Location"] = f"{request.url.path.rsplit('/incidents/', 1)[0]}/tasks/{task.id}"
    return _answer(response, task)


act = CommandRoutes(router, "task_id", lambda q, r, task: _answer(r, task))


@act("POST", "/tasks/{task_id}/assign", "Assign a task", Changer, AssignTask)
def assign(a: BreachLedger, t: UUID, body: AssignTask, c: RequestContext) -> ContainmentTask:
    """Give the task to an owner."""
    return a.containment.assign_task(t, body, c)


@act("POST", "/tasks/{task_id}/start", "Start a task", Changer)
def start(a: BreachLedger, t: UUID, body: None, c: RequestContext) -> ContainmentTask:
    """Start work on an open task whose blockers are finished."""
    return a.containment.start_task(t, c)


@act("POST", "/tasks/{task_id}/block", "Block a task", Changer, ReasonOnly)
def block(a: BreachLedger, t: UUID, body: ReasonOnly, c: RequestContext) -> ContainmentTask:
    """Mark the task blocked, with the reason."""
    return a.containment.block_task(t, body, c)


@act("POST", "/tasks/{task_id}/unblock", "Unblock a task", Changer, UnblockTask)
def unblock(a: BreachLedger, t: UUID, body: UnblockTask, c: RequestContext) -> ContainmentTask:
    """Lift a block; the task returns to where it was."""
    return a.containment.unblock_task(t, body, c)


@act("POST", "/tasks/{task_id}/done", "Complete a task", Changer, CompleteTask)
def done(a: BreachLedger, t: UUID, body: CompleteTask, c: RequestContext) -> ContainmentTask:
    """Record the task done, with its outcome and evidence (``sha256:<hex>``,
    ``url:<link>``, ``ticket:<id>`` or ``note:<text>``)."""
    return a.containment.complete_task(t, body, c)


@act("POST", "/tasks/{task_id}/reopen", "Reopen a task", Changer, ReasonOnly)
def reopen(a: BreachLedger, t: UUID, body: ReasonOnly, c: RequestContext) -> ContainmentTask:
    """Reopen a done or cancelled task, with the reason."""
    return a.containment.reopen_task(t, body, c)


@act("POST", "/tasks/{task_id}/cancel", "Cancel a task", Changer, ReasonOnly)
def cancel(a: BreachLedger, t: UUID, body: ReasonOnly, c: RequestContext) -> ContainmentTask:
    """Cancel the task, with the reason."""
    return a.containment.cancel_task(t, body, c)


@router.post("/tasks/{task_id}/due", summary="Move a task's due time")
def due(task_id: UUID, body: DueBody, request: Request, response: Response, caller: Changer) -> Any:
    """Move the task's due time, with the reason."""
    rt = runtime_of(request)
    data = {
        "due_at": parse_time("due_at", body.due_at, rt.settings.zone, now=rt.app.core.clock.now()),
        "reason": body.reason,
    }
    task = rt.gateway.run(
        rt.app.containment.change_task_due, task_id, data, context(request, caller, task_id)
    )
    return _answer(response, task)


@router.get("/incidents/{incident_id}/containment", summary="An incident's containment")
def containment(incident_id: UUID, request: Request, caller: Reader) -> Any:
    """Containment progress: mandatory tasks done of those not cancelled, and when
    containment was reached and how long after awareness."""
    rt = runtime_of(request)
    state = rt.app.incidents.get_incident(incident_id).state
    done_count, total = rt.tasks.progress(incident_id)
    reached = state.containment_reached_at
    return {
        "incident_id": str(incident_id),
        "mandatory_done": done_count,
        "mandatory_total": total,
        "tasks": len(state.tasks),
        "playbooks": state.playbooks,
        "contained": reached is not None,
        "containment_reached_at": reached.isoformat() if reached else None,
        "time_to_contain_seconds": state.time_to_contain_seconds,
    }


@router.get("/playbooks", summary="The containment playbooks", response_model=Page)
def playbooks(request: Request, caller: Reader) -> Page:
    """Every playbook with the incident types it serves and its number of steps; the
    ``generic`` one serves every type no other playbook names."""
    catalog = runtime_of(request).playbooks
    items: list[dict[str, Any]] = [
        {
            "id": p.id,
            "version": p.version,
            "title": p.title,
            "incident_types": [t.value for t in p.incident_types],
            "generic": p.id == catalog.GENERIC,
            "steps": len(p.steps),
            "mandatory": sum(s.mandatory for s in p.steps),
        }
        for p in catalog.playbooks.values()
    ]
    return Page(items=items)


@router.get("/playbooks/{playbook_id}", summary="A playbook")
def show_playbook(playbook_id: str, request: Request, caller: Reader) -> Any:
    """A playbook's steps: titles, due times, dependencies, whether mandatory."""
    playbook = runtime_of(request).playbooks.playbooks.get(playbook_id)
    if playbook is None:
        raise NotFound("playbook", "no such playbook")
    return json.loads(playbook.model_dump_json(by_alias=True))
