"""Which language each recipient's notice will be in, for the DPO deciding on approval.

A recipient's language picks the templates: the audience's own in that language, else one
of the same base language, else English, when the recipient *falls back* and the whole
notice is English. The words come from the campaign's content in the templates' language;
where the campaign has none, they are the English content under that language's headings,
a *mixed* notice, which approval refuses unless the DPO explicitly allows it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from events.notifications import CampaignState
from services.notifications.templates import NoticeTemplates


@dataclass(frozen=True)
class LanguageLine:
    """The recipients of one language and the notice they would get."""

    language: str
    """The recipients' language."""
    recipients: int
    notice_language: str
    """The language of the templates their notice is rendered with."""
    fallback: bool
    """No templates in their language: the notice is wholly English."""
    mixed: bool
    """No content in ``notice_language``: English words under its headings."""


@dataclass(frozen=True)
class LanguagePlan:
    """Every recipient language of a campaign, most recipients first."""

    lines: tuple[LanguageLine, ...]

    @property
    def lacking_content(self) -> tuple[str, ...]:
        """The notice languages whose recipients would get a mixed notice."""
        return tuple(sorted({line.notice_language for line in self.lines if line.mixed}))

    @property
    def falling_back(self) -> int:
        """How many recipients get an English notice for want of templates in theirs."""
        return sum(line.recipients for line in self.lines if line.fallback)

    def as_json(self) -> dict[str, object]:
        """The plan as faces show it."""
        return {
            "languages": [
                {
                    "language": line.language,
                    "recipients": line.recipients,
                    "notice_language": line.notice_language,
                    "fallback": line.fallback,
                    "mixed": line.mixed,
                }
                for line in self.lines
            ],
            "lacking_content": list(self.lacking_content),
            "falling_back": self.falling_back,
        }


def language_plan(
    templates: NoticeTemplates, campaign: CampaignState, counts: Mapping[str, int]
) -> LanguagePlan:
    """The plan for recipients counted by language (``counts``)."""
    lines = []
    for language, recipients in counts.items():
        chosen, fallback = templates.resolve(campaign.audience, language)
        _, mixed = campaign.content_in(chosen)
        lines.append(LanguageLine(language, recipients, chosen, fallback, mixed))
    lines.sort(key=lambda line: (-line.recipients, line.language))
    return LanguagePlan(tuple(lines))


def organisation_languages(campaign: CampaignState) -> dict[str, int]:
    """An organisation campaign's recipients counted by language."""
    return dict(Counter(recipient.language for recipient in campaign.recipients))
