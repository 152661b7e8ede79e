"""The alert email templates: every step of the shipped ladder has its own in English and
Chinese, a step without one falls back to the generic template, and a malformed file is
refused naming it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from events.alerts import AlertState, SubjectKind
from services.alerts.ladder import ladder
from services.alerts.mail_templates import AlertTemplateProblem, AlertTemplates, alert_context
from services.config import Settings

DEADLINE = datetime(2026, 12, 3, 21, 0, tzinfo=UTC)


def state(
    kind: SubjectKind, step: str, subject: str = "eu_gdpr/supervisory_authority"
) -> AlertState:
    return AlertState(
        step=step,
        subject_kind=kind,
        subject_id=subject,
        incident_id=uuid4(),
        deadline=DEADLINE,
        due_at=DEADLINE - timedelta(hours=1),
        recipients=("olga",),
        channels=("bell", "email"),
        late=True,
    )


@pytest.fixture(scope="module")
def templates() -> AlertTemplates:
    return AlertTemplates(Settings().templates_dir / "alerts")


def render(templates: AlertTemplates, kind: SubjectKind, step: str, language: str) -> str:
    context = alert_context(
        "a1",
        state(kind, step),
        "olga",
        zone=ZoneInfo("Asia/Shanghai"),
        dashboard_url="https://breach.example.org",
        now=DEADLINE,
    )
    mail = templates.render(language, context)
    return mail.subject + "\n" + mail.text


def test_every_step_of_the_shipped_ladder_has_its_own_template_in_both_languages(
    templates: AlertTemplates,
) -> None:
    """Each (kind, step) of ladder.yaml is rendered from its own file in en and zh-CN, with
    the subject id, the deadline in the zone and in UTC, the late mark and the link."""
    shipped = ladder()
    for kind in SubjectKind:
        for step in shipped.steps(kind):
            for language in ("en", "zh-CN"):
                assert templates.chosen(kind.value, step.step, language) == (
                    f"{kind.value}/{step.step}",
                    language,
                )
                text = render(templates, kind, step.step, language)
                assert "2026-12-04 05:00 CST" in text
                assert "2026-12-03 21:00 UTC" in text
                assert "https://breach.example.org/incidents/" in text
                assert ("late" if language == "en" else "较晚") in text


def test_an_unknown_step_falls_back_to_the_generic_template_and_language_to_english(
    templates: AlertTemplates,
) -> None:
    """A step with no file of its own uses generic.<language>.txt; a language with no file
    uses English."""
    assert templates.chosen("obligation", "due_3h", "zh-CN") == ("generic", "zh-CN")
    assert templates.chosen("obligation", "due_6h", "de") == ("obligation/due_6h", "en")
    assert "due_3h" in render(templates, SubjectKind.OBLIGATION, "due_3h", "en")


def test_a_template_without_a_subject_line_is_refused_naming_the_file(tmp_path: Path) -> None:
    """A file not starting with one Subject line and a blank line is refused, named."""
    (tmp_path / "generic.en.txt").write_text("Subject: x\n\nbody\n", encoding="utf-8")
    (tmp_path / "obligation").mkdir()
    (tmp_path / "obligation" / "due_6h.en.txt").write_text("no subject\n", encoding="utf-8")
    with pytest.raises(AlertTemplateProblem, match=r"obligation/due_6h\.en\.txt"):
        AlertTemplates(tmp_path)
