"""The dashboard's templates and static files obey the Content-Security-Policy (no inline
script, style or event handler) and never mark data as safe markup."""

from __future__ import annotations

import re

from services.web.render import WEB_DIR, left_text
from tests.web.conftest import Web

INLINE = re.compile(
    r"""<script(?![^>]*\bsrc=)[^>]*>|\bstyle\s*=|\son[a-z]+\s*=|\|\s*safe\b|javascript:""",
    re.IGNORECASE,
)


def test_templates_have_no_inline_script_style_or_safe_markup() -> None:
    """No template carries inline script, inline style, an event handler attribute, a
    javascript: URL, or the |safe filter."""
    found = {
        str(path.relative_to(WEB_DIR)): INLINE.findall(path.read_text(encoding="utf-8"))
        for path in WEB_DIR.rglob("*.html")
    }
    assert {name: hits for name, hits in found.items() if hits} == {}
    assert len(found) >= 10


def test_static_files_are_served_under_the_security_policy(web: Web) -> None:
    """The stylesheet and script come from /static under the app's CSP (no login needed)."""
    client = web.client()
    for path, kind in (("/static/app.css", "text/css"), ("/static/app.js", "javascript")):
        r = client.get(path)
        assert r.status_code == 200, path
        assert kind in r.headers["content-type"]
        assert "script-src 'self'" in r.headers["content-security-policy"]
    page = client.get("/login")
    assert "style-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


def test_a_countdown_breaks_only_between_its_duration_and_its_word() -> None:
    """However long it grows, a countdown's duration is one unbreakable run (its parts joined
    by no-break spaces), with an ordinary space only before "left" or after "overdue", and
    the dashboard's script joins the parts the same way."""
    late = left_text(-(100 * 86400 + 10 * 3600 + 5))
    assert late == "overdue 100d\u00a010h\u00a000m\u00a005s"
    assert left_text(3 * 3600 + 61) == "3h\u00a001m\u00a001s left"
    assert 'parts.join("\\u00a0")' in (WEB_DIR / "static" / "app.js").read_text()
