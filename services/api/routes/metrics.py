"""The Prometheus metrics endpoint: counts and positions only, no personal data, no titles,
no identifiers; unauthenticated like the health endpoints (restrict it at the ingress)."""

from __future__ import annotations

import threading

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from prometheus_client.exposition import choose_encoder

from services.http.runtime import runtime_of
from services.metrics import registry

router = APIRouter(tags=["metrics"])

_building = threading.Lock()


def registry_of(request: Request) -> CollectorRegistry:
    """The application's metrics registry, built at the first scrape and kept on its state
    (the count of events by kind continues from one scrape to the next)."""
    state = request.app.state
    with _building:
        found = getattr(state, "metrics_registry", None)
        if not isinstance(found, CollectorRegistry):
            found = registry(runtime_of(request))
            state.metrics_registry = found
    return found


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
def metrics(request: Request) -> Response:
    """The metrics, read from the runtime now, in Prometheus's text format (or OpenMetrics
    when the scraper asks for it)."""
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(registry_of(request)), headers={"Content-Type": content_type})
