"""The job-application portal leak used across assessment tests (the demo's facts)."""

from __future__ import annotations

from typing import Any

from services.demo import DEMO_FACTS

PORTAL_LEAK: dict[str, Any] = {**DEMO_FACTS, "records": {"count": 2300, "confirmed": True}}
