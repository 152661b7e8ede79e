"""The HTTP edge: authentication by token and session (with CSRF), body limits, security
headers, the OpenAPI document, health probes, and personal data kept out of the logs."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator

import structlog
from fastapi.routing import APIRoute

from services.access.permissions import permissions_of
from services.application.context import RequestContext
from services.config import LogFormat
from services.http.auth import SESSION_COOKIE, Caller
from services.http.limits import BodyLimit
from services.logging import configure_logging
from services.server.http_app import API_PREFIX, IMPORT_ROUTES, api_routers
from tests.api.conftest import Api

INCIDENTS = "/api/v1/incidents"
REPORT = {"title": "Laptop stolen", "discovered_at": "2026-11-27T08:00:00Z"}


def session_of(api: Api, username: str) -> tuple[str, str]:
    """A signed-in session of ``username``: (cookie value, CSRF token)."""
    assert api.rt.app.credentials is not None
    value, session = api.rt.app.credentials.open_session(username)
    return value, session.csrf


def test_no_credentials_is_401_with_a_challenge(api: Api) -> None:
    """A request without credentials is 401 problem+json carrying WWW-Authenticate."""
    for method, path in (("GET", INCIDENTS), ("POST", INCIDENTS), ("GET", "/api/v1/me")):
        r = api.client.request(method, path, json=REPORT if method == "POST" else None)
        assert r.status_code == 401, (method, path)
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["field"] == "Authorization"


def test_bad_tokens_and_schemes_are_401_and_append_nothing(api: Api) -> None:
    """Wrong schemes, empty, unknown, malformed and altered tokens are all refused."""
    good = api.tokens["responder"]
    prefix, token_id, secret = good.split("_", 2)
    altered = f"{prefix}_{token_id}_{'A' if secret[0] != 'A' else 'B'}{secret[1:]}"
    before = api.events()
    for header in (
        f"Basic {good}",
        f"Token {good}",
        good,
        "Bearer",
        "Bearer   ",
        "Bearer bl_0123456789abcdef_nothing",
        "Bearer not-a-token",
        f"Bearer {altered}",
        f"Bearer {good}x",
        f"Bearer {prefix}_{token_id}_",
    ):
        r = api.client.post(INCIDENTS, json=REPORT, headers={"Authorization": header})
        assert r.status_code == 401, header
        assert "WWW-Authenticate" in r.headers
    assert api.events() == before
    assert api.client.get(INCIDENTS, headers={"Authorization": f"bearer {good}"}).status_code == 200


def test_a_revoked_token_is_401(api: Api) -> None:
    """Once revoked, the responder's token no longer authenticates."""
    assert api.call("responder", "GET", INCIDENTS).status_code == 200
    user = api.rt.app.users.get_user("responder")
    (token_id,) = user.state.tokens
    api.rt.app.users.revoke_token("responder", token_id, RequestContext(actor="responder"))
    assert api.call("responder", "GET", INCIDENTS).status_code == 401


def test_a_declared_body_over_the_limit_is_413_before_it_is_read(api: Api) -> None:
    """A Content-Length over the limit is refused at once, before any byte of the body is
    read, with or without credentials; nothing is appended."""
    limit = api.rt.settings.http_max_body
    before = api.events()
    huge = str(limit + 1)
    for headers in (
        api.auth("responder", **{"Content-Type": "application/json", "Content-Length": huge}),
        {"Content-Type": "application/json", "Content-Length": huge},
    ):
        r = api.client.post(INCIDENTS, content=json.dumps(REPORT).encode(), headers=headers)
        assert r.status_code == 413, (headers, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["field"] == "body"
    assert api.events() == before


def test_a_streamed_body_over_the_limit_is_413_and_appends_nothing(api: Api) -> None:
    """A chunked body without a declared length is cut off once it passes the limit,
    whether the route parses the body (incidents) or reads it itself (intake)."""
    limit = api.rt.settings.http_max_body

    def chunks() -> Iterator[bytes]:
        padding = b" " * 4096
        yield b'{"title": "x", "discovered_at": "2026-11-27T08:00:00Z", "description": "'
        for _ in range(limit // len(padding) + 4):
            yield padding
        yield b'"}'

    before = api.events()
    for path in (INCIDENTS, "/api/v1/intake/alerts"):
        r = api.call(
            "responder",
            "POST",
            path,
            content=chunks(),
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 413, (path, r.text)
        assert r.json()["field"] == "body"
        assert "content-length" not in {k.lower() for k in r.request.headers}
    assert api.events() == before
    small = api.call(
        "responder",
        "POST",
        INCIDENTS,
        content=iter([json.dumps(REPORT).encode()]),
        headers={"Content-Type": "application/json"},
    )
    assert small.status_code == 201, small.text


def padded_people(size: int) -> bytes:
    """A CSV people file of at least ``size`` bytes (a long attribute on each row)."""
    rows = ["email,name,language,jurisdiction,notes"]
    i = 0
    while sum(len(r) + 1 for r in rows) < size:
        rows.append(f"person{i}@example.org,Person {i},en,DE,{'n' * 400}")
        i += 1
    return ("\n".join(rows) + "\n").encode()


def test_the_import_limit_is_for_importers_on_the_import_route_only(api: Api) -> None:
    """A responder may send a people file over the general body limit to the import route
    and it is imported; a reporter (no people.import) is held to the general limit there
    (413 before the body is read), and so is a responder on other paths ending in /people;
    nothing is appended by the refusals."""
    settings = api.rt.settings
    incident = api.report()["id"]
    big = padded_people(settings.http_max_body + 1024)
    assert settings.http_max_body < len(big) < settings.import_max_bytes
    csv = {"Content-Type": "text/csv"}
    before = api.events()
    for role, path in (
        ("reporter", f"{INCIDENTS}/{incident}/people"),
        ("responder", f"{INCIDENTS}/{incident}/notes/people"),
        ("responder", "/api/v1/people"),
    ):
        r = api.call(role, "POST", path, content=big, headers=csv)
        assert r.status_code == 413, (role, path, r.status_code)
        assert r.json()["field"] == "body"
        assert f"limit of {settings.http_max_body} bytes" in r.json()["detail"]
    assert api.events() == before
    imported = api.call(
        "responder", "POST", f"{INCIDENTS}/{incident}/people", content=big, headers=csv
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["imported"] == big.count(b"\n") - 1


def test_without_valid_credentials_a_body_is_held_to_the_anonymous_limit(api: Api) -> None:
    """Without credentials, or with a token that is not valid, a body over the anonymous
    limit (yet under the general one) is refused with 413 naming that limit before the body
    is read, on every path; the same body with a valid token is read (and judged)."""
    settings = api.rt.settings
    assert settings.http_max_anonymous_body < settings.http_max_body
    body = b"x" * (settings.http_max_anonymous_body + 1)
    incident = api.report()["id"]
    before = api.events()
    for path in (INCIDENTS, "/api/v1/intake/alerts", f"{INCIDENTS}/{incident}/people", "/login"):
        for headers in ({}, {"Authorization": "Bearer bl_0123456789abcdef_nothing"}):
            r = api.client.post(path, content=body, headers=headers)
            assert r.status_code == 413, (path, headers, r.status_code)
            assert r.json()["field"] == "body"
            assert f"{settings.http_max_anonymous_body} bytes" in r.json()["detail"]
    assert api.events() == before
    judged = api.call(
        "responder", "POST", INCIDENTS, content=body, headers={"Content-Type": "application/json"}
    )
    assert judged.status_code == 400, judged.text


def test_the_body_limits_by_caller_and_route(api: Api) -> None:
    """The limit is chosen from the caller and the exact route: anonymous, authenticated,
    and the import limit only for POSTs to the two import routes by an importer."""
    settings = api.rt.settings
    limiter = BodyLimit(
        api.client.app,
        anonymous=settings.http_max_anonymous_body,
        authenticated=settings.http_max_body,
        imports=settings.import_max_bytes,
        import_routes=IMPORT_ROUTES,
    )
    responder = api.rt.app.users.identity_for_token(api.tokens["responder"])
    reporter = api.rt.app.users.identity_for_token(api.tokens["reporter"])
    assert responder is not None
    assert reporter is not None
    importer = Caller(responder, permissions_of(responder.roles))
    other = Caller(reporter, permissions_of(reporter.roles))
    people = f"{INCIDENTS}/0000/people"
    assert limiter.limit_for("POST", people, importer) == settings.import_max_bytes
    dashboard = "/incidents/0000/people"
    assert limiter.limit_for("POST", dashboard, importer) == settings.import_max_bytes
    assert limiter.limit_for("PUT", people, importer) == settings.http_max_body
    assert limiter.limit_for("POST", f"{people}/x", importer) == settings.http_max_body
    assert limiter.limit_for("POST", "/x/incidents/0000/people", importer) == settings.http_max_body
    assert limiter.limit_for("POST", people, other) == settings.http_max_body
    assert limiter.limit_for("POST", people, None) == settings.http_max_anonymous_body
    assert limiter.limit_for("POST", INCIDENTS, importer) == settings.http_max_body


def test_security_headers_are_on_every_answer(api: Api) -> None:
    """Answers (success, refusal, not found) forbid sniffing, framing and caching."""
    for r in (
        api.call("auditor", "GET", INCIDENTS),
        api.client.get(INCIDENTS),
        api.call("auditor", "GET", "/api/v1/nowhere"),
        api.client.get("/healthz"),
    ):
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert "default-src 'self'" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Cache-Control"] == "no-store"
        assert r.headers["Referrer-Policy"] == "no-referrer"


def test_the_openapi_document_lists_every_route(api: Api) -> None:
    """Every API route and method is described in /api/v1/openapi.json, without credentials."""
    r = api.client.get(f"{API_PREFIX}/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    routes = [
        route
        for router in api_routers()
        for route in router.routes
        if isinstance(route, APIRoute) and route.include_in_schema
    ]
    assert len(routes) > 20
    for route in routes:
        path = re.sub(r":\w+}", "}", API_PREFIX + route.path)
        assert path in paths, path
        for method in route.methods:
            assert method.lower() in paths[path], (method, path)
    for path in (
        "/api/v1/incidents/{incident_id}/replay",
        "/api/v1/incidents/{incident_id}/bundle",
        "/api/v1/audit/verify",
        "/api/v1/views/rebuild",
        "/api/v1/users/{username}/tokens/{token_id}",
        "/api/v1/intake/alerts",
    ):
        assert path in paths, path


def test_health_probes_answer_without_credentials_and_reveal_nothing(api: Api) -> None:
    """/healthz and /readyz answer 200 to anyone, with status only, no incident data."""
    api.report(title="Secret merger leak")
    health = api.client.get("/healthz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    ready = api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "views_behind": 0}
    for r in (health, ready):
        assert "Secret merger" not in r.text
        assert "responder" not in r.text


def test_a_session_cookie_reads_but_changes_only_with_its_csrf_token(api: Api) -> None:
    """GET with the cookie works; POST without or with a wrong X-CSRF-Token is 403 and
    appends nothing; with the right token it succeeds."""
    value, csrf = session_of(api, "responder")
    cookie = {"Cookie": f"{SESSION_COOKIE}={value}"}
    me = api.client.get("/api/v1/me", headers=cookie)
    assert me.status_code == 200
    assert me.json()["username"] == "responder"
    assert api.client.get(INCIDENTS, headers=cookie).status_code == 200
    before = api.events()
    for extra in ({}, {"X-CSRF-Token": "guess"}, {"X-CSRF-Token": ""}):
        r = api.client.post(INCIDENTS, json=REPORT, headers={**cookie, **extra})
        assert r.status_code == 403, extra
        assert r.json()["field"] == "csrf"
    _, other_csrf = session_of(api, "dpo")
    stolen = api.client.post(INCIDENTS, json=REPORT, headers={**cookie, "X-CSRF-Token": other_csrf})
    assert stolen.status_code == 403
    assert api.events() == before
    ok = api.client.post(INCIDENTS, json=REPORT, headers={**cookie, "X-CSRF-Token": csrf})
    assert ok.status_code == 201, ok.text
    assert ok.json()["reporter"] == "responder"


def test_an_unknown_or_closed_session_is_401(api: Api) -> None:
    """A made-up cookie, or one whose session was closed, does not authenticate."""
    value, _ = session_of(api, "auditor")
    assert api.rt.app.credentials is not None
    api.rt.app.credentials.close_session(value)
    for cookie in (value, "made-up"):
        r = api.client.get(INCIDENTS, headers={"Cookie": f"{SESSION_COOKIE}={cookie}"})
        assert r.status_code == 401


def test_an_email_in_a_request_body_never_reaches_the_logs(api: Api) -> None:
    """A report whose description and title carry an email address logs without it."""
    address = "ann.lee@example.org"
    out = io.StringIO()
    settings = api.rt.settings.model_copy(update={"log_format": LogFormat.JSON})
    configure_logging(settings, stream=out)
    try:
        incident = api.report(
            title=f"Mail from {address}", description=f"Phishing mail sent to {address}"
        )
        api.call(
            "responder",
            "POST",
            f"{INCIDENTS}/{incident['id']}/notes",
            json={"text": f"{address} confirmed the click"},
        )
        bad = api.call("responder", "POST", INCIDENTS, json={"title": address, "x": address})
        assert bad.status_code == 422
    finally:
        structlog.reset_defaults()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert {"incident.reported", "http.request"} <= {line["event"] for line in lines}
    assert address not in out.getvalue()
    assert "ann.lee" not in out.getvalue()
