"""The worker command: one long-running process of the distributed mode, until SIGTERM."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Annotated

import typer

from services.application.errors import InvalidInput
from services.cli.app import app, state_of
from services.cli.guard import operator
from services.cli.output import say

WORKER_HELP = """Run one long-running worker of the distributed mode until SIGTERM or Ctrl-C
(the batch in hand is finished first). Restarted after any stop, even a kill, it resumes from
the positions tracked in the store and the offsets committed to Kafka.

\b
KIND is one of:
  relay        publish every stored event, in log order, to the Kafka topic
               (BREACH_KAFKA_TOPIC, created if missing), recording its position in the
               store once the broker acknowledged; run one (a second only adds duplicates)
  projections  keep every view (board, obligations, tasks, people, notifications) from the
               topic, in consumer group <BREACH_KAFKA_GROUP_PREFIX>.projections
  policies     run every policy (playbooks, containment, notice queueing) from the topic,
               in consumer group <BREACH_KAFKA_GROUP_PREFIX>.policies
  dispatcher   send due notices (to BREACH_SMTP_URL, or a local capture server) from the
               notifications view the projection workers keep
  chain        extend the audit chain (hash chain and signed checkpoints) over the store;
               run one (a second only finds nothing to do)
  alerts       the alarm clock: raise each due escalation step (every
               BREACH_ALERT_SCAN_SECONDS) from the obligations and tasks views; a second
               raises nothing twice; and the alert mailer: email each step's recipients
               (to BREACH_SMTP_URL, or a local capture server), once per recipient
  webhooks     deliver subscribed events to the webhook receivers; run one (a second
               sends duplicates, which receivers drop by delivery id)

Run more projections, policies or dispatcher processes to share the work: a group shares
its partitions out among its members; dispatchers never send a notice twice. Progress is
logged with -v (or BREACH_LOG_LEVEL=info); metrics are served on BREACH_METRICS_PORT when
set."""


@app.command(help=WORKER_HELP)
@operator
def worker(
    ctx: typer.Context,
    kind: Annotated[
        str,
        typer.Argument(
            help="relay, projections, policies, dispatcher, chain, alerts or webhooks.",
            metavar="KIND",
            show_default=False,
        ),
    ],
    batch_size: Annotated[
        int,
        typer.Option("--batch-size", min=1, max=5000, help="Events read and applied per batch."),
    ] = 500,
    session_timeout: Annotated[
        float,
        typer.Option(
            "--session-timeout",
            min=1.0,
            help="Seconds a silent consumer keeps its partitions before the group shares them "
            "out again.",
        ),
    ] = 6.0,
) -> None:
    """Run one worker of the distributed mode (see the help text above)."""
    from services.feeds.kafka import GroupTiming
    from services.server.distributed import WITHOUT_KAFKA, Kind, WorkerOptions, run_worker

    try:
        chosen = Kind(kind.strip().lower())
    except ValueError:
        choices = ", ".join(k.value for k in Kind)
        raise InvalidInput("KIND", f"is not a worker kind ({choices})") from None
    state = state_of(ctx)
    settings = state.settings
    if chosen not in WITHOUT_KAFKA and not settings.kafka_bootstrap_servers:
        raise InvalidInput(
            "BREACH_KAFKA_BOOTSTRAP_SERVERS", f"the {chosen.value} worker needs a Kafka cluster"
        )
    session_ms = int(session_timeout * 1000)
    options = WorkerOptions(
        batch_size=batch_size,
        timing=GroupTiming(session_ms=session_ms, heartbeat_ms=max(session_ms // 6, 100)),
    )
    rt = state.service_runtime
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    say(f"{chosen.value} worker running; SIGTERM or Ctrl-C stops it after the current batch")
    try:
        run_worker(rt, chosen, stop, options)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    say(f"{chosen.value} worker stopped")
