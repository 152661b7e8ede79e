"""A real SMTP server for tests, in its own process: counts messages by Message-ID and can
answer some of them with temporary (451) or permanent (550) refusals.

Run as ``python -m tests.support.smtp_sink PORT STATE_FILE [--refuse-every N] [--fail-to X]
[--greylist X] [--echo NAMES.json]``; on SIGTERM (and every 0.2 s) it writes its counts as
JSON to STATE_FILE. ``--greylist X`` refuses X's first RCPT with 451. ``--echo`` names a JSON
object of address to name: replies then echo the recipient's address and name, the way real
servers do (a two-line 250 after DATA, 451 and 550 with ``<address>`` and the name).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


class Sink:
    """Counts accepted messages by Message-ID; refuses some on purpose."""

    def __init__(
        self,
        refuse_every: int,
        fail_to: set[str],
        keep: Path | None,
        greylist: set[str] | None = None,
        names: dict[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:
        self.refuse_every = refuse_every
        self.delay = delay
        self.fail_to = fail_to
        self.keep = keep
        self.greylist = set(greylist or ())
        self.names = names
        self.seen = 0
        self.accepted: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        name = (self.names or {}).get(address, "")
        if address in self.fail_to:
            if self.names is None:
                # As relays answer (Postfix): naming the refused recipient.
                return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
            return (
                f"550 5.1.1 <{address}>: Recipient address rejected: "
                f"User unknown in virtual mailbox table ({name})"
            )
        if address in self.greylist:
            self.greylist.discard(address)
            return f"451 4.7.1 <{address}>: Recipient address rejected: Greylisted, {name}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = bytes(envelope.original_content or envelope.content)
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.seen += 1
            if self.refuse_every and self.seen % self.refuse_every == 0:
                return "451 4.3.0 try again later"
            found = _MESSAGE_ID.search(content)
            message_id = found.group(1).decode() if found else "<none>"
            self.accepted[message_id] += 1
            if self.keep is not None:
                (self.keep / f"{len(self.accepted):06d}-{self.seen}.eml").write_bytes(content)
        if self.names is not None and envelope.rcpt_tos:
            address = envelope.rcpt_tos[0]
            local = address.split("@")[0]
            return (
                f"250-2.0.0 Ok: queued as {self.seen:06X} for {address.upper()}\r\n"
                f"250 2.0.0 mailbox {local} of {self.names.get(address, '')}"
            )
        return "250 2.0.0 OK"

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "seen": self.seen,
                "accepted": sum(self.accepted.values()),
                "unique": len(self.accepted),
                "duplicates": {k: v for k, v in self.accepted.items() if v > 1},
                "ids": sorted(self.accepted) if len(self.accepted) <= 10_000 else [],
            }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("state_file", type=Path)
    parser.add_argument("--refuse-every", type=int, default=0)
    parser.add_argument("--fail-to", action="append", default=[])
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--greylist", action="append", default=[])
    parser.add_argument("--echo", type=Path)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    names = json.loads(args.echo.read_text()) if args.echo else None
    sink = Sink(
        args.refuse_every,
        set(args.fail_to),
        args.keep,
        set(args.greylist),
        names,
        delay=args.delay_ms / 1000,
    )
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=args.port,
        decode_data=False,
        enable_SMTPUTF8=names is not None,
    )
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    while not stop.wait(0.2):
        publish(args.state_file, sink.state())
    controller.stop()
    publish(args.state_file, sink.state())


def publish(path: Path, state: dict[str, Any]) -> None:
    """Replace the state file at once, so a reader never sees it half written."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(state))
    os.replace(partial, path)


if __name__ == "__main__":
    main()
