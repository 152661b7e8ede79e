"""Checking people rows and sealing: valid rows become sealed data, invalid ones say why."""

from __future__ import annotations

from uuid import uuid4

import pytest

from services.logging import PersonalDataRedactor
from services.people.rows import Row
from services.people.validation import PersonInput, Rejection, check_row, normalise_language
from services.vault.sealing import Lookups, PersonData, open_sealed, seal

GOOD = {
    "email": "Ann.Lee@Example.ORG",
    "name": "Ann Lee",
    "language": "zh_cn",
    "jurisdiction": "de",
    "reference": "APP-1",
    "position": "Analyst",
}


def test_a_good_row_is_normalised_and_keeps_extra_columns_as_attributes() -> None:
    """Domain lower-cased, language tag normalised, jurisdiction upper-cased."""
    checked = check_row(Row(7, dict(GOOD)))
    assert isinstance(checked, PersonInput)
    assert checked.data.email == "Ann.Lee@example.org"
    assert (checked.language, checked.jurisdiction) == ("zh-CN", "DE")
    assert checked.data.attributes == {"position": "Analyst"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"email": "ann@localhost"}, "email"),
        ({"email": ""}, "email"),
        ({"language": "klingon"}, "language"),
        ({"language": "en-XX"}, "language"),
        ({"jurisdiction": "ZZ"}, "jurisdiction"),
        ({"Bad Column": "x"}, "attributes"),
    ],
)
def test_bad_rows_are_rejected_naming_the_field(change: dict[str, str], field: str) -> None:
    """Email syntax and domain form, language and jurisdiction codes, attribute names."""
    checked = check_row(Row(3, {**GOOD, **change}))
    assert isinstance(checked, Rejection)
    assert (checked.row, checked.field) == (3, field)


def test_language_tags_accept_script_and_region() -> None:
    """en, zh-Hans, pt-BR and three-letter codes are known; nonsense is not."""
    assert [normalise_language(t) for t in ("EN", "zh-hans", "pt-br", "yue", "xx")] == [
        "en",
        "zh-Hans",
        "pt-BR",
        "yue",
        None,
    ]


def test_sealed_data_opens_with_its_key_only_and_detects_tampering() -> None:
    """AES-GCM: the right key opens, another key or an altered byte fails."""
    key_id, key = uuid4(), bytes(range(32))
    data = PersonData(email="a@example.org", name="Zoë 王", attributes={"k": "v"})
    sealed = seal(data, key_id, key)
    assert "a@example.org" not in sealed.ciphertext
    assert open_sealed(sealed, key) == data
    with pytest.raises(ValueError, match="does not authenticate"):
        open_sealed(sealed, bytes(32))
    first = "B" if sealed.ciphertext.startswith("A") else "A"
    flipped = sealed.model_copy(update={"ciphertext": first + sealed.ciphertext[1:]})
    with pytest.raises(ValueError, match="does not authenticate"):
        open_sealed(flipped, key)


def test_lookups_are_keyed_and_ignore_case_and_spacing() -> None:
    """The same address finds the same person; another secret gives another lookup."""
    lookups = Lookups(b"s" * 32)
    assert lookups.email(" Ann@Example.org ") == lookups.email("ann@example.org")
    assert lookups.email("ann@example.org") != Lookups(b"t" * 32).email("ann@example.org")
    assert "ann" not in lookups.email("ann@example.org")


def test_the_redactor_removes_emails_personal_keys_and_remembered_values() -> None:
    """An address anywhere, a 'name' key, and a registered name inside a message all go."""
    redactor = PersonalDataRedactor(capacity=10)
    redactor.remember("Ann Lee", "AB")
    event = {
        "event": "failed for Ann Lee <ann@example.org>",
        "name": "anything",
        "nested": {"email": "x", "detail": ["to bob@example.com"]},
        "count": 3,
    }
    out = redactor(None, "info", event)
    assert out == {
        "event": "failed for [redacted] <[redacted]>",
        "name": "[redacted]",
        "nested": {"email": "[redacted]", "detail": ["to [redacted]"]},
        "count": 3,
    }
    assert "AB" not in redactor._known
