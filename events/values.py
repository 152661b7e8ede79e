"""Value types of the incident domain: vocabularies and the legally distinct moments."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from pydantic import AwareDatetime, BaseModel, ConfigDict


class IncidentType(StrEnum):
    """What kind of incident this is; each type has a containment playbook."""

    RANSOMWARE = "ransomware"
    MALWARE = "malware"
    PHISHING = "phishing"
    CREDENTIAL_COMPROMISE = "credential_compromise"
    WEB_APPLICATION_EXFILTRATION = "web_application_exfiltration"
    INSIDER_EXFILTRATION = "insider_exfiltration"
    LOST_OR_STOLEN_DEVICE = "lost_or_stolen_device"
    MISDIRECTED_COMMUNICATION = "misdirected_communication"
    UNAUTHORISED_ACCESS = "unauthorised_access"
    ACCIDENTAL_DISCLOSURE = "accidental_disclosure"
    SUPPLIER_BREACH = "supplier_breach"
    DENIAL_OF_SERVICE = "denial_of_service"
    OTHER = "other"


class SourceChannel(StrEnum):
    """How the incident reached the security team."""

    EMPLOYEE = "employee"
    EMAIL = "email"
    PHONE = "phone"
    WEB_FORM = "web_form"
    SIEM = "siem"
    MONITORING = "monitoring"
    CUSTOMER = "customer"
    PROCESSOR = "processor"
    RESEARCHER = "researcher"
    REGULATOR = "regulator"
    MEDIA = "media"
    OTHER = "other"


class Severity(StrEnum):
    """Triage severity; the same four bands as the ENISA severity method."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    VERY_HIGH = "very_high"

    @property
    def rank(self) -> int:
        """Order of the band, low = 1 to very high = 4."""
        return list(Severity).index(self) + 1


class SeveritySource(StrEnum):
    """Where the severity people see comes from."""

    ASSESSMENT = "assessment"
    TRIAGE = "triage"


ENISA_BANDS: Mapping[str, Severity] = MappingProxyType(
    {
        "low": Severity.LOW,
        "medium": Severity.MEDIUM,
        "high": Severity.HIGH,
        "very_high": Severity.VERY_HIGH,
    }
)
"""The one severity scale: each band of the ENISA 2013 method (the assessed band, as the
severity policy names it) and the triage severity it is the same step as. The two
vocabularies name the same four steps, low to very high, so a triage estimate and an
assessed band compare directly."""


def severity_of_band(band: str) -> Severity | None:
    """The severity an assessed ENISA band stands for, or None for a band off the scale
    (written as the policy writes it, or with spaces, dashes or capitals: "Very High")."""
    return ENISA_BANDS.get(band.strip().lower().replace(" ", "_").replace("-", "_"))


def shown_severity(
    initial: Severity | None, assessed: Severity | None
) -> tuple[Severity | None, SeveritySource | None]:
    """The one severity people see, and where it comes from: the assessed band once an
    assessment exists, otherwise the triage estimate (``initial``); neither before both.

    Every face (the incident's state, the board, the API, the command line and the web
    pages) takes the severity from here."""
    if assessed is not None:
        return assessed, SeveritySource.ASSESSMENT
    if initial is not None:
        return initial, SeveritySource.TRIAGE
    return None, None


class BreachDetermination(StrEnum):
    """Whether the incident is a personal-data breach, as decided at triage."""

    YES = "yes"
    NO = "no"
    UNDETERMINED = "undetermined"


class IncidentStatus(StrEnum):
    """Lifecycle status of an incident."""

    OPEN = "open"
    CLOSED = "closed"


MOMENT_FIELDS: tuple[str, ...] = ("occurred_at", "discovered_at", "aware_at", "determined_at")
"""The legally distinct moments, in the order the law expects them to happen."""


class LegalMoments(BaseModel):
    """The moments the law distinguishes, kept apart because deadlines count from them.

    - ``occurred_at``: when the incident happened (often unknown at first);
    - ``discovered_at``: when anyone in the organisation first noticed it (required);
    - ``aware_at``: when the organisation became aware, with reasonable certainty, that a
      breach had happened (GDPR's clock start);
    - ``determined_at``: when it was determined to be a personal-data breach.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    occurred_at: AwareDatetime | None = None
    discovered_at: AwareDatetime
    aware_at: AwareDatetime | None = None
    determined_at: AwareDatetime | None = None

    def problem(self, recorded_at: datetime) -> tuple[str, str] | None:
        """Return ``(field, reason)`` for the first rule these moments break, else None.

        Rules: occurred <= discovered <= aware; discovered <= determined; and no moment
        lies after ``recorded_at`` (nothing can be known before it happens).
        """
        for name in MOMENT_FIELDS:
            value = getattr(self, name)
            if value is not None and value > recorded_at:
                return name, "is in the future"
        if self.occurred_at is not None and self.occurred_at > self.discovered_at:
            return "occurred_at", "must not be after discovered_at"
        if self.aware_at is not None and self.aware_at < self.discovered_at:
            return "aware_at", "must not be before discovered_at"
        if self.determined_at is not None and self.determined_at < self.discovered_at:
            return "determined_at", "must not be before discovered_at"
        return None
