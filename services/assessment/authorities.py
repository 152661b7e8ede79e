"""The GDPR one-stop shop (Art 56): which supervisory authority leads, and which are concerned.

The main establishment is the first establishment listed in the EU/EEA; its authority leads,
and the authorities of the other EU/EEA states where people are affected or where we are
established are concerned (Art 4(22)). Without an EU/EEA establishment there is no one-stop
shop: the authority of each state where people are affected is notified on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from events.assessment import SupervisoryAuthorities
from services.assessment.jurisdictions import country_of, covers

ONE_STOP_SHOP = frozenset({"eu_gdpr/supervisory_authority"})
"""The obligations notified through a one-stop shop (their regime's jurisdictions are the
area it covers)."""


def one_stop_shop(
    area: Iterable[str], establishments: Iterable[str], people_by_jurisdiction: Mapping[str, int]
) -> SupervisoryAuthorities:
    """The lead and concerned authorities for a breach in ``area`` (codes or groups)."""
    names = tuple(area)
    established = [country_of(e) for e in establishments if covers(names, e)]
    affected = {
        country_of(code)
        for code, n in people_by_jurisdiction.items()
        if n > 0 and covers(names, code)
    }
    if not established:
        return SupervisoryAuthorities(lead=None, concerned=tuple(sorted(affected)))
    lead = established[0]
    concerned = (affected | set(established)) - {lead}
    return SupervisoryAuthorities(lead=lead, concerned=tuple(sorted(concerned)))
