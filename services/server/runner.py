"""A running breachledger: the HTTP application on a loopback (or configured) socket, the
background workers and, when no SMTP relay is configured, the local capture server."""

from __future__ import annotations

import socket
import threading

import structlog
import uvicorn

from services.bootstrap import Runtime
from services.collector import tune_for_long_work
from services.notifications.mailbox import CaptureServer
from services.server.http_app import create_app
from services.server.workers import Workers

log = structlog.get_logger()


def trusted_proxies(setting: str) -> str | None:
    """The proxies whose forwarding headers (X-Forwarded-For, X-Forwarded-Proto) are
    believed, as uvicorn reads them; None when the setting names none, and the headers are
    then ignored (each client is what its connection says)."""
    entries = [entry.strip() for entry in setting.split(",") if entry.strip()]
    return ",".join(entries) if entries else None


def listen(host: str, port: int) -> socket.socket:
    """Bind and listen on ``host``:``port`` (port 0: any free port). The first thing a
    server does, so that an address in use stops it before anything else has started."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio turns Nagle off (TCP_NODELAY) only on sockets
    # whose protocol says TCP; without it keep-alive answers wait ~40 ms for an ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class Server:
    """Starts and stops everything ``breach serve`` runs, in this process; ``listener`` is
    the socket bound beforehand with :func:`listen` (bound at start when not given)."""

    def __init__(
        self,
        rt: Runtime,
        *,
        host: str | None = None,
        port: int | None = None,
        workers: bool = True,
        listener: socket.socket | None = None,
    ) -> None:
        self.rt = rt
        self.host = host or rt.settings.http_host
        self.port = rt.settings.http_port if port is None else port
        self.run_workers = workers
        self.capture: CaptureServer | None = None
        self.workers: Workers | None = None
        self._socket: socket.socket | None = listener
        self._uvicorn: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL the server answers on."""
        assert self._socket is not None, "start the server first"
        host, port = self._socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> Server:
        """Bind the socket (unless bound already), bring the views up to date, then start the
        workers and the HTTP server."""
        if self._socket is None:
            self._socket = listen(self.host, self.port)
        self.rt.gateway.current()
        # Objects built so far live as long as the server (see the module): the
        # collector's pauses in answers' tails are shorter.
        tune_for_long_work()
        if self.run_workers and self.rt.pipeline is None:
            target, delivery, self.capture = self.rt.smtp_target()
            self.workers = Workers(self.rt, target, delivery).start()
        proxies = trusted_proxies(self.rt.settings.http_forwarded_allow_ips)
        config = uvicorn.Config(
            create_app(self.rt),
            log_config=None,
            access_log=False,
            lifespan="off",
            server_header=False,
            timeout_graceful_shutdown=5,
            proxy_headers=proxies is not None,
            # Never None: uvicorn would then read FORWARDED_ALLOW_IPS from the environment
            # and trust loopback by default.
            forwarded_allow_ips=proxies or "",
        )
        self._uvicorn = uvicorn.Server(config)
        sockets = [self._socket]
        self._thread = threading.Thread(
            target=self._uvicorn.run, kwargs={"sockets": sockets}, name="http", daemon=True
        )
        self._thread.start()
        self._wait_started()
        log.info("server.started", url=self.url)
        return self

    def _wait_started(self, timeout: float = 10.0) -> None:
        assert self._uvicorn is not None
        assert self._thread is not None
        deadline = threading.Event()
        for _ in range(int(timeout / 0.02)):
            if self._uvicorn.started or not self._thread.is_alive():
                break
            deadline.wait(0.02)
        if not self._uvicorn.started:
            msg = "the HTTP server did not start"
            raise RuntimeError(msg)

    @property
    def running(self) -> bool:
        """Whether the HTTP server is still serving."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Stop the HTTP server, then the workers, then the capture server."""
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        if self.workers is not None:
            self.workers.stop()
        if self.capture is not None:
            self.capture.stop()
        if self._socket is not None:
            self._socket.close()
        log.info("server.stopped")
