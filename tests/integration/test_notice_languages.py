"""Notices wholly in the recipient's language, on the real stores and a real capture
server: the campaign's words per language, the plan an approving DPO sees, the refusal of
mixed-language notices unless explicitly allowed, and what reaches each recipient."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from events.notifications import NoticeQueued
from services.application.context import RequestContext
from services.application.errors import InvalidInput, RuleBroken
from services.bootstrap import Runtime, bootstrap
from services.timeline import timeline
from tests.support.campaigns import CONTENT, DPO, ZH_CN
from tests.support.identity import dpo_of
from tests.support.people import person, write_csv
from tests.support.reports import report_input
from tests.support.store import Store
from tests.support.story import send_all

ALICE = RequestContext(actor="alice")
ENGLISH = {k: v for k, v in CONTENT.items() if k != "translations"}


@pytest.fixture
def rt(store: Store, data_dir: Path) -> Any:
    runtime = bootstrap(store.settings(data_dir), configure_logs=False)
    yield runtime
    runtime.close()


def incident_with(rt: Runtime, tmp_path: Path, rows: list[dict[str, Any]]) -> UUID:
    """An incident with these people imported."""
    incident = rt.app.incidents.report_incident(report_input(rt.app.core.clock.now()), ALICE)
    path = write_csv(tmp_path / f"people{len(rows)}.csv", rows)
    rt.app.people.import_people(incident.id, path, ALICE)
    rt.settle()
    return incident.id


def events(rt: Runtime) -> int:
    return rt.app.core.recorder.max_notification_id() or 0


def bodies(rt: Runtime) -> dict[str, str]:
    """Each delivered notice's plain text, by recipient address."""
    mailbox = rt.mailbox()
    try:
        out = {}
        for stored in mailbox.list(limit=500):
            message = mailbox.parse(stored)
            out[message["To"].addresses[0].addr_spec] = message.get_body(("plain",)).get_content()
        return out
    finally:
        mailbox.close()


def test_each_recipient_gets_the_whole_notice_in_their_language(
    rt: Runtime, tmp_path: Path
) -> None:
    """With Chinese words given, zh-CN people get Chinese headings over Chinese paragraphs,
    English people English, and German people (no templates) a wholly English notice; the
    plan says so before approval, and no notice is queued as mixed."""
    incident = incident_with(rt, tmp_path, [person(i) for i in range(8)])
    campaign = rt.app.notifications.draft_campaign(
        incident, {"audience": "people", **CONTENT}, ALICE
    )
    plan = rt.app.notifications.language_plan(campaign)
    assert plan.lacking_content == ()
    assert plan.falling_back == 4  # de and fr: two each
    assert {line.language: line.recipients for line in plan.lines} == {
        "en": 2,
        "de": 2,
        "fr": 2,
        "zh-CN": 2,
    }
    rt.app.notifications.preview_campaign(campaign.id, ALICE, language="zh-CN")
    approved = rt.app.notifications.approve_campaign(campaign.id, dpo_of(rt, DPO))
    assert approved.state.mixed_allowed == ()
    rt.app.notifications.start_dispatch(campaign.id, ALICE)
    send_all(rt)
    told = bodies(rt)
    assert len(told) == 8
    chinese = told[person(3)["email"]]
    assert "事件经过" in chinese
    assert ZH_CN["nature"] in chinese
    assert CONTENT["nature"] not in chinese
    assert CONTENT["nature"] in told[person(0)["email"]]
    assert CONTENT["nature"] in told[person(1)["email"]]  # German: wholly English
    assert "事件经过" not in told[person(1)["email"]]
    queued = [
        e
        for e in map(
            rt.app.core.mapper.to_domain_event, rt.app.core.recorder.select_notifications(1, 10_000)
        )
        if isinstance(e, NoticeQueued)
    ]
    assert len(queued) == 8
    assert not any(e.mixed for e in queued)


def test_approval_refuses_mixed_notices_until_the_dpo_allows_them_and_records_it(
    rt: Runtime, tmp_path: Path
) -> None:
    """Without Chinese words the plan names zh-CN as lacking content and the approval is
    refused with nothing stored; allowed explicitly, the approval records zh-CN and the
    zh-CN notices are queued marked mixed and carry the English words."""
    incident = incident_with(rt, tmp_path, [person(i) for i in range(4)])
    campaign = rt.app.notifications.draft_campaign(
        incident, {"audience": "people", **ENGLISH}, ALICE
    )
    rt.app.notifications.preview_campaign(campaign.id, ALICE)
    assert rt.app.notifications.language_plan(campaign).lacking_content == ("zh-CN",)
    dpo = dpo_of(rt, DPO)
    before = events(rt)
    with pytest.raises(RuleBroken) as refused:
        rt.app.notifications.approve_campaign(campaign.id, dpo)
    assert refused.value.field == "allow_mixed"
    assert "zh-CN" in refused.value.reason
    assert events(rt) == before
    approved = rt.app.notifications.approve_campaign(campaign.id, dpo_of(rt, DPO), allow_mixed=True)
    assert approved.state.mixed_allowed == ("zh-CN",)
    told = timeline(rt.app.containment.timeline_events(incident), UTC)
    [said] = [e.summary for e in told if e.event == "CampaignApproved"]
    assert said.endswith("allowing English words under zh-CN headings")
    rt.app.notifications.start_dispatch(campaign.id, ALICE)
    send_all(rt)
    chinese = bodies(rt)[person(3)["email"]]
    assert "事件经过" in chinese
    assert CONTENT["nature"] in chinese
    mixed = {
        e.language
        for e in map(
            rt.app.core.mapper.to_domain_event, rt.app.core.recorder.select_notifications(1, 10_000)
        )
        if isinstance(e, NoticeQueued) and e.mixed
    }
    assert mixed == {"zh-CN"}


def test_people_added_after_approval_in_a_language_without_words_stop_the_dispatch(
    rt: Runtime, tmp_path: Path
) -> None:
    """An approval with only English and German people covers no Chinese; Chinese people
    imported afterwards stop the dispatch until their words are given and it is approved
    again."""
    incident = incident_with(rt, tmp_path, [person(0), person(1)])
    campaign = rt.app.notifications.draft_campaign(
        incident, {"audience": "people", **ENGLISH}, ALICE
    )
    rt.app.notifications.preview_campaign(campaign.id, ALICE)
    rt.app.notifications.approve_campaign(campaign.id, dpo_of(rt, DPO))
    rt.app.people.import_people(incident, write_csv(tmp_path / "more.csv", [person(3)]), ALICE)
    rt.settle()
    before = events(rt)
    with pytest.raises(RuleBroken) as refused:
        rt.app.notifications.start_dispatch(campaign.id, ALICE)
    assert "zh-CN" in refused.value.reason
    assert events(rt) == before
    rt.app.notifications.redraft_campaign(campaign.id, {"translations": {"zh-CN": ZH_CN}}, ALICE)
    again = rt.app.notifications.load_campaign(campaign.id)
    assert again.state.content.nature == CONTENT["nature"]
    assert again.state.translations["zh-CN"].nature == ZH_CN["nature"]
    rt.app.notifications.preview_campaign(campaign.id, ALICE)
    rt.app.notifications.approve_campaign(campaign.id, dpo_of(rt, DPO))
    rt.app.notifications.start_dispatch(campaign.id, ALICE)


def test_words_are_refused_for_a_language_without_templates_or_incomplete(
    rt: Runtime, tmp_path: Path
) -> None:
    """Words in a language the audience has no templates in, in English again, or a new
    language without its three required parts are refused naming the field and position,
    never echoing what was given, and nothing is stored."""
    incident = incident_with(rt, tmp_path, [person(0)])
    campaign = rt.app.notifications.draft_campaign(
        incident, {"audience": "people", **ENGLISH}, ALICE
    )
    before = events(rt)
    for translations in (
        {"fr": ZH_CN},
        {"en-GB": ZH_CN},
        {"zh-CN": ZH_CN, "zh": ZH_CN},
    ):
        with pytest.raises(InvalidInput) as refused:
            rt.app.notifications.draft_campaign(
                incident, {"audience": "people", **ENGLISH, "translations": translations}, ALICE
            )
        assert refused.value.field == "translations"
        assert ZH_CN["nature"] not in refused.value.reason
    with pytest.raises(InvalidInput) as half_drafted:
        rt.app.notifications.draft_campaign(
            incident,
            {"audience": "people", **ENGLISH, "translations": {"zh-CN": {"nature": "n"}}},
            ALICE,
        )
    assert half_drafted.value.field == "translations"
    assert "consequences, measures" in half_drafted.value.reason
    with pytest.raises(InvalidInput) as incomplete:
        rt.app.notifications.redraft_campaign(
            campaign.id, {"translations": {"zh-CN": {"nature": ZH_CN["nature"]}}}, ALICE
        )
    assert "consequences, measures" in incomplete.value.reason
    assert events(rt) == before


def test_a_language_s_words_change_in_part_or_go_and_the_others_stay(
    rt: Runtime, tmp_path: Path
) -> None:
    """A redraft naming one part of the zh-CN words changes that part only; one naming the
    language as null removes it; the English content is never touched by either."""
    incident = incident_with(rt, tmp_path, [person(0)])
    campaign = rt.app.notifications.draft_campaign(
        incident, {"audience": "people", **CONTENT}, ALICE
    )
    changed = rt.app.notifications.redraft_campaign(
        campaign.id, {"translations": {"zh-CN": {"measures": "已更换密钥。"}}}, ALICE
    )
    words = changed.state.translations["zh-CN"]
    assert (words.measures, words.nature, words.advice) == (
        "已更换密钥。",
        ZH_CN["nature"],
        ZH_CN["advice"],
    )
    removed = rt.app.notifications.redraft_campaign(
        campaign.id, {"translations": {"zh-CN": None}}, ALICE
    )
    assert removed.state.translations == {}
    assert removed.state.content == campaign.state.content
