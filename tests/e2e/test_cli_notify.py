"""Notifying through the console script on the embedded default: the local capture server."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.e2e.conftest import Cli
from tests.support.campaigns import CONTENT, ZH_CN
from tests.support.people import person, write_csv


def test_draft_preview_approve_send_and_read_the_mailbox(
    in_process_cli: Cli, tmp_path: Path
) -> None:
    """The whole flow: notices land in the local mailbox, the person's export shows them.
    A responder drafts and sends; a person's notice and data are the DPO's to see."""
    cli = in_process_cli
    cli.user("alice", "responder")
    cli.user("dpo", "dpo")
    incident = cli.ok("report", "--title", "CV leak", "--discovered-at", "now").out.strip()
    people = write_csv(tmp_path / "people.csv", [person(i) for i in range(25)])
    cli.ok("people", "import", incident[:8], str(people))
    content = tmp_path / "content.yaml"
    content.write_text(yaml.safe_dump(CONTENT), encoding="utf-8")
    campaign = cli.ok(
        "notify", "draft", incident[:8], "--audience", "people", "--content", str(content)
    ).out.strip()
    hidden = cli("notify", "preview", campaign[:8], "--email", person(0)["email"])
    assert hidden.code == 4
    assert "people.rights" in hidden.err
    cli.ok("notify", "preview", campaign[:8])
    preview = cli.ok(
        "notify", "preview", campaign[:8], "--email", person(0)["email"], actor="dpo"
    ).out
    assert "Dear Candidate Number0," in preview
    refused = cli("notify", "approve", campaign[:8])
    assert refused.code == 4
    assert "may not do campaign.approve" in refused.err
    cli.ok("notify", "approve", campaign[:8], actor="dpo")
    sent = cli.ok("notify", "send", campaign[:8], "--json").json()["progress"]
    assert (sent["status"], sent["sent"], sent["total"]) == ("completed", 25, 25)
    status = cli.ok("notify", "status", "--json").json()
    assert status[0]["sent"] == 25
    box = cli.ok("mailbox", "--json").json()
    assert box["count"] == 25
    assert {m["to"] for m in box["messages"]} == {"(an affected person)"}
    message_id = box["messages"][0]["message_id"]
    assert cli("mailbox", "show", message_id).code == 4
    shown = cli.ok("mailbox", "show", message_id, actor="dpo").out
    # In the person's language: English, or Chinese words for the zh-CN people.
    assert CONTENT["measures"] in shown or ZH_CN["measures"] in shown
    export = cli.ok("people", "export", person(0)["email"], "--json", actor="dpo").json()
    export = export["records"][0]
    assert [n["status"] for n in export["notices"]] == ["sent"]
    again = cli("notify", "send", campaign[:8])
    assert again.code == 2
    assert "completed" in again.err


def test_templates_check_passes_for_the_shipped_templates(cli: Cli) -> None:
    """Every shipped template renders and carries what its audience requires."""
    result = cli.ok("templates", "check", "--json").json()
    assert result["ok"] is True
    assert set(result["versions"]) == {"people", "authority", "customer"}


def test_approving_a_mixed_language_notice_needs_the_dpo_s_explicit_say(
    in_process_cli: Cli, tmp_path: Path
) -> None:
    """`notify languages` names zh-CN as lacking content; `notify approve` is refused
    naming the languages until --allow-mixed-languages, and then says who falls back; a
    content file with zh-CN words (YAML, Chinese as written) leaves nothing lacking."""
    cli = in_process_cli
    cli.user("alice", "responder")
    cli.user("dpo", "dpo")
    incident = cli.ok("report", "--title", "CV leak", "--discovered-at", "now").out.strip()
    cli.ok(
        "people",
        "import",
        incident[:8],
        str(write_csv(tmp_path / "p.csv", [person(i) for i in range(8)])),
    )
    english = tmp_path / "english.yaml"
    english.write_text(
        yaml.safe_dump({k: v for k, v in CONTENT.items() if k != "translations"}), "utf-8"
    )
    campaign = cli.ok(
        "notify", "draft", incident[:8], "--audience", "people", "--content", str(english)
    ).out.strip()
    plan = cli.ok("notify", "languages", campaign[:8], "--json").json()
    assert (plan["lacking_content"], plan["falling_back"]) == (["zh-CN"], 4)
    assert "zh-CN" in cli.ok("notify", "languages", campaign[:8]).out
    cli.ok("notify", "preview", campaign[:8])
    refused = cli("notify", "approve", campaign[:8], actor="dpo")
    assert refused.code == 2, refused.err
    assert "allow_mixed" in refused.err
    assert "zh-CN" in refused.err
    approved = cli.ok("notify", "approve", campaign[:8], "--allow-mixed-languages", actor="dpo")
    assert "2 in zh-CN: no zh-CN content" in approved.err
    assert "2 in de: no de templates" in approved.err
    both = tmp_path / "both.yaml"
    both.write_text(yaml.safe_dump(CONTENT, allow_unicode=True), "utf-8")
    second = cli.ok(
        "notify", "draft", incident[:8], "--audience", "people", "--content", str(both)
    ).out.strip()
    assert cli.ok("notify", "languages", second[:8], "--json").json()["lacking_content"] == []
