"""Where the API finds the wired runtime: on the FastAPI application's state."""

from __future__ import annotations

from fastapi import Request

from services.bootstrap import Runtime


def runtime_of(request: Request) -> Runtime:
    """The runtime the application was created with."""
    rt = request.app.state.runtime
    assert isinstance(rt, Runtime)
    return rt
