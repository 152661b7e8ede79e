"""Prometheus metrics of a running breachledger, read from the runtime at scrape time.

Every value is a count or a position: no incident title, no address, no identifier ever
becomes a label value. :func:`registry` builds the registry the API's ``/metrics`` route and
:func:`serve_metrics` (for ``breach worker`` processes) expose.
"""

from __future__ import annotations

from services.metrics.exposition import MetricsServer, registry, serve_metrics

__all__ = ["MetricsServer", "registry", "serve_metrics"]
