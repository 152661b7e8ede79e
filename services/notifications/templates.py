"""Notice templates: loaded once, rendered in a sandbox, checked for the elements the law wants.

Each audience's templates have a version: a digest of every file of that audience, so an
approval (which records it) is void as soon as any template file changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment

from events.canonical import Form, canonical_digest
from events.notifications import CONTENT_LANGUAGE, CampaignState, NoticeAudience, NoticeContent

PARTS = ("subject.txt", "body.txt", "body.html")
DEFAULT_LANGUAGE = CONTENT_LANGUAGE

REQUIRED: dict[NoticeAudience, dict[str, str]] = {
    NoticeAudience.PEOPLE: {
        "nature of the breach in plain language": "nature",
        "contact point": "contact",
        "likely consequences": "consequences",
        "measures taken": "measures",
        "what the person can do": "advice",
    },
    NoticeAudience.AUTHORITY: {
        "nature of the breach": "nature",
        "categories of data": "categories",
        "approximate number of people": "people_count",
        "approximate number of records": "records_count",
        "DPO or other contact point": "contact",
        "likely consequences": "consequences",
        "measures taken or proposed": "measures",
    },
    NoticeAudience.CUSTOMER: {
        "nature of the breach": "nature",
        "categories of data": "categories",
        "approximate number of people": "people_count",
        "contact point": "contact",
        "likely consequences": "consequences",
        "measures taken or proposed": "measures",
    },
}
"""What each audience's notice must carry (GDPR Art 34(2), Art 33(3), Art 33(2))."""


class TemplateProblem(ValueError):
    """A template is missing, malformed, or lacks a required element."""


@dataclass(frozen=True)
class Rendered:
    """A rendered notice."""

    subject: str
    text: str
    html: str
    language: str
    fallback: bool
    mixed: bool = False
    """Whether the words are English under ``language``'s headings (no content in it)."""


@dataclass(frozen=True)
class _Set:
    subject: Template
    text: Template
    html: Template
    subject_is_personal: bool


def _render(template: Template, context: Mapping[str, Any]) -> str:
    """Render without copying the context (it is built fresh for each notice)."""
    return "".join(template.root_render_func(template.new_context(dict(context), shared=True)))


class Renderer:
    """Renders one campaign's notices, each in its recipient's language (templates and
    words): the shared part of the context is built once per language, and a subject that
    does not mention the recipient is rendered once per language."""

    def __init__(
        self,
        templates: NoticeTemplates,
        campaign: CampaignState,
        incident: Mapping[str, Any],
    ) -> None:
        self.templates = templates
        self.campaign = campaign
        self.audience = campaign.audience
        self.incident = dict(incident)
        self._notices: dict[str, tuple[dict[str, Any], bool]] = {}
        self._subjects: dict[str, str] = {}

    def _notice(self, language: str) -> tuple[dict[str, Any], bool]:
        found = self._notices.get(language)
        if found is None:
            content, mixed = self.campaign.content_in(language)
            found = self._notices[language] = (content.model_dump(mode="json"), mixed)
        return found

    def render(self, language: str, recipient: Mapping[str, Any]) -> Rendered:
        """The notice for one recipient."""
        chosen, fallback = self.templates.resolve(self.audience, language)
        parts = self.templates.set_for(self.audience, chosen)
        notice, mixed = self._notice(chosen)
        context = {"notice": notice, "incident": self.incident, "recipient": recipient}
        subject = None if parts.subject_is_personal else self._subjects.get(chosen)
        if subject is None:
            subject = " ".join(_render(parts.subject, context).split())
            if not parts.subject_is_personal:
                self._subjects[chosen] = subject
        return Rendered(
            subject=subject,
            text=_render(parts.text, context),
            html=_render(parts.html, context),
            language=chosen,
            fallback=fallback,
            mixed=mixed,
        )


class NoticeTemplates:
    """Every notice template under ``templates/notices``, compiled once."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._text_env = SandboxedEnvironment(
            undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
        )
        self._html_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=True)
        self._sets: dict[tuple[NoticeAudience, str], _Set] = {}
        self._versions: dict[NoticeAudience, str] = {}
        for audience in NoticeAudience:
            base = directory / audience.value
            digest = hashlib.sha256()
            if not base.is_dir():
                raise TemplateProblem(f"notices/{audience.value}: no templates")
            for lang_dir in sorted(p for p in base.iterdir() if p.is_dir()):
                sources = {}
                for part in PARTS:
                    path = lang_dir / part
                    if not path.is_file():
                        raise TemplateProblem(
                            f"notices/{audience.value}/{lang_dir.name}: {part} missing"
                        )
                    text = path.read_text(encoding="utf-8")
                    sources[part] = text
                    digest.update(f"{lang_dir.name}/{part}\0{text}\0".encode())
                try:
                    subject_ast = self._text_env.parse(sources["subject.txt"])
                    self._sets[(audience, lang_dir.name)] = _Set(
                        subject=self._text_env.from_string(sources["subject.txt"]),
                        text=self._text_env.from_string(sources["body.txt"]),
                        html=self._html_env.from_string(sources["body.html"]),
                        subject_is_personal="recipient"
                        in meta.find_undeclared_variables(subject_ast),
                    )
                except TemplateError as e:
                    raise TemplateProblem(
                        f"notices/{audience.value}/{lang_dir.name}: {e}"
                    ) from None
            if (audience, DEFAULT_LANGUAGE) not in self._sets:
                raise TemplateProblem(
                    f"notices/{audience.value}: no English templates to fall back to"
                )
            self._versions[audience] = "sha256:" + digest.hexdigest()[:16]

    def version(self, audience: NoticeAudience) -> str:
        """The version of an audience's templates (a digest of their files)."""
        return self._versions[audience]

    def set_for(self, audience: NoticeAudience, language: str) -> _Set:
        """The compiled templates of an audience and (resolved) language."""
        return self._sets[(audience, language)]

    def renderer(self, campaign: CampaignState, incident: Mapping[str, Any]) -> Renderer:
        """A renderer for one campaign's notices."""
        return Renderer(self, campaign, incident)

    def languages(self, audience: NoticeAudience) -> list[str]:
        """The languages an audience has templates for."""
        return sorted(lang for (aud, lang) in self._sets if aud is audience)

    def resolve(self, audience: NoticeAudience, language: str) -> tuple[str, bool]:
        """The template language for a recipient's language, and whether it fell back."""
        if (audience, language) in self._sets:
            return language, False
        base = language.split("-")[0]
        for candidate in self.languages(audience):
            if candidate.split("-")[0] == base:
                return candidate, False
        return DEFAULT_LANGUAGE, True

    def content_hash(
        self,
        audience: NoticeAudience,
        content: NoticeContent,
        extra: Any = None,
        translations: Mapping[str, Any] | None = None,
    ) -> str:
        """What an approval freezes: the templates' version and the content (with the
        words of each other language, when there are any)."""
        frozen = {
            "templates": self.version(audience),
            "content": content.model_dump(mode="json"),
            "extra": extra,
        }
        if translations:
            frozen["translations"] = {
                language: text.model_dump(mode="json") for language, text in translations.items()
            }
        return "sha256:" + canonical_digest(frozen, Form.SPACED)

    def render(
        self, audience: NoticeAudience, language: str, context: Mapping[str, Any]
    ) -> Rendered:
        """Render subject, text and HTML for a recipient; the subject is one line."""
        chosen, fallback = self.resolve(audience, language)
        templates = self._sets[(audience, chosen)]
        return Rendered(
            subject=" ".join(_render(templates.subject, context).split()),
            text=_render(templates.text, context),
            html=_render(templates.html, context),
            language=chosen,
            fallback=fallback,
        )

    def check(self) -> list[tuple[str, str, str]]:
        """Render every template with sample data; return (template, element, problem) for
        each required element it lacks, or each error it raises."""
        problems: list[tuple[str, str, str]] = []
        for (audience, language), _ in sorted(self._sets.items()):
            where = f"{audience.value}/{language}"
            try:
                rendered = self.render(audience, language, sample_context(audience))
            except TemplateError as e:
                problems.append((where, "render", str(e)))
                continue
            for element, key in REQUIRED[audience].items():
                marker = SAMPLE_MARKERS[key]
                for part, body in (("text", rendered.text), ("html", rendered.html)):
                    if marker not in body:
                        problems.append((where, element, f"missing from the {part} body"))
        return problems


SAMPLE_MARKERS = {
    "nature": "SAMPLE-NATURE",
    "consequences": "SAMPLE-CONSEQUENCES",
    "measures": "SAMPLE-MEASURES",
    "advice": "SAMPLE-ADVICE",
    "contact": "sample-contact@example.org",
    "categories": "SAMPLE-CATEGORY",
    "people_count": "98765",
    "records_count": "43210",
}


SAMPLE_RECIPIENT = {"name": "Sample Person <b>", "email": "person@example.org", "attributes": {}}
"""Who a sample notice is written to (the name tests the HTML escaping)."""


def sample_context(audience: NoticeAudience) -> dict[str, Any]:
    """A rendering context whose values are recognisable markers."""
    content = NoticeContent(
        organisation="Sample Org",
        nature=SAMPLE_MARKERS["nature"],
        consequences=SAMPLE_MARKERS["consequences"],
        measures=SAMPLE_MARKERS["measures"],
        advice=SAMPLE_MARKERS["advice"],
        contact={"name": "Sample DPO", "email": SAMPLE_MARKERS["contact"], "phone": "+00 0"},
        categories=(SAMPLE_MARKERS["categories"],),
        people_count=int(SAMPLE_MARKERS["people_count"]),
        records_count=int(SAMPLE_MARKERS["records_count"]),
        reference="SAMPLE-REF",
    )
    return context_for(
        content,
        recipient=SAMPLE_RECIPIENT,
        incident={
            "reference": "ab12cd34",
            "title": "Sample",
            "discovered": "2026-01-01 09:00 UTC",
            "occurred": "",
        },
    )


def context_for(
    content: NoticeContent, *, recipient: Mapping[str, Any], incident: Mapping[str, Any]
) -> dict[str, Any]:
    """The rendering context of a notice."""
    return {
        "notice": content.model_dump(mode="json"),
        "recipient": dict(recipient),
        "incident": dict(incident),
    }
