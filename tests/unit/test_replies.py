"""Reducing SMTP replies and relay errors to codes and redacted text, on hand-written input."""

from __future__ import annotations

import pytest

from services.notifications import replies
from services.notifications.replies import (
    MAX_INPUT,
    PLACEHOLDER,
    Recipient,
    Reply,
    reduce_reply,
)

JANE = Recipient(address="Jane.Doe@Example.org", name="Jane Marie Doe")


def reduced(raw: str, recipient: Recipient = JANE) -> Reply:
    return reduce_reply(raw, recipient)


def test_a_rejection_keeps_its_codes_and_loses_the_bracketed_address() -> None:
    """550 5.1.1 with ``<address>``: both codes kept, the address replaced."""
    reply = reduced("550 5.1.1 <jane.doe@example.org>: Recipient address rejected")
    assert (reply.code, reply.enhanced) == (550, "5.1.1")
    assert reply.text == f"{PLACEHOLDER}: Recipient address rejected"
    assert str(reply) == (
        f"550 5.1.1 (bad destination mailbox address) {PLACEHOLDER}: Recipient address rejected"
    )


def test_every_address_goes_not_only_the_recipients() -> None:
    """Another person's address, bare or bracketed, is removed as well."""
    reply = reduced("250 2.0.0 Ok: queued as ABC for bob@other.example, cc <eve@x.example>")
    assert "@" not in str(reply)
    assert "bob" not in str(reply)
    assert "eve" not in str(reply)
    assert reply.text == f"Ok: queued as ABC for {PLACEHOLDER}, cc {PLACEHOLDER}"


def test_an_uppercase_address_without_brackets_and_the_name_are_removed() -> None:
    """The address in capitals, unbracketed, and the name in capitals: none kept."""
    reply = reduced("250 2.0.0 Ok: queued as 4F2 for JANE.DOE@EXAMPLE.ORG (JANE MARIE DOE)")
    text = str(reply).lower()
    for word in ("jane", "marie", "doe", "example.org"):
        assert word not in text
    assert reply.text.startswith("Ok: queued as 4F2 for ")


def test_the_local_part_alone_is_removed() -> None:
    """A server that names the mailbox without its domain still loses it."""
    reply = reduced("550 5.2.1 mailbox JANE.DOE is disabled")
    assert "jane" not in str(reply).lower()
    assert reply.enhanced == "5.2.1"
    assert reply.text == f"mailbox {PLACEHOLDER} is disabled"


def test_an_international_address_and_name_are_removed() -> None:
    """An address with non-ASCII local part and domain, its punycode form, and the name's
    words with and without their accents."""
    jorg = Recipient(address="jörg.müller@bücher.example", name="Jörg Müller")
    for raw in (
        "550 5.1.1 <jörg.müller@bücher.example> unknown",
        "550 5.1.1 jörg.müller@xn--bcher-kva.example unknown",
        "550 5.1.1 user Jorg Muller unknown",
        "550 5.1.1 user JÖRG MÜLLER unknown",
    ):
        text = str(reduced(raw, jorg)).lower()
        for word in ("jörg", "müller", "jorg", "muller", "bücher", "bcher"):
            assert word not in text, raw
        assert text.startswith("550 5.1.1 ")


def test_name_words_are_removed_inside_other_words_when_three_letters_or_more() -> None:
    """'Doe' glued to another word goes; a two-letter word goes only on its own, so
    everyday words keep their letters."""
    li = Recipient(address="li.wei@example.org", name="Li Wei")
    reply = reduced("451 4.2.2 Mailbox of LiWei full; Li is over limit", li)
    assert "wei" not in reply.text.lower()
    assert reply.text == f"Mailbox of Li{PLACEHOLDER} full; {PLACEHOLDER} is over limit"
    glued = reduced("250 Ok queued for JaneDoe and jane_doe")
    assert "jane" not in glued.text.lower()
    assert "doe" not in glued.text.lower()


def test_one_letter_name_words_are_left_alone() -> None:
    """Initials are not removed (they would erase every such letter)."""
    reply = reduced("250 Ok", Recipient(address="j@example.org", name="J Doe"))
    assert reply.text == "Ok"


def test_a_multi_line_reply_becomes_one_line_without_repeated_codes() -> None:
    """Continuation lines join the first with spaces; their repeated codes are dropped."""
    raw = "550 5.7.1 Message rejected\n5.7.1 for <jane.doe@example.org>\r\n550-5.7.1 see policy"
    reply = reduced(raw)
    assert (reply.code, reply.enhanced) == (550, "5.7.1")
    assert reply.text == f"Message rejected for {PLACEHOLDER} see policy"
    assert "\n" not in str(reply)
    assert "\r" not in str(reply)


def test_control_characters_are_stripped() -> None:
    """NUL, escape sequences, bidi overrides and tabs leave no trace."""
    reply = reduced("451 4.3.0 try\x00 again\x1b[31m later\u202e\tplease")
    assert reply.text == "try again [31m later please"
    assert all(c.isprintable() for c in str(reply))


def test_the_text_is_capped() -> None:
    """A huge reply is cut to about two hundred characters, with the codes kept."""
    reply = reduced("452 4.3.1 " + "word " * 5000)
    assert len(reply.text) <= 200
    assert reply.text.endswith("…")
    assert (reply.code, reply.enhanced) == (452, "4.3.1")


def test_a_name_cut_by_the_input_cap_does_not_survive_in_part() -> None:
    """A very long reply whose cut falls inside the name: no piece of it is kept."""
    long_name = Recipient(address="x@example.org", name="Bartholomew Quintessence")
    raw = "550 <" + "a" * (MAX_INPUT - 10) + "> Bartholomew Quintessence"
    reply = reduced(raw, long_name)
    assert "bar" not in str(reply).lower()
    assert str(reply).startswith("550 ")


def test_a_connection_error_has_no_code_and_loses_the_address() -> None:
    """Relay errors keep their exception name and lose any address in the message."""
    raw = "SMTPRecipientRefused: (550, 'rejected', 'jane.doe@example.org')"
    reply = reduced(raw)
    assert (reply.code, reply.enhanced) == (None, None)
    assert "jane" not in str(reply).lower()
    assert str(reply).startswith("SMTPRecipientRefused: ")


def test_encoded_words_are_removed() -> None:
    """An RFC 2047 encoded word (a name the reply carries encoded) is not kept."""
    reply = reduced("250 Ok for =?utf-8?q?J=C3=B6rg?=")
    assert reply.text == f"Ok for {PLACEHOLDER}"


@pytest.mark.parametrize(
    ("raw", "meaning"),
    [
        ("451 4.7.1 greylisted", "delivery not authorized, message refused"),
        ("552 5.2.2 full", "mailbox full"),
        ("550 5.1.99 odd", "other address status"),
        ("550 5.0.0 no", "other undefined status"),
        ("250 2.0.0 Ok", None),
    ],
)
def test_the_enhanced_code_carries_its_standard_meaning(raw: str, meaning: str | None) -> None:
    """A refusal's enhanced code comes with its RFC 3463 meaning (or its subject's); a
    success needs none."""
    assert reduced(raw).meaning == meaning


def test_a_reply_without_an_enhanced_code_has_no_meaning() -> None:
    """A bare 250 keeps its code; nothing is made up."""
    reply = reduced("250 queued as 12345")
    assert (reply.code, reply.enhanced, reply.meaning) == (250, None, None)
    assert str(reply) == "250 queued as 12345"


@pytest.mark.parametrize(
    "raw",
    [
        "250 2.0.0 Ok: queued as 4XyZ",
        "550 5.1.1 JANE MARIE doe is unknown here",
        "550 5.1.1 mailbox jane.DOE full",
        "451 4.3.0 try later, jAnE",
        "550 5.1.1 \u212aelvin and the long \u017fign for Jane",
        "550 user Li Wei unknown",
        "550 Jörg Müller unbekannt",
        "550 no such user joerg or jorg",
        "550 Joseph is unknown",
        "550 YILMAZ or yilmaz unknown",
    ],
)
def test_leaving_out_words_absent_from_an_ascii_reply_changes_no_redaction(raw: str) -> None:
    """Each reply is redacted exactly as with a pattern of every word of the recipient
    (what a reply with other letters always gets), whoever the recipient."""
    people = [
        JANE,
        Recipient(address="li.wei@example.org", name="Li Wei"),
        Recipient(address="jörg.müller@bücher.example", name="Jörg Müller"),
        Recipient(address="kelvin.s@example.org", name="Kelvin Ssmith"),
        Recipient(address="j@example.org", name="Jo\u017feph \u212aelvin"),
        Recipient(address="ay@example.org", name="Ay\u015fe Y\u0131lmaz"),
    ]
    for person in people:
        text = replies._clean(raw)
        every_word = replies._person(person, "\u0100")
        assert replies._redact(text, replies._person(person, text)) == replies._redact(
            text, every_word
        ), person
