"""Problem details (RFC 9457): every refused request answers ``application/problem+json``
naming the field at fault and the reason, and nothing is recorded."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.application.errors import InvalidInput, ServiceError, TryLater

PROBLEM = "application/problem+json"
TYPE_BASE = "https://breachledger.invalid/problems/"


class Problem(Exception):
    """An HTTP-level refusal (authentication, permission, size, precondition)."""

    def __init__(
        self, status: int, title: str, detail: str, *, field: str | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.field = field
        self.extra = extra


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    field: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + title.lower().replace(" ", "-"),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if field is not None:
        body["field"] = field
    if instance is not None:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    412: "Precondition failed",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Invalid input",
    428: "Precondition required",
    429: "Too many requests",
    503: "Busy",
}


def _instance(request: Request) -> str | None:
    """The path the refused request was for, with each path parameter replaced by its name
    (``/api/v1/incidents/{incident_id}``): what the caller put in the path is not repeated
    (none for a path no route matched)."""
    if request.scope.get("route") is None:
        return None
    path = unquote(request.url.path)
    for name, value in request.path_params.items():
        segment = re.escape(str(value))
        path = re.sub(rf"(?<=/){segment}(?=/|$)", "{" + name + "}", path, count=1)
    return path


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    """Map every refusal the application can produce to a problem response."""

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> JSONResponse:
        headers = None
        if isinstance(exc, TryLater):
            headers = {"Retry-After": str(exc.retry_after_seconds)}
        return problem_response(
            exc.http_status,
            exc.title,
            f"{exc.field}: {exc.reason}",
            field=exc.field,
            instance=_instance(request),
            headers=headers,
        )

    @app.exception_handler(Problem)
    async def problem(request: Request, exc: Problem) -> JSONResponse:
        headers = {"WWW-Authenticate": 'Bearer realm="breachledger"'} if exc.status == 401 else None
        return problem_response(
            exc.status,
            exc.title,
            exc.detail,
            field=exc.field,
            instance=_instance(request),
            headers=headers,
            **exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        found = InvalidInput.from_validation_dict(first)
        field = _field_of(tuple(found.field.split(".")))
        kind = first.get("type", "")
        if kind == "json_invalid":
            detail = f"body: malformed JSON ({first.get('ctx', {}).get('error', 'invalid')})"
            return problem_response(
                400, "Malformed JSON", detail, field="body", instance=_instance(request)
            )
        return problem_response(
            422,
            "Invalid input",
            f"{field}: {found.reason}",
            field=field,
            instance=_instance(request),
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = _TITLES.get(exc.status_code, "Error")
        return problem_response(
            exc.status_code,
            title,
            str(exc.detail),
            instance=_instance(request),
            headers=dict(exc.headers or {}),
        )
