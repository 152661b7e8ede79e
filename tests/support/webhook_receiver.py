"""A real webhook receiver for tests: a threading HTTP server on 127.0.0.1 that checks each
delivery's signature and keeps what arrived, answering with codes the test chooses.

It can be stopped and started again on the same port (a receiver that is down refuses
connections, and the connections senders kept alive are closed), and told to answer a code
for a while (500, 410) before answering 204.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from services.webhooks.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, verify


@dataclass
class Received:
    """One request that reached the receiver."""

    delivery_id: str
    kind: str
    body: bytes
    signed: bool
    answered: int
    headers: dict[str, str] = field(default_factory=dict)
    """The delivery's signature, id and kind headers, as received."""

    @property
    def document(self) -> dict[str, Any]:
        """The body as JSON."""
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """The receiver's state: the secret it checks with, what to answer, what arrived."""

    secret: str = ""
    answer: Callable[[Received], int] = field(default=lambda _r: 204)
    now: Callable[[], float] = time.time
    """The receiver's clock, which signatures are checked against."""
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _first: dict[str, Received] = field(default_factory=dict)
    """The first accepted delivery of each delivery id, in arrival order (kept as they
    arrive, so that waiting for thousands costs nothing per check)."""
    port: int = 0
    _server: ThreadingHTTPServer | None = None
    _connections: set[socket.socket] = field(default_factory=set)
    _up: bool = False
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where deliveries go."""
        return f"http://127.0.0.1:{self.port}/hooks/breach"

    def start(self) -> Receiver:
        """Listen (again, on the same port after the first start)."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with receiver.lock:
                    receiver._connections.add(self.connection)

            def finish(self) -> None:
                with receiver.lock:
                    receiver._connections.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                signed = verify(
                    receiver.secret, self.headers.get(SIGNATURE_HEADER, ""), body, receiver.now()
                )
                got = Received(
                    delivery_id=self.headers.get(DELIVERY_HEADER, ""),
                    kind=self.headers.get(EVENT_HEADER, ""),
                    body=body,
                    signed=signed,
                    answered=0,
                    headers={
                        name: self.headers.get(name, "")
                        for name in (SIGNATURE_HEADER, DELIVERY_HEADER, EVENT_HEADER)
                    }
                    | {"Content-Type": "application/json"},
                )
                got.answered = receiver.answer(got) if signed else 401
                with receiver.lock:
                    if not receiver._up:  # stopped while this request was read: no answer
                        self.close_connection = True
                        return
                    receiver.received.append(got)
                    if got.signed and 200 <= got.answered < 300:
                        receiver._first.setdefault(got.delivery_id, got)
                self.send_response(got.answered)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        ThreadingHTTPServer.allow_reuse_address = True
        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        with self.lock:
            self._up = True
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and close the connections kept alive (connections are refused
        until started again; a request being read meanwhile is dropped unanswered)."""
        with self.lock:
            self._up = False
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self.lock:
            open_now = list(self._connections)
        for connection in open_now:
            with contextlib.suppress(OSError):  # closed by the sender meanwhile
                connection.shutdown(socket.SHUT_RDWR)

    def accepted(self) -> list[Received]:
        """The signed deliveries answered 2xx, in arrival order."""
        with self.lock:
            return [r for r in self.received if r.signed and 200 <= r.answered < 300]

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """Wait until ``count`` distinct deliveries were accepted; return them (first of each
        id, in arrival order)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self._first) >= count:
                break
            time.sleep(0.02)
        return self.unique()

    def unique(self) -> list[Received]:
        """The accepted deliveries, one per delivery id (the first), in arrival order."""
        with self.lock:
            return list(self._first.values())

    def clear(self) -> None:
        """Forget what arrived."""
        with self.lock:
            self.received.clear()
            self._first.clear()
