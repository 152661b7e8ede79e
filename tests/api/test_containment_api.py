"""The containment routes: the task board, one task, opening tasks and every task action,
an incident's containment progress and the playbooks, with their refusals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.api.conftest import Api
from tests.support.clocks import ManualClock

MISSING = "00000000-0000-4000-8000-000000000000"
DUE = "2026-11-28T10:00:00Z"
SHA = "sha256:" + "ab" * 32


def refused(r: Any, status: int, field: str) -> None:
    """Assert a problem response with this status naming this field."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == field, r.json()


def triaged(api: Api, kind: str = "ransomware") -> str:
    """Report and triage an incident of ``kind`` (its playbook opens); return its id."""
    incident = api.report(incident_type=kind, aware_at="2026-11-27T08:30:00Z")
    r = api.call(
        "responder",
        "POST",
        f"/api/v1/incidents/{incident['id']}/triage",
        json={"severity": "high", "incident_type": kind},
    )
    assert r.status_code == 200, r.text
    return str(incident["id"])


def add(api: Api, incident: str, **fields: Any) -> dict[str, Any]:
    """Open a task by hand on ``incident``; return its document."""
    body = {"title": "Rotate the API keys", "due_at": DUE, **fields}
    r = api.call("responder", "POST", f"/api/v1/incidents/{incident}/tasks", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def walk(api: Api, limit: int, **params: Any) -> list[dict[str, Any]]:
    """Every task of the board, following the cursors."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        r = api.call("auditor", "GET", "/api/v1/tasks", params=query)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the cursors never reached the last page")


def act(api: Api, task: str, action: str, body: Any = None, **headers: str) -> Any:
    """POST a task action as the responder."""
    path = f"/api/v1/tasks/{task}/{action}"
    return api.call("responder", "POST", path, json=body, headers=headers)


def test_board_pages_by_due_time_without_gaps_or_repeats(api: Api) -> None:
    """Walking the board in pages of three gives every task once, in the CLI's order, with
    flags and blockers as JSON values."""
    ransomware = triaged(api)
    triaged(api, "lost_or_stolen_device")
    rows = walk(api, 3)
    expected = [r["task_id"] for r in api.rt.tasks.rows(api.rt.app.core.clock.now())]
    assert [r["task_id"] for r in rows] == expected
    assert len(rows) == 12
    preserve = next(r for r in rows if r["step"] == "preserve_evidence")
    isolate = next(r for r in rows if r["step"] == "isolate")
    assert preserve["blocked_by"] == [isolate["task_id"]]
    assert preserve["waiting_on"] == [isolate["task_id"]]
    assert preserve["incident_id"] == ransomware
    assert isinstance(preserve["mandatory"], bool)
    assert preserve["evidence"] == []


def test_board_filters_by_incident_owner_and_overdue(api: Api) -> None:
    """Each filter returns only matching tasks; overdue is judged against the clock."""
    ransomware = triaged(api)
    other = triaged(api, "lost_or_stolen_device")
    mine = walk(api, 50, incident=other)
    assert {r["incident_id"] for r in mine} == {other}
    assert len(mine) == 5
    task = mine[0]["task_id"]
    assert act(api, task, "assign", {"owner": "carol"}).status_code == 200
    assert [r["task_id"] for r in walk(api, 50, owner="carol")] == [task]
    assert walk(api, 50, overdue="true") == []
    clock = api.rt.app.core.clock
    assert isinstance(clock, ManualClock)
    now = clock.advance(hours=2)
    late = walk(api, 2, overdue="true", incident=ransomware)
    assert late
    assert all(r["overdue"] and r["incident_id"] == ransomware for r in late)
    expected = [
        r["task_id"]
        for r in api.rt.tasks.rows(now, incident_id=late[0]["incident_id"], overdue_only=True)
    ]
    assert [r["task_id"] for r in late] == expected


def test_board_refusals_name_the_parameter(api: Api) -> None:
    """A bad cursor, incident or limit is a 422 naming it; a reporter may not read tasks."""
    for params, field in (
        ({"cursor": "!!"}, "cursor"),
        ({"incident": "abc"}, "incident"),
        ({"limit": 500}, "limit"),
        ({"overdue": "perhaps"}, "overdue"),
    ):
        refused(api.call("auditor", "GET", "/api/v1/tasks", params=params), 422, field)
    refused(api.call("reporter", "GET", "/api/v1/tasks"), 403, "role")


def test_task_is_read_with_its_version_as_etag(api: Api) -> None:
    """One task answers its state and ETag; unknown ids and incidents are 404."""
    incident = api.report()["id"]
    task = add(api, incident, owner="carol", priority="high")
    r = api.call("auditor", "GET", f"/api/v1/tasks/{task['id']}")
    assert r.status_code == 200
    assert r.headers["ETag"] == '"1"'
    doc = r.json()
    assert (doc["title"], doc["owner"], doc["priority"], doc["status"]) == (
        "Rotate the API keys",
        "carol",
        "high",
        "open",
    )
    refused(api.call("auditor", "GET", f"/api/v1/tasks/{MISSING}"), 404, "id")
    refused(api.call("auditor", "GET", f"/api/v1/tasks/{incident}"), 404, "id")
    refused(api.call("auditor", "GET", "/api/v1/tasks/abc"), 422, "task_id")
    refused(api.call("reporter", "GET", f"/api/v1/tasks/{task['id']}"), 403, "role")


def test_task_added_by_hand_is_created_with_location(api: Api) -> None:
    """Opening a task answers 201 with Location and ETag, waits for its blockers, and is
    attached to the incident as the caller."""
    incident = api.report()
    first = add(api, incident["id"])
    r = api.call(
        "responder",
        "POST",
        f"/api/v1/incidents/{incident['id']}/tasks",
        json={
            "title": "Confirm deletion",
            "due_at": "2026-11-28T12:00:00",
            "mandatory": False,
            "priority": "low",
            "blocked_by": [first["id"]],
        },
        headers={"If-Match": '"2"'},
    )
    assert r.status_code == 201, r.text
    doc = r.json()
    assert r.headers["Location"] == f"/api/v1/tasks/{doc['id']}"
    assert r.headers["ETag"] == '"1"'
    assert doc["blocked_by"] == [first["id"]]
    assert doc["mandatory"] is False
    assert datetime.fromisoformat(doc["due_at"]) == datetime.fromisoformat("2026-11-28T12:00Z")
    assert api.call("auditor", "GET", r.headers["Location"]).status_code == 200
    row = walk(api, 50, incident=incident["id"])[-1]
    assert row["waiting_on"] == [first["id"]]
    timeline = api.call("auditor", "GET", f"/api/v1/incidents/{incident['id']}/timeline").json()
    assert timeline["entries"][-1]["actor"] == "responder"


def test_adding_a_task_is_refused_with_the_field_and_records_nothing(api: Api) -> None:
    """Wrong role, bad fields, a due time before the report, a foreign blocker, an unknown
    incident and a stale If-Match are refused, and the log does not grow."""
    incident = api.report()["id"]
    foreign = add(api, api.report()["id"])["id"]
    path = f"/api/v1/incidents/{incident}/tasks"
    ok = {"title": "Rotate keys", "due_at": DUE}
    before = api.events()
    cases: list[tuple[str, dict[str, Any], int, str]] = [
        ("dpo", ok, 403, "role"),
        ("responder", {**ok, "title": "  "}, 422, "title"),
        ("responder", {"title": "Rotate keys"}, 422, "due_at"),
        ("responder", {**ok, "due_at": "next week"}, 422, "due_at"),
        ("responder", {**ok, "due_at": "2026-11-01T00:00:00Z"}, 409, "due_at"),
        ("responder", {**ok, "priority": "whenever"}, 422, "priority"),
        ("responder", {**ok, "owner": "bad owner!"}, 422, "owner"),
        ("responder", {**ok, "blocked_by": [foreign]}, 422, "blocked_by"),
        ("responder", {**ok, "colour": "red"}, 422, "body"),
    ]
    for role, body, status, field in cases:
        refused(api.call(role, "POST", path, json=body), status, field)
    refused(
        api.call("responder", "POST", path, json=ok, headers={"If-Match": '"7"'}), 412, "If-Match"
    )
    refused(api.call("responder", "POST", f"/api/v1/incidents/{MISSING}/tasks", json=ok), 404, "id")
    assert api.events() == before


def test_every_task_action_moves_the_task_and_answers_its_version(api: Api) -> None:
    """Assign, start, block, unblock, due, done (with evidence), reopen and cancel each apply
    against the current ETag and answer the new state and version."""
    task = add(api, api.report()["id"])["id"]
    steps: list[tuple[str, Any, str, Any]] = [
        ("assign", {"owner": "carol"}, "owner", "carol"),
        ("start", None, "status", "in_progress"),
        ("block", {"reason": "waiting for the vendor"}, "status", "blocked"),
        ("unblock", {"reason": "vendor answered"}, "status", "in_progress"),
        ("due", {"due_at": "2026-11-29T10:00:00Z", "reason": "vendor delay"}, "due_at", None),
        ("done", {"outcome": "keys rotated", "evidence": [SHA, "ticket:SEC-1"]}, "status", "done"),
        ("reopen", {"reason": "one key missed"}, "status", "open"),
        ("cancel", {"reason": "superseded"}, "status", "cancelled"),
    ]
    version = 1
    for action, body, key, want in steps:
        r = act(api, task, action, body, **{"If-Match": f'"{version}"'})
        assert r.status_code == 200, (action, r.text)
        version += 1
        assert r.headers["ETag"] == f'"{version}"'
        assert r.json()["version"] == version
        if want is not None:
            assert r.json()[key] == want, action
        if action == "done":
            assert r.json()["completed_by"] == "responder"
            assert [e["kind"] for e in r.json()["evidence"]] == ["sha256", "ticket"]
        if action == "due":
            moved = datetime.fromisoformat(r.json()["due_at"])
            assert moved == datetime.fromisoformat("2026-11-29T10:00:00Z")
    row = walk(api, 50)[0]
    assert (row["task_id"], row["status"], row["version"]) == (task, "cancelled", version)


def test_task_action_refusals_name_the_field_and_record_nothing(api: Api) -> None:
    """Rules (blockers, status), bad input, a stale ETag, an unknown task and a caller who may
    not change tasks are each refused without an event."""
    incident = api.report()["id"]
    first = add(api, incident)["id"]
    second = add(api, incident, blocked_by=[first])["id"]
    before = api.events()
    refused(act(api, second, "start"), 409, "blocked_by")
    refused(act(api, second, "done", {"outcome": "x"}), 409, "blocked_by")
    refused(act(api, first, "reopen", {"reason": "why"}), 409, "status")
    refused(act(api, first, "unblock", {}), 409, "status")
    refused(act(api, first, "done", {"outcome": "x", "evidence": ["photo"]}), 422, "evidence")
    refused(act(api, first, "done", {"outcome": "x", "evidence": ["sha256:12"]}), 422, "evidence")
    refused(act(api, first, "block", {"reason": ""}), 422, "reason")
    refused(act(api, first, "cancel", {}), 422, "reason")
    refused(act(api, first, "assign", {"owner": "two words"}), 422, "owner")
    refused(act(api, first, "due", {"due_at": DUE, "reason": "same"}), 409, "due_at")
    refused(act(api, first, "due", {"due_at": "soon", "reason": "x"}), 422, "due_at")
    refused(act(api, first, "start", **{"If-Match": '"9"'}), 412, "If-Match")
    refused(act(api, MISSING, "start"), 404, "id")
    refused(api.call("dpo", "POST", f"/api/v1/tasks/{first}/start"), 403, "role")
    refused(
        api.call("auditor", "POST", f"/api/v1/tasks/{first}/cancel", json={"reason": "x"}),
        403,
        "role",
    )
    assert api.events() == before


def test_containment_progress_follows_the_mandatory_tasks(api: Api) -> None:
    """Progress counts mandatory tasks; finishing the last one records containment reached,
    measured from awareness."""
    incident = api.report(aware_at="2026-11-27T08:30:00Z")["id"]
    path = f"/api/v1/incidents/{incident}/containment"
    task = add(api, incident)["id"]
    add(api, incident, mandatory=False)
    start = api.call("auditor", "GET", path).json()
    assert (start["mandatory_done"], start["mandatory_total"], start["tasks"]) == (0, 1, 2)
    assert start["contained"] is False
    assert act(api, task, "done", {"outcome": "rotated"}).status_code == 200
    end = api.call("auditor", "GET", path).json()
    assert (end["mandatory_done"], end["mandatory_total"], end["contained"]) == (1, 1, True)
    assert end["time_to_contain_seconds"] > 1800
    assert end["containment_reached_at"] is not None
    refused(api.call("auditor", "GET", f"/api/v1/incidents/{MISSING}/containment"), 404, "id")
    refused(api.call("reporter", "GET", path), 403, "role")


def test_playbooks_are_listed_and_shown_with_their_steps(api: Api) -> None:
    """The list names every playbook and the types it serves; one playbook shows its steps
    with due times and dependencies; an unknown one is 404."""
    items = api.call("auditor", "GET", "/api/v1/playbooks").json()["items"]
    by_id = {p["id"]: p for p in items}
    assert by_id["ransomware"]["steps"] == 7
    assert "ransomware" in by_id["ransomware"]["incident_types"]
    assert by_id["generic"]["generic"] is True
    r = api.call("responder", "GET", "/api/v1/playbooks/ransomware")
    assert r.status_code == 200
    steps = {s["id"]: s for s in r.json()["steps"]}
    assert steps["preserve_evidence"]["depends_on"] == ["isolate"]
    assert "from" in steps["isolate"]["due"]
    refused(api.call("auditor", "GET", "/api/v1/playbooks/nothing"), 404, "playbook")
    refused(api.call("reporter", "GET", "/api/v1/playbooks"), 403, "role")


def test_due_times_without_an_offset_are_read_in_the_configured_zone(oslo: Api) -> None:
    """A naive due time is Oslo time when opening and when moving a task; 'now' is the
    server's clock."""
    task = add(oslo, oslo.report()["id"], due_at="2026-11-28T10:00:00")
    assert datetime.fromisoformat(task["due_at"]) == datetime.fromisoformat("2026-11-28T09:00Z")
    r = act(oslo, task["id"], "due", {"due_at": "2026-11-28T18:00", "reason": "later"})
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json()["due_at"]) == datetime.fromisoformat("2026-11-28T17:00Z")
    now = act(oslo, task["id"], "due", {"due_at": "now", "reason": "urgent"})
    assert now.status_code == 200, now.text
    assert now.json()["due_at"].startswith("2026-11-27T09:00")


def test_corrected_awareness_moves_open_playbook_tasks_on_the_board_and_timeline(api: Api) -> None:
    """PATCH aware_at two hours earlier: the restore step (aware + 3 days) is due two hours
    earlier in the task, on the board and in the timeline, one event per moved task; a done
    task and a task rescheduled by hand keep their due."""
    incident = api.report(
        incident_type="ransomware",
        discovered_at="2026-11-27T06:00:00Z",
        aware_at="2026-11-27T08:30:00Z",
    )["id"]
    r = api.call(
        "responder",
        "POST",
        f"/api/v1/incidents/{incident}/triage",
        json={"severity": "high", "incident_type": "ransomware"},
    )
    assert r.status_code == 200, r.text
    steps = {t["step"]: t for t in walk(api, 50, incident=incident)}
    restore = steps["restore"]["task_id"]
    assert steps["restore"]["due_at"] == "2026-11-30T08:30:00.000000Z"
    done, by_hand = steps["disable_accounts"]["task_id"], steps["verify_backups"]["task_id"]
    assert act(api, done, "done", {"outcome": "accounts disabled"}).status_code == 200
    moved = {"due_at": "2026-11-28T10:00:00Z", "reason": "backup vendor on site tomorrow"}
    assert act(api, by_hand, "due", moved).status_code == 200
    kept = {t: api.call("auditor", "GET", f"/api/v1/tasks/{t}").json() for t in (done, by_hand)}
    before = api.events()
    r = api.call(
        "responder",
        "PATCH",
        f"/api/v1/incidents/{incident}",
        json={"aware_at": "2026-11-27T06:30:00Z", "reason": "EDR alert found earlier"},
    )
    assert r.status_code == 200, r.text
    # isolate (held at the report), preserve_evidence, scope_exfiltration, restore and
    # law_enforcement move; the correction itself is the sixth event.
    assert api.events() == before + 6
    task = api.call("auditor", "GET", f"/api/v1/tasks/{restore}").json()
    assert (task["due_at"], task["due_anchor"]) == (
        "2026-11-30T06:30:00Z",
        {"clock": "aware", "hours": 72},
    )
    board = {t["task_id"]: t for t in walk(api, 50, incident=incident)}
    assert board[restore]["due_at"] == "2026-11-30T06:30:00.000000Z"
    for t, doc in kept.items():
        now = api.call("auditor", "GET", f"/api/v1/tasks/{t}").json()
        assert (now["due_at"], now["version"]) == (doc["due_at"], doc["version"])
    entries = api.call("auditor", "GET", f"/api/v1/incidents/{incident}/timeline").json()
    moves = [e for e in entries["entries"] if e["event"] == "TaskDueMoved"]
    assert len(moves) == 5
    assert len({e["task_id"] for e in moves}) == 5
    [entry] = [e for e in moves if e["task_id"] == restore]
    assert entry["summary"].startswith(
        f"task {restore[:8]} due 2026-11-30 08:30 UTC -> 2026-11-30 06:30 UTC: aware_at corrected"
    )
