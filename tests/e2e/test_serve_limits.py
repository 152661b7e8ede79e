"""`breach serve` under hostile load from clients without credentials: huge uploads refused
after a few kilobytes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import httpx

from tests.support.server import bytes_read, start_server

HUGE = 250 * 2**20
CHUNK = 64 * 1024
BOUNDARY = "breachledger-test-boundary"
FORM = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
FORM_HEAD = (
    f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nforged\r\n"
    f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"people.csv\"\r\n"
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
