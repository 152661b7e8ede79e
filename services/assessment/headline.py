"""The headline of an assessment: what must be done, in one line, from the duties that are due.

The headline is derived from the evaluation's due obligations, never from the severity band:
a processor whose only duty is to tell its controller is told exactly that, naming the
customer; a controller is told which authorities (the GDPR lead authority and the concerned
ones) and whether the people affected must be notified, by the earliest deadline; when nothing
is due, that the breach is only documented, and why (the risk is unlikely, or an exemption
applied). Pure: the same evaluation always gives the same words.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import tzinfo

from events.assessment import (
    AssessmentFacts,
    Audience,
    Evaluation,
    Obligation,
    SeverityAssessment,
)
from services.timefmt import show_time

MOST_AUTHORITIES = 3
"""Authorities named in a headline; more are counted ("and 2 more authorities")."""

AUTHORITY_NAMES = {
    "supervisory_authority": "supervisory authority",
    "ico": "ICO",
    "ico_pecr": "ICO (PECR)",
    "pi_protection_authority": "personal information protection authority",
    "provincial_cac": "provincial CAC",
    "authority_post_incident_summary": "authority (post-incident summary)",
    "hhs": "HHS",
    "hhs_annual_log": "HHS (annual log)",
    "attorney_general_department_of_state_state_police": (
        "attorney general, department of state and state police"
    ),
    "pdpc": "PDPC",
    "oaic": "OAIC",
    "opc": "OPC",
    "anpd": "ANPD",
    "data_protection_board_initial": "Data Protection Board",
    "data_protection_board_detailed": "Data Protection Board (detailed report)",
    "cert_in": "CERT-In",
    "ppc_preliminary": "PPC",
    "ppc_final": "PPC (final report)",
    "pipc_or_kisa": "PIPC or KISA",
    "fdpic": "FDPIC",
    "csirt_early_warning": "CSIRT (early warning)",
    "csirt_incident_notification": "CSIRT (incident notification)",
    "csirt_final_report": "CSIRT (final report)",
    "competent_authority_initial": "competent authority (initial report)",
    "competent_authority_intermediate": "competent authority (intermediate report)",
    "competent_authority_final": "competent authority (final report)",
}
"""How an authority is named in a headline (otherwise its party id in words)."""

REGISTERS = {
    "eu_gdpr/internal_register": "GDPR Art 33(5) register",
    "ca_pipeda/internal_register": "PIPEDA breach record",
    "br_lgpd/internal_register": "LGPD incident record",
    "au_ndb/internal_assessment": "NDB assessment within 30 days",
}
"""How an internal duty is named when it is all that is due."""

TIMING = {
    "cn_pipl/pi_protection_authority": "immediately",
    "cn_pipl/data_subjects": "immediately",
}
"""When a duty without a fixed period is due, where the law's words need shortening."""

OTHERS = {Audience.MEDIA: "the media", Audience.CREDIT_AGENCIES: "the consumer reporting agencies"}


def _words(party: str) -> str:
    return party.replace("_", " ")


def _join(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _urgency(o: Obligation) -> tuple[bool, str]:
    return (o.deadline is None, o.deadline.isoformat() if o.deadline else "")


def _when(o: Obligation, zone: tzinfo) -> str:
    """When an obligation is due, briefly: its deadline, what its clock waits for, or the law's
    words up to the first qualification."""
    if o.deadline is not None:
        return f"by {show_time(o.deadline, zone)}" + (" (provisional)" if o.provisional else "")
    if o.pending:
        return "after " + _words(o.pending.removeprefix("counts from "))
    if o.id in TIMING:
        return TIMING[o.id]
    text = o.deadline_text.split(";", 1)[0].split(" (", 1)[0].strip()
    return text or "no fixed deadline"


def _earliest(obligations: Iterable[Obligation]) -> Obligation:
    return min(obligations, key=_urgency)


def _authority(o: Obligation, zone: tzinfo) -> str:
    when = _when(o, zone)
    if o.authorities is not None and o.authorities.lead is not None:
        return f"the supervisory authority ({o.authorities.text}, {when})"
    if o.authorities is not None:
        listed = ", ".join(o.authorities.concerned)
        return (
            f"each supervisory authority where people are affected ({listed}; no EU/EEA "
            f"establishment, so no one-stop shop; {when})"
        )
    name = AUTHORITY_NAMES.get(o.party, _words(o.party))
    where = ", ".join(o.jurisdictions)
    return f"the {name} ({where}, {when})" if where else f"the {name} ({when})"


def _authorities(due: Sequence[Obligation], zone: tzinfo) -> list[str]:
    """One phrase per regime (its most urgent authority duty), most urgent first."""
    by_regime: dict[str, list[Obligation]] = {}
    for o in due:
        if o.audience is Audience.AUTHORITY:
            by_regime.setdefault(o.regime, []).append(o)
    firsts = sorted((_earliest(group) for group in by_regime.values()), key=_urgency)
    phrases = [_authority(o, zone) for o in firsts[:MOST_AUTHORITIES]]
    more = len(firsts) - MOST_AUTHORITIES
    if more > 0:
        phrases.append(f"{more} more {'authority' if more == 1 else 'authorities'}")
    return phrases


def _people(facts: AssessmentFacts, due: Sequence[Obligation], zone: tzinfo) -> str | None:
    subjects = [o for o in due if o.audience is Audience.DATA_SUBJECTS]
    if not subjects:
        return None
    places = sorted({code for o in subjects for code in o.jurisdictions})
    affected = sorted(code for code, n in facts.people_by_jurisdiction.items() if n > 0)
    phrase = "the people affected"
    if places and places != affected:
        phrase += f" in {', '.join(places)}"
    dated = [o for o in subjects if o.deadline is not None]
    if dated:
        phrase += f" ({_when(_earliest(dated), zone)})"
    return phrase


def _controller(facts: AssessmentFacts, due: Sequence[Obligation], zone: tzinfo) -> str | None:
    told = [o for o in due if o.audience is Audience.CONTROLLER]
    if not told:
        return None
    customer = (facts.customer or "").strip()
    who = f"the controller, {customer}," if customer else "the controller"
    text = f"Tell {who} without undue delay"
    dated = [o for o in told if o.deadline is not None]
    if dated:
        text += f", at the latest {_when(_earliest(dated), zone)}"
    return text


def _why_nothing(severity: SeverityAssessment, evaluation: Evaluation) -> str:
    """Why no notification is due: an exemption, the unlikely risk, or the first condition."""
    outward = [o for o in evaluation.obligations if o.audience is not Audience.INTERNAL]
    exemptions = list(dict.fromkeys(o.exemption for o in outward if o.triggered and o.exemption))
    if exemptions:
        return "exempt: " + "; ".join(exemptions)
    if severity.risk == "unlikely":
        if severity.likelihood is not None:
            why = (
                f"severity {severity.band.replace('_', ' ')} (SE {severity.score:g}) "
                f"x likelihood {severity.likelihood.level}"
            )
        else:
            why = "; ".join(severity.notes) or f"severity {severity.band} (SE {severity.score:g})"
        return f"risk unlikely: {why}"
    if outward:
        return f"no duty to notify is triggered ({outward[0].condition})"
    return "no notification law reaches this breach"


def headline(
    facts: AssessmentFacts, severity: SeverityAssessment, evaluation: Evaluation, zone: tzinfo
) -> str:
    """What must be done, in one line, from the obligations due in ``evaluation``."""
    due = [o for o in evaluation.obligations if o.due]
    sentences: list[str] = []
    controller = _controller(facts, due, zone)
    if controller is not None:
        sentences.append(controller)
    notified = _authorities(due, zone)
    people = _people(facts, due, zone)
    if people is not None:
        notified.append(people)
    if notified:
        verb = "notify" if sentences else "Notify"
        sentences.append(f"{verb} {_join(notified)}")
    others = []
    for audience, name in OTHERS.items():
        told = [o for o in due if o.audience is audience]
        if told:
            first = _earliest(told)
            others.append(f"{name} ({', '.join(first.jurisdictions)}, {_when(first, zone)})")
    if others:
        sentences.append(f"also tell {_join(others)}")
    if sentences:
        spared = [
            o.exemption
            for o in evaluation.obligations
            if o.audience is Audience.DATA_SUBJECTS and o.triggered and o.exemption
        ]
        if people is None and spared:
            sentences.append(f"not the people affected (exempt: {spared[0]})")
        return "; ".join(sentences)
    registers = [REGISTERS.get(o.id, o.regime_name) for o in due if o.audience is Audience.INTERNAL]
    where = f" ({'; '.join(dict.fromkeys(registers))})" if registers else ""
    return f"Document internally only{where} — {_why_nothing(severity, evaluation)}"
