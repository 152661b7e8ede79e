"""A body-size limit enforced before any route reads the body: a declared length over the
limit is refused at once, a streamed body is cut off as soon as it passes the limit."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _problem(limit: int) -> bytes:
    return json.dumps(
        {
            "type": "https://breachledger.invalid/problems/content-too-large",
            "title": "Content too large",
            "status": 413,
            "detail": f"body: larger than the limit of {limit} bytes",
            "field": "body",
        }
    ).encode()


class BodyLimit:
    """ASGI middleware answering 413 to bodies over ``default`` bytes (``overrides`` maps a
    path prefix to a larger limit, e.g. for file imports)."""

    def __init__(self, app: ASGIApp, default: int, overrides: dict[str, int] | None = None):
        self.app = app
        self.default = default
        self.overrides = overrides or {}

    def limit_for(self, path: str) -> int:
        """The limit that applies to ``path``."""
        for prefix, limit in self.overrides.items():
            if path.startswith(prefix) or path.endswith(prefix):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, refusing it once its body passes the limit."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = limit + 1
                if declared > limit:
                    await self._refuse(send, limit)
                    return
        received = 0
        started = False
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Answer 413 here, then tell the route the client is gone: whatever the
                    # route or the framework makes of that is neither sent nor recorded.
                    refused = True
                    if not started:
                        await self._refuse(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except Exception:
            if not refused:
                raise

    @staticmethod
    async def _refuse(send: Send, limit: int) -> None:
        body = _problem(limit)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
