"""`breach serve` under hostile load from clients without credentials: huge uploads refused
after a few kilobytes, and a storm of sign-ins that neither exhausts memory nor silences
/healthz."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from tests.support.server import bytes_read, start_server
from tests.support.storm import sign_in_storm
from tests.web.conftest import csrf_of

HUGE = 250 * 2**20
CHUNK = 64 * 1024
BOUNDARY = "breachledger-test-boundary"
FORM = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
FORM_HEAD = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\nforged\r\n'
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="people.csv"\r\n'
    "Content-Type: text/csv\r\n\r\nemail,name,language,jurisdiction\r\n"
).encode()
FORM_TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()


class Upload:
    """A body of ``HUGE`` bytes produced as it is sent, counting what the client managed to
    send."""

    def __init__(self, head: bytes = b"", tail: bytes = b"") -> None:
        self.head = head
        self.tail = tail
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        chunk = b"x" * CHUNK
        self.sent += len(self.head)
        yield self.head
        while self.sent < HUGE:
            self.sent += len(chunk)
            yield chunk
        self.sent += len(self.tail)
        yield self.tail


def test_anonymous_uploads_are_refused_after_a_few_kilobytes(tmp_path: Path) -> None:
    """250 MiB sent without credentials, streamed or with its length declared, to the API's
    people import, the dashboard's import form and another form whose path ends in
    /people, is refused within seconds: the server read at most a few hundred kilobytes
    (its rchar), nothing reached its temporary directory, and the client could not send
    more than what the sockets' buffers hold."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {"BREACH_PASSWORD_HASH_MEMORY_KIB": "64", "TMPDIR": str(scratch)}
    server = start_server(tmp_path / "var", "--no-workers", env=env)
    pid = server.process.pid
    incident, task = uuid4(), uuid4()
    targets = [
        (f"/api/v1/incidents/{incident}/people", {"Content-Type": "text/csv"}, b"", b""),
        (f"/incidents/{incident}/people", FORM, FORM_HEAD, FORM_TAIL),
        (f"/incidents/{incident}/tasks/{task}/people", FORM, FORM_HEAD, FORM_TAIL),
    ]
    try:
        for path, headers, head, tail in targets:
            for declared in (False, True):
                upload = Upload(head, tail)
                sized = {"Content-Length": str(HUGE + len(head) + len(tail))} if declared else {}
                read_before = bytes_read(pid)
                started = time.monotonic()
                answer = httpx.post(
                    f"{server.url}{path}",
                    content=upload,
                    headers={**headers, **sized},
                    timeout=60,
                )
                elapsed = time.monotonic() - started
                read = bytes_read(pid) - read_before
                case = (path, declared, answer.status_code, upload.sent, read, elapsed)
                assert answer.status_code in (303, 401, 413), case
                assert read < 1 * 2**20, case
                assert upload.sent < 32 * 2**20, case
                assert elapsed < 10, case
                assert list(scratch.iterdir()) == [], case
    finally:
        server.stop()


@pytest.mark.slow
def test_fifty_concurrent_sign_ins_stay_within_memory_while_health_answers(
    tmp_path: Path,
) -> None:
    """Fifty anonymous sign-ins sent at once to a server with the default Argon2id cost
    (64 MiB per check) and no address limit in the way: its resident memory grows by less
    than 300 MiB, /healthz answers throughout, and each sign-in is answered 401, or 503
    when no check slot freed up in time."""
    env = {"BREACH_HTTP_SECURE_COOKIES": "false", "BREACH_SIGNIN_CLIENT_FAILURES": "10000"}
    server = start_server(tmp_path / "var", "--no-workers", env=env)
    try:
        with httpx.Client(base_url=server.url, timeout=60) as warm:
            token = csrf_of(warm.get("/login").text)
            warm.post("/login", data={"csrf": token, "username": "warm", "password": "up"})
        report = sign_in_storm(server.url, server.process.pid, 50)
        assert report.growth_mib < 300, report
        assert report.health_failures == 0, report
        assert report.health_ms, report
        assert set(report.answers) <= {"401", "503"}, report
        assert sum(report.answers.values()) == 50
    finally:
        server.stop()
