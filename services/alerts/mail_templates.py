"""The templates of alert emails (``templates/alerts``): one per kind of subject, step and
language, each a ``Subject:`` line, a blank line and a plain-text body; a step without its
own falls back to the generic template, a language without one to English.

They are compiled once, rendered in a sandbox with undefined names refused, and see only the
alert's facts (:func:`alert_context`): no title, summary or other free text that may name a
person.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from events.alerts import AlertState, SubjectKind
from services.timefmt import show_time

DEFAULT_LANGUAGE = "en"
GENERIC = "generic"
KIND_ZH = {SubjectKind.OBLIGATION: "通知义务", SubjectKind.TASK: "必做任务"}


class AlertTemplateProblem(ValueError):
    """An alert template is missing or malformed (the message names the file)."""


@dataclass(frozen=True)
class AlertMail:
    """A rendered alert email."""

    subject: str
    text: str
    language: str


def alert_context(
    alert_id: str,
    state: AlertState,
    recipient: str,
    *,
    zone: tzinfo,
    dashboard_url: str,
    now: datetime,
) -> dict[str, Any]:
    """What an alert template may say: the alert's own facts and a link, nothing else."""
    incident = str(state.incident_id)
    task = state.subject_kind is SubjectKind.TASK
    return {
        "alert_id": alert_id,
        "step": state.step,
        "kind": state.subject_kind.value,
        "kind_zh": KIND_ZH[state.subject_kind],
        "subject_id": state.subject_id,
        "subject_ref": state.subject_id[:8] if task else state.subject_id,
        "incident_id": incident,
        "incident_ref": incident[:8],
        "link": f"{dashboard_url.rstrip('/')}/incidents/{incident}",
        "deadline_local": show_time(state.deadline, zone),
        "deadline_utc": show_time(state.deadline, UTC),
        "late": state.late,
        "overdue": state.deadline <= now,
        "recipient": recipient,
    }


class AlertTemplates:
    """Every alert template under a directory, compiled once."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        env = SandboxedEnvironment(
            undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
        )
        self._compiled: dict[tuple[str, str], tuple[Template, Template]] = {}
        if not directory.is_dir():
            raise AlertTemplateProblem("alerts: no templates")
        for path in sorted(directory.rglob("*.txt")):
            relative = path.relative_to(directory).as_posix()
            name, _, language = relative.removesuffix(".txt").rpartition(".")
            head, blank, body = path.read_text(encoding="utf-8").partition("\n\n")
            if not head.startswith("Subject:") or "\n" in head or not blank:
                msg = f"alerts/{relative}: begin with one 'Subject: ...' line, then a blank line"
                raise AlertTemplateProblem(msg)
            try:
                self._compiled[(name, language)] = (
                    env.from_string(head.removeprefix("Subject:").strip()),
                    env.from_string(body),
                )
            except TemplateError as e:
                raise AlertTemplateProblem(f"alerts/{relative}: {e}") from None
        if (GENERIC, DEFAULT_LANGUAGE) not in self._compiled:
            raise AlertTemplateProblem("alerts: no generic.en.txt to fall back to")

    def names(self) -> set[tuple[str, str]]:
        """The (``<kind>/<step>`` or ``generic``, language) pairs there are templates for."""
        return set(self._compiled)

    def chosen(self, kind: str, step: str, language: str) -> tuple[str, str]:
        """The template a step of a kind in a language is rendered with: its own in the
        language, else the generic one in the language, else the same two in English."""
        for lang in dict.fromkeys((language, DEFAULT_LANGUAGE)):
            for name in (f"{kind}/{step}", GENERIC):
                if (name, lang) in self._compiled:
                    return name, lang
        return GENERIC, DEFAULT_LANGUAGE

    def render(self, language: str, context: Mapping[str, Any]) -> AlertMail:
        """The email of an alert (``context`` from :func:`alert_context`) in a language."""
        name, chosen = self.chosen(context["kind"], context["step"], language)
        subject, body = self._compiled[(name, chosen)]
        values = {"alert": dict(context)}
        return AlertMail(
            subject=" ".join(subject.render(values).split()),
            text=body.render(values),
            language=chosen,
        )
