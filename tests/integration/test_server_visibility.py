"""In a running server, whose own threads keep policies, views and the audit chain at the
head of the log, a command waits for them and its effects are visible when it returns."""

from __future__ import annotations

import threading

import httpx

from services.bootstrap import bootstrap
from services.config import Settings
from services.server.runner import Server
from tests.support.identity import provision

WRITERS = 8
EACH = 6


def report_and_triage(client: httpx.Client, writer: int, n: int) -> list[str]:
    """Report an incident, read it back from the board, triage it and read its playbook
    tasks back from the task board; return what was not visible on return."""
    missed: list[str] = []
    title = f"Writer {writer} incident {n}"
    r = client.post(
        "/api/v1/incidents",
        json={"title": title, "discovered_at": "2026-11-27T08:00:00Z"},
    )
    assert r.status_code == 201, r.text
    incident = r.json()["id"]
    board = client.get("/api/v1/incidents", params={"limit": 200}).json()["items"]
    if incident not in {row["incident_id"] for row in board}:
        missed.append(f"{title}: not on the board")
    r = client.post(
        f"/api/v1/incidents/{incident}/triage",
        json={"severity": "high", "incident_type": "ransomware"},
    )
    assert r.status_code == 200, r.text
    tasks = client.get("/api/v1/tasks", params={"incident": incident}).json()["items"]
    if not tasks:
        missed.append(f"{title}: no playbook tasks")
    return missed


def writers(url: str, token: str) -> list[str]:
    """Run WRITERS concurrent writers, EACH writes each; return everything they missed."""
    missed: list[str] = []
    failures: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def write(writer: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        try:
            with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
                start.wait()
                for n in range(EACH):
                    missed.extend(report_and_triage(client, writer, n))
        except BaseException as e:  # reported by the test's thread
            failures.append(e)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failures, failures
    return missed


def test_concurrent_writers_see_their_writes_and_reactions_waiting_for_the_workers(
    settings: Settings,
) -> None:
    """Eight writers at once through a running server with its workers: each finds its
    report on the board and its triage's playbook tasks on the task board as soon as its
    request returns, and no command had to catch up itself."""
    rt = bootstrap(settings, configure_logs=False)
    try:
        token = provision(rt, "alice")
        server = Server(rt, host="127.0.0.1", port=0).start()
        try:
            assert rt.runners is not None
            assert writers(server.url, token) == []
            assert rt.runner_fallbacks == 0
            assert rt.board.count() == WRITERS * EACH
        finally:
            server.stop()
        assert rt.runners is None
    finally:
        rt.close()


def test_a_write_is_visible_when_a_runner_has_stopped(settings: Settings) -> None:
    """When the views' runner no longer runs, a command does not wait for it: it catches up
    itself (counted) and its effects are visible on return."""
    rt = bootstrap(settings, configure_logs=False)
    try:
        token = provision(rt, "alice")
        server = Server(rt, host="127.0.0.1", port=0).start()
        try:
            assert rt.runners is not None
            rt.runners.leave("views")
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
                assert report_and_triage(client, 0, 0) == []
            assert rt.runner_fallbacks >= 1
        finally:
            server.stop()
    finally:
        rt.close()
