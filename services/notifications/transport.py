"""Delivering messages over SMTP: a small pool of persistent connections, a rate limit, and
a classification of every result as sent, temporary (retry) or permanent (give up)."""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from dataclasses import dataclass
from typing import Literal

import aiosmtplib

from services.smtp_target import SmtpTarget

Kind = Literal["sent", "temporary", "permanent"]
_SAFE_ADDRESS = re.compile(r"^[^\s<>()\[\],;:\\\"]+@[^\s<>()\[\],;:\\\"@]+$")
"""An address that is safe on an SMTP command line as it is (already validated on import)."""


@dataclass(frozen=True)
class Outcome:
    """What the server said about one message."""

    kind: Kind
    reply: str


class RateLimiter:
    """A token bucket: at most ``rate`` messages a second on average (0: unlimited)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._tokens = max(rate, 1.0)
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait for a token."""
        if self.rate <= 0:
            return
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(
                    max(self.rate, 1.0), self._tokens + (now - self._stamp) * self.rate
                )
                self._stamp = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)


def classify(error: BaseException) -> Outcome:
    """Map an aiosmtplib error to a retryable or permanent outcome."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        first = error.recipients[0] if error.recipients else None
        if first is not None:
            return classify(first)
    if isinstance(error, aiosmtplib.SMTPResponseException):
        kind: Kind = "permanent" if 500 <= error.code < 600 else "temporary"
        return Outcome(kind, f"{error.code} {error.message}".strip())
    return Outcome("temporary", f"{type(error).__name__}: {error}".strip())


class SmtpPool:
    """``size`` persistent connections, each used by one sender at a time."""

    def __init__(self, target: SmtpTarget, size: int, rate: float) -> None:
        self.target = target
        self.size = size
        self.limiter = RateLimiter(rate)
        self._idle: asyncio.Queue[aiosmtplib.SMTP | None] = asyncio.Queue()
        for _ in range(size):
            self._idle.put_nowait(None)

    async def _connect(self) -> aiosmtplib.SMTP:
        t = self.target
        client = aiosmtplib.SMTP(
            hostname=t.host,
            port=t.port,
            timeout=t.timeout,
            use_tls=t.tls,
            start_tls=t.starttls,
            tls_context=ssl.create_default_context() if (t.tls or t.starttls) else None,
        )
        await client.connect()
        if t.username is not None:
            await client.login(t.username, t.password or "")
        return client

    async def _transaction(
        self, client: aiosmtplib.SMTP, sender: str, recipient: str, message: bytes
    ) -> Outcome:
        """MAIL, RCPT, DATA with addresses already checked (no re-parsing per message), under
        one deadline for the whole transaction rather than one timer per command."""
        async with asyncio.timeout(self.target.timeout * 3):
            return await self._commands(client, sender, recipient, message)

    @staticmethod
    async def _commands(
        client: aiosmtplib.SMTP, sender: str, recipient: str, message: bytes
    ) -> Outcome:
        if client.is_ehlo_or_helo_needed:
            await client.ehlo()
        for command, expected in (
            (b"FROM:<" + sender.encode() + b">", b"MAIL"),
            (b"TO:<" + recipient.encode() + b">", b"RCPT"),
        ):
            response = await client.execute_command(expected, command, timeout=None)
            if response.code not in (250, 251):
                kind: Kind = "permanent" if 500 <= response.code < 600 else "temporary"
                try:
                    await client.rset()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()
                return Outcome(kind, f"{response.code} {response.message}".strip())
        try:
            reply = await client.data(message, timeout=None)
        except aiosmtplib.SMTPResponseException:
            try:
                await client.rset()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
            raise
        return Outcome("sent", f"{reply.code} {reply.message}".strip())

    async def send(self, sender: str, recipient: str, message: bytes) -> Outcome:
        """Send one message on a pooled connection, reconnecting when it was dropped."""
        if not _SAFE_ADDRESS.match(recipient) or not _SAFE_ADDRESS.match(sender):
            return Outcome("permanent", "refused locally: the address is not safe to send to")
        await self.limiter.acquire()
        client = await self._idle.get()
        try:
            if client is None or not client.is_connected:
                client = await self._connect()
            return await self._transaction(client, sender, recipient, message)
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as e:
            outcome = classify(e)
            if not isinstance(e, aiosmtplib.SMTPResponseException) and client is not None:
                client.close()
                client = None
            return outcome
        finally:
            self._idle.put_nowait(client)

    async def close(self) -> None:
        """Say goodbye on every open connection."""
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client is not None and client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()
