"""The Prometheus metrics endpoint."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["metrics"])
