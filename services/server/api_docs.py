"""The interactive API docs, served whole by this server: Swagger UI's files come from the
fastapi-offline package, so the page works on an isolated network and sends no request
beyond the server (an incident-response network should not call a CDN).

The page's one inline script (Swagger UI's start-up) is allowed by its hash, not by
``'unsafe-inline'``: the page's Content-Security-Policy allows nothing else."""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = files("fastapi_offline") / "static"
"""Swagger UI's script, style sheet and icon, as the package ships them."""


def page_policy(html: str) -> str:
    """The Content-Security-Policy of a page whose inline scripts are exactly those of
    ``html``: each allowed by its SHA-256, everything else from this server only."""
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
        for s in scripts
    )
    return (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; "
        f"script-src 'self' {hashes}; frame-ancestors 'none'; form-action 'self'; "
        "base-uri 'none'"
    )


def install_docs(app: FastAPI, prefix: str) -> None:
    """Serve the docs page at ``<prefix>/docs`` and its files under ``<prefix>/docs/assets``
    (the OpenAPI document is FastAPI's own, at ``<prefix>/openapi.json``)."""
    assets = f"{prefix}/docs/assets"
    app.mount(assets, StaticFiles(directory=str(ASSETS)), name="api-docs-assets")
    page = get_swagger_ui_html(
        openapi_url=f"{prefix}/openapi.json",
        title="breachledger API",
        swagger_js_url=f"{assets}/swagger-ui-bundle.js",
        swagger_css_url=f"{assets}/swagger-ui.css",
        swagger_favicon_url=f"{assets}/favicon.png",
    )
    html = bytes(page.body).decode()
    policy = page_policy(html)

    @app.get(f"{prefix}/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(html, headers={"content-security-policy": policy})
