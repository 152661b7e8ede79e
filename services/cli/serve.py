"""The serve command: the web UI, the API and the background workers, until Ctrl-C."""

from __future__ import annotations

import ipaddress
import signal
import threading
from types import FrameType
from typing import Annotated

import typer

from services.application.errors import CannotStart
from services.cli.app import app, state_of
from services.cli.guard import operator
from services.cli.output import say
from services.users.first_admin import FIRST_ADMIN, ensure_first_admin


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@app.command()
@operator
def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None,
        typer.Option(
            help="Address to bind (env BREACH_HTTP_HOST, default 127.0.0.1).", show_default=False
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            help="Port (env BREACH_HTTP_PORT, default 8400; 0: any free port).", show_default=False
        ),
    ] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="On an empty store, record the demo incident first.")
    ] = False,
    workers: Annotated[
        bool,
        typer.Option(
            "--workers/--no-workers",
            help="Run the background workers (views, policies, audit chain, notice dispatch) "
            "in this process.",
        ),
    ] = True,
) -> None:
    """Run the web UI and the JSON API (OpenAPI at /api/v1/docs) with the background
    workers and, when no SMTP relay is configured, the local capture SMTP server whose
    mailbox the UI shows. On a store without users, creates the first account 'admin' and
    prints its one-time password."""
    from services.demo import run_demo
    from services.server.runner import Server, listen

    state = state_of(ctx)
    settings = state.settings
    address = (host or settings.http_host, settings.http_port if port is None else port)
    try:
        listener = listen(*address)
    except OSError as e:
        reason = (e.strerror or type(e).__name__).lower()
        raise CannotStart("port", f"cannot listen on {address[0]}:{address[1]}: {reason}") from None
    try:
        rt = state.service_runtime
    except BaseException:
        listener.close()
        raise
    password = rt.gateway.run(ensure_first_admin, rt.app.users, state.request())
    empty = rt.board.count() == 0
    if demo and empty:
        incident = rt.gateway.run(run_demo, rt.app)
        empty = False
        say(f"recorded the demo incident {incident.id}")
    server = Server(rt, host=address[0], port=address[1], workers=workers, listener=listener)
    server.start()
    say(f"breachledger is running at {server.url}/  (API: {server.url}/api/v1/docs)")
    if password is not None:
        say(f"first account: {FIRST_ADMIN}   one-time password: {password}")
        say("shown only now; you choose a new password at first sign-in")
    if empty:
        say("the store is empty: the board offers the demo incident (or restart with --demo)")
    if rt.pipeline is not None:
        say(
            "distributed mode: views, policies, dispatch and the audit chain are left to the "
            "`breach worker` processes"
        )
    elif not rt.settings.smtp_url and workers:
        say("notices go to the local capture server; read them on the Mailbox page")
    if not _loopback(server.host):
        say("listening beyond loopback: put TLS in front (the session cookie is Secure)")
    say("press Ctrl-C to stop")
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stopping.is_set() and server.running:
            stopping.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        say("stopping: finishing the current batches")
        server.stop()
