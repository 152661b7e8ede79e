"""The metrics registry of a runtime, and the metrics HTTP server of worker processes."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    start_http_server,
)

from services.bootstrap import Runtime
from services.metrics.collector import RuntimeCollector


def registry(rt: Runtime) -> CollectorRegistry:
    """A registry of the runtime's metrics (read at each scrape) and the process's own:
    CPU, memory, open files, the Python version and the garbage collector."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(RuntimeCollector(rt))
    ProcessCollector(registry=reg)
    PlatformCollector(registry=reg)
    GCCollector(registry=reg)
    return reg


@dataclass
class MetricsServer:
    """A running metrics HTTP server: where it listens, and how to stop it."""

    host: str
    port: int
    server: WSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        """The address Prometheus scrapes."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def stop(self, timeout: float = 5.0) -> None:
        """Stop answering and release the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout)


def serve_metrics(rt: Runtime, port: int, host: str | None = None) -> MetricsServer:
    """Serve the runtime's metrics over HTTP on ``port`` (0: any free port) of ``host``
    (default: ``BREACH_HTTP_HOST``, 127.0.0.1 unless configured), in a daemon thread."""
    address = host or rt.settings.http_host
    server, thread = start_http_server(port, addr=address, registry=registry(rt))
    return MetricsServer(address, int(server.server_port), server, thread)
