"""Jurisdiction codes: ISO 3166 countries and subdivisions, and the groups rules refer to."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import pycountry

from services.assessment.rules import jurisdiction_groups


@cache
def is_known(code: str) -> bool:
    """Whether ``code`` is an ISO 3166-1 alpha-2 country or an ISO 3166-2 subdivision."""
    if "-" in code:
        return pycountry.subdivisions.get(code=code) is not None  # type: ignore[no-untyped-call]
    return len(code) == 2 and pycountry.countries.get(alpha_2=code) is not None


def country_of(code: str) -> str:
    """The country a jurisdiction code belongs to (itself for a country)."""
    return code.split("-", 1)[0]


@cache
def _expand(name: str) -> frozenset[str]:
    groups = jurisdiction_groups().groups
    if name not in groups:
        return frozenset({name})
    out: set[str] = set()
    for member in groups[name]:
        out |= _expand(member)
    return frozenset(out)


def expand(names: Iterable[str]) -> frozenset[str]:
    """Jurisdiction codes named directly or through groups."""
    out: set[str] = set()
    for name in names:
        out |= _expand(name)
    return frozenset(out)


def covers(names: Iterable[str], code: str) -> bool:
    """Whether a rule's jurisdictions (codes or groups) include ``code``."""
    members = expand(names)
    return code in members or country_of(code) in members


def name_of(code: str) -> str:
    """A readable name for a jurisdiction code."""
    if "-" in code:
        sub = pycountry.subdivisions.get(code=code)  # type: ignore[no-untyped-call]
        return sub.name if sub is not None else code
    country = pycountry.countries.get(alpha_2=code)
    return country.name if country is not None else code
