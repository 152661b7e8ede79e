"""Given/when/then tests of a campaign's content per language: which words a notice in
each language carries, the approval that refuses mixed-language notices unless the DPO
allows them, and the dispatch that refuses a mixed language the approval did not allow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from events.base import Cause
from events.errors import RuleViolation
from events.notifications import (
    Campaign,
    CampaignApproved,
    Contact,
    NoticeAudience,
    NoticeContent,
    NoticeText,
)
from services.notifications.languages import language_plan
from services.notifications.templates import NoticeTemplates

AT = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
TEMPLATES = Path(__file__).parents[2] / "templates" / "notices"
CONTENT = NoticeContent(
    organisation="Example Ltd",
    nature="CVs were downloaded.",
    consequences="Phishing.",
    measures="The flaw is closed.",
    contact=Contact(name="Data Protection Officer", email="dpo@example.org", phone="+49 1"),
    categories=("contact details",),
    people_count=40,
)
ZH = NoticeText(
    nature="简历被下载。",
    consequences="钓鱼邮件。",
    measures="漏洞已修复。",
    contact_name="数据保护官",
)


def cause(minutes: int = 0, actor: str = "rita") -> Cause:
    return Cause(actor=actor, correlation_id="c", at=AT + timedelta(minutes=minutes))


def drafted(translations: dict[str, NoticeText] | None = None) -> Campaign:
    campaign = Campaign.draft(
        cause(),
        campaign_id=uuid4(),
        incident_id=uuid4(),
        audience=NoticeAudience.PEOPLE,
        template_version="v1",
        content=CONTENT,
        recipients=(),
        translations=translations,
    )
    campaign.preview(cause(1), recipient="sample", language="en", body_hash="h")
    return campaign


def test_a_translation_carries_its_words_and_the_main_content_s_facts() -> None:
    """A notice in zh-CN has the Chinese words but the main content's counts, address and
    phone; a language without words is the English content, marked mixed."""
    state = drafted({"zh-CN": ZH}).state
    zh, mixed = state.content_in("zh-CN")
    assert not mixed
    assert (zh.nature, zh.contact.name) == (ZH.nature, "数据保护官")
    assert (zh.people_count, zh.contact.email, zh.contact.phone) == (40, "dpo@example.org", "+49 1")
    assert zh.categories == CONTENT.categories
    assert state.content_in("ja") == (CONTENT, True)
    assert state.content_in("en") == (CONTENT, False)


def test_english_words_cannot_be_given_as_a_translation() -> None:
    """English is the main content; giving it again as a translation is refused."""
    with pytest.raises(RuleViolation) as e:
        drafted({"en": ZH})
    assert e.value.field == "translations"


def test_approval_refuses_a_mixed_language_unless_allowed_and_records_the_allowance() -> None:
    """Recipients in a language without content stop the approval; the DPO's explicit
    allowance lets it through and is recorded with the languages it covers."""
    campaign = drafted()
    with pytest.raises(RuleViolation) as e:
        campaign.approve(cause(2, "dora"), content_hash="x", is_dpo=True, mixed=("zh-CN",))
    assert e.value.field == "allow_mixed"
    assert "zh-CN" in e.value.reason
    assert campaign.version == 2
    campaign.approve(
        cause(2, "dora"), content_hash="x", is_dpo=True, mixed=("zh-CN",), allow_mixed=True
    )
    [approved] = [e for e in campaign.collect_events() if isinstance(e, CampaignApproved)]
    assert approved.mixed_languages == ("zh-CN",)
    assert campaign.state.mixed_allowed == ("zh-CN",)


def test_dispatch_refuses_a_mixed_language_the_approval_did_not_cover() -> None:
    """People added after approval in a language without content stop the dispatch; the
    languages the DPO allowed do not."""
    campaign = drafted()
    campaign.approve(
        cause(2, "dora"), content_hash="x", is_dpo=True, mixed=("zh-CN",), allow_mixed=True
    )
    with pytest.raises(RuleViolation) as e:
        campaign.start_dispatch(cause(3), content_hash="x", mixed=("ja", "zh-CN"))
    assert e.value.reason.startswith("recipients in ja would get")
    campaign.start_dispatch(cause(3), content_hash="x", mixed=("zh-CN",))


def test_a_redraft_that_names_no_translations_keeps_them_and_voids_the_allowance() -> None:
    """Changing the English words keeps every language's words; an approval's allowance
    of mixed languages goes with the approval."""
    campaign = drafted({"zh-CN": ZH})
    campaign.approve(cause(2, "dora"), content_hash="x", is_dpo=True, mixed=(), allow_mixed=True)
    changed = CONTENT.model_copy(update={"measures": "Keys were rotated too."})
    campaign.redraft(cause(3), template_version="v1", content=changed, recipients=())
    assert campaign.state.translations == {"zh-CN": ZH}
    assert campaign.state.mixed_allowed == ()
    with pytest.raises(RuleViolation):
        campaign.redraft(cause(4), template_version="v1", content=changed, recipients=())


def test_the_plan_names_the_languages_lacking_content_and_those_falling_back() -> None:
    """With templates in en and zh-CN: German falls back to a wholly English notice, and
    zh-CN without words is mixed until its words are given."""
    templates = NoticeTemplates(TEMPLATES)
    counts = {"en": 10, "de": 5, "zh-CN": 7, "zh": 1}
    plan = language_plan(templates, drafted().state, counts)
    assert plan.lacking_content == ("zh-CN",)
    assert plan.falling_back == 5
    assert [(x.language, x.notice_language, x.mixed) for x in plan.lines][:2] == [
        ("en", "en", False),
        ("zh-CN", "zh-CN", True),
    ]
    assert language_plan(templates, drafted({"zh-CN": ZH}).state, counts).lacking_content == ()
