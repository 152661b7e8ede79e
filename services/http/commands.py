"""Routes declared by the command they run on the aggregate their path names: the route's
name and description are the command function's, its body model and caller dependency are
given, and the endpoint's signature is built so FastAPI reads them as from a function
declaring them (the OpenAPI document is as for a hand-written route)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from fastapi import APIRouter, Request, Response

from services.http.auth import Caller
from services.http.requests import context
from services.http.runtime import runtime_of
from services.http.threads import in_thread

C = TypeVar("C", bound=Callable[..., Any])


class CommandRoutes:
    """Registers a router's command routes: each runs its command through the gateway on
    the aggregate named by the path parameter ``key`` and answers ``answer(request,
    response, result)``."""

    def __init__(
        self, router: APIRouter, key: str, answer: Callable[[Request, Response, Any], Any]
    ) -> None:
        self.router, self.key, self.answer = router, key, answer

    def __call__(
        self, method: str, path: str, summary: str, caller: Any, body: Any = None, **options: Any
    ) -> Callable[[C], C]:
        """Serve ``method path`` (``summary`` in OpenAPI) to callers the ``caller``
        dependency admits, reading a ``body`` model when given, by the decorated command
        ``(app, target, body or None, context)``."""

        def register(command: C) -> C:
            def run(
                request: Request, response: Response, caller: Caller, body: Any, target: UUID
            ) -> Any:
                rt = runtime_of(request)
                ctx = context(request, caller, target)
                return self.answer(
                    request, response, rt.gateway.run(command, rt.app, target, body, ctx)
                )

            async def endpoint(
                request: Request, response: Response, caller: Caller, body: Any = None, **key: UUID
            ) -> Any:
                return await in_thread(
                    request.scope, run, request, response, caller, body, key[self.key]
                )

            params = {self.key: UUID, **({"body": body} if body else {}), "request": Request}
            params.update(response=Response, caller=caller)
            endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
                [
                    inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=a)
                    for n, a in params.items()
                ],
                return_annotation=Any,
            )
            endpoint.__doc__ = command.__doc__
            self.router.add_api_route(
                path, endpoint, methods=[method], name=command.__name__, summary=summary, **options
            )
            return command

        return register
