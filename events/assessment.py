"""Impact assessment values: the facts responders establish, and the answers derived from them.

The facts (:class:`AssessmentFacts`) are what a responder records; the severity working
(:class:`SeverityAssessment`) and the obligations (:class:`Obligation`) are what the
engine in ``services.assessment`` derived from them under a named rule-set version. All
are stored inside incident events so an audit can replay exactly what was known and
concluded at any moment.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, NonNegativeInt

from events.canonical import Form, canonical_digest


class DataCategory(StrEnum):
    """Categories of personal data a breach can affect."""

    CONTACT = "contact"
    IDENTITY = "identity"
    NATIONAL_ID = "national_id"
    CREDENTIALS_PLAINTEXT = "credentials_plaintext"
    CREDENTIALS_WEAKLY_HASHED = "credentials_weakly_hashed"
    CREDENTIALS_STRONGLY_HASHED = "credentials_strongly_hashed"
    FINANCIAL = "financial"
    PAYMENT_CARD = "payment_card"
    HEALTH = "health"
    GENETIC = "genetic"
    BIOMETRIC = "biometric"
    RACIAL_OR_ETHNIC_ORIGIN = "racial_or_ethnic_origin"
    POLITICAL_OPINION = "political_opinion"
    RELIGIOUS_BELIEF = "religious_belief"
    TRADE_UNION = "trade_union"
    SEX_LIFE = "sex_life"
    CRIMINAL_RECORD = "criminal_record"
    CHILDREN = "children"
    LOCATION = "location"
    BEHAVIOURAL = "behavioural"
    COMMUNICATIONS = "communications"
    EMPLOYMENT_HR = "employment_hr"
    RESUME_CV = "resume_cv"
    EDUCATION = "education"
    OTHER = "other"


CREDENTIAL_CATEGORIES = frozenset(
    {
        DataCategory.CREDENTIALS_PLAINTEXT,
        DataCategory.CREDENTIALS_WEAKLY_HASHED,
        DataCategory.CREDENTIALS_STRONGLY_HASHED,
    }
)


class BreachType(StrEnum):
    """The security property the breach broke."""

    CONFIDENTIALITY = "confidentiality"
    INTEGRITY = "integrity"
    AVAILABILITY = "availability"


class Encryption(StrEnum):
    """Whether the data was unintelligible to whoever got it."""

    NONE = "none"
    ENCRYPTED_KEY_SAFE = "encrypted_key_safe"
    ENCRYPTED_KEY_COMPROMISED = "encrypted_key_compromised"


class Recipients(StrEnum):
    """Who received or may have received the data."""

    NONE_KNOWN = "none_known"
    KNOWN_TRUSTED = "known_trusted"
    KNOWN = "known"
    UNKNOWN_OR_PUBLIC = "unknown_or_public"


class Intent(StrEnum):
    """Whether the breach was malicious or accidental."""

    MALICIOUS = "malicious"
    ACCIDENTAL = "accidental"


class Recovery(StrEnum):
    """For integrity and availability breaches: can the data be restored?"""

    NOT_APPLICABLE = "not_applicable"
    WITHOUT_DIFFICULTY = "without_difficulty"
    TEMPORARY_LOSS = "temporary_loss"
    UNRECOVERABLE = "unrecoverable"


class IntegrityLoss(StrEnum):
    """For integrity breaches: what became of the altered data."""

    RECOVERABLE = "recoverable"
    UNRECOVERABLE = "unrecoverable"
    USED_ILLEGALLY = "used_illegally"


class Identifiability(StrEnum):
    """ENISA's ease of identification of the people from the data."""

    NEGLIGIBLE = "negligible"
    LIMITED = "limited"
    SIGNIFICANT = "significant"
    MAXIMUM = "maximum"


class Role(StrEnum):
    """Our role for the data breached."""

    CONTROLLER = "controller"
    PROCESSOR = "processor"


class Sector(StrEnum):
    """Characteristics of the organisation that bring extra regimes into play."""

    CRITICAL_INFRASTRUCTURE = "critical_infrastructure"
    FINANCIAL_ENTITY = "financial_entity"
    ESSENTIAL_ENTITY = "essential_entity"
    IMPORTANT_ENTITY = "important_entity"
    PRC_NETWORK_OPERATOR = "prc_network_operator"
    PRC_CENTRAL_STATE_ORGAN = "prc_central_state_organ"
    HIPAA_COVERED_ENTITY = "hipaa_covered_entity"
    HIPAA_BUSINESS_ASSOCIATE = "hipaa_business_associate"
    PUBLIC_COMMS_PROVIDER = "public_comms_provider"
    MEDICAL_ORGANISATION = "medical_organisation"


class Count(BaseModel):
    """A number and whether it is confirmed or only estimated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    count: NonNegativeInt
    confirmed: bool = False


class Adjustments(BaseModel):
    """ENISA's whole-step adjustments of the data processing context score."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    volume: bool = Field(
        default=False, description="Much data about each person (e.g. detailed profiles, CVs)."
    )
    sensitive_controller: bool = Field(
        default=False, description="The controller's nature makes the data telling."
    )
    inaccurate: bool = Field(default=False, description="The data is known to be invalid.")
    public: bool = Field(default=False, description="The data was already public.")


class AdjustmentChoice(BaseModel):
    """A named ENISA adjustment of one category's DPC score, chosen with a reason."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(
        description="The adjustment's name in the policy (e.g. sensitive_no_insight)."
    )
    category: DataCategory = Field(description="The category it adjusts.")
    step: int = Field(description="Whole steps, within those the policy allows for it.")
    reason: str = Field(description="Why it applies, in the assessor's words.")


class AssessmentFacts(BaseModel):
    """What responders established about a breach's impact.

    ``people_by_jurisdiction`` maps ISO 3166 codes (``DE``, ``US-CA``) to the number of
    affected people living there. ``major_incident`` records a classification as a
    significant (NIS2) or major (DORA) incident. ``remedial_measures_effective`` records
    that measures taken make the harm to people no longer likely. ``hipaa_low_probability``
    records a documented HIPAA four-factor assessment showing a low probability of
    compromise. ``assessed_notifiable_at`` is when the breach was assessed as notifiable
    (Singapore's clock); when absent, the time the assessment is recorded counts.

    The likelihood facts: ``deletion_confirmed`` (the known recipients confirmed deletion or
    return), ``recovered_before_access`` (the data were recovered before anyone could read
    them), ``misuse_evidence`` (the data are known to be misused), ``exposure_days`` (how long
    the data were exposed before detection; when absent, counted from occurrence to
    discovery). ``integrity`` says what became of altered data; ``dpc_adjustments`` are the
    named category adjustments of the ENISA method, each with a reason.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_categories: tuple[DataCategory, ...] = Field(min_length=1)
    credentials_open: tuple[DataCategory, ...] = ()
    people: Count
    records: Count | None = None
    people_by_jurisdiction: dict[str, NonNegativeInt] = Field(min_length=1)
    breach_types: tuple[BreachType, ...] = Field(min_length=1)
    encryption: Encryption = Encryption.NONE
    recipients: Recipients
    intent: Intent
    recovery: Recovery = Recovery.NOT_APPLICABLE
    time_to_restore_hours: float | None = Field(default=None, ge=0)
    identifiability: Identifiability = Identifiability.MAXIMUM
    children: bool = False
    vulnerable_people: bool = False
    role: Role = Role.CONTROLLER
    customer: str | None = None
    sectors: tuple[Sector, ...] = ()
    establishments: tuple[str, ...] = ()
    direct_loss_cny: NonNegativeInt = 0
    major_incident: bool = False
    remedial_measures_effective: bool = False
    hipaa_low_probability: bool = False
    adjustments: Adjustments = Adjustments()
    assessed_notifiable_at: AwareDatetime | None = None
    summary: str = ""
    integrity: IntegrityLoss = IntegrityLoss.RECOVERABLE
    dpc_adjustments: tuple[AdjustmentChoice, ...] = ()
    deletion_confirmed: bool = False
    recovered_before_access: bool = False
    misuse_evidence: bool = False
    exposure_days: NonNegativeInt | None = None


def digest(model: BaseModel) -> str:
    """SHA-256 of a value's canonical JSON (compact form): equal content, equal digest."""
    return canonical_digest(model.model_dump(mode="json"), Form.COMPACT)


class Factor(BaseModel):
    """One term of the severity working: its value and where it came from."""

    model_config = ConfigDict(frozen=True)

    name: str
    value: float
    source: str


class LikelihoodFactor(BaseModel):
    """One step of the likelihood working: the property it concerns, its effect and why."""

    model_config = ConfigDict(frozen=True)

    name: str
    property: str
    effect: str
    level: str
    source: str


class Likelihood(BaseModel):
    """How likely the consequences are: the level, each property's level, and the working."""

    model_config = ConfigDict(frozen=True)

    level: str
    properties: dict[str, str]
    factors: tuple[LikelihoodFactor, ...]


class SeverityAssessment(BaseModel):
    """The risk judgement: ENISA 2013 severity with its working, the likelihood with its
    factors, the matrix cell that combines them, and what the verdict recommends.

    ``risk`` is the verdict (unlikely, risk, high_risk) the regimes read. Assessments
    recorded under an earlier policy have no likelihood, matrix or reasons: they keep the
    answer they were given.
    """

    model_config = ConfigDict(frozen=True)

    method: str
    policy_version: str
    score: float
    band: str
    risk: str
    factors: tuple[Factor, ...]
    notes: tuple[str, ...] = ()
    recommend_authority: bool
    recommend_people: bool
    recommendation: str
    likelihood: Likelihood | None = None
    matrix: str | None = None
    reasons: tuple[str, ...] = ()


class Audience(StrEnum):
    """Whom an obligation requires us to tell (or record)."""

    AUTHORITY = "authority"
    DATA_SUBJECTS = "data_subjects"
    CONTROLLER = "controller"
    MEDIA = "media"
    CREDIT_AGENCIES = "credit_agencies"
    INTERNAL = "internal"


class SupervisoryAuthorities(BaseModel):
    """Which supervisory authorities take a notice where a one-stop shop applies (GDPR Art 56).

    With an establishment in the EU/EEA, ``lead`` is the state of the main establishment (the
    first EU/EEA establishment listed) and ``concerned`` the other EU/EEA states where people
    are affected or we are established. Without one there is no one-stop shop: ``lead`` is
    None and ``concerned`` lists each state whose authority is told on its own.
    """

    model_config = ConfigDict(frozen=True)

    lead: str | None = None
    concerned: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The authorities in words: ``lead: DE, concerned: FR``."""
        listed = ", ".join(self.concerned)
        if self.lead is not None:
            return f"lead: {self.lead}" + (f", concerned: {listed}" if listed else "")
        return f"no EU/EEA establishment, so no one-stop shop: each authority ({listed})"


class Obligation(BaseModel):
    """A duty derived from one regime's rule for this breach, with its deadline.

    ``deadline`` is None when the law gives no fixed period ("without undue delay") or
    when the moment the clock counts from is not known yet (``pending`` says which).
    ``authorities`` names the lead and concerned authorities of a one-stop shop (absent in
    evaluations recorded before it was worked out, and for every other duty).
    """

    model_config = ConfigDict(frozen=True)

    id: str
    regime: str
    regime_name: str
    party: str
    audience: Audience
    jurisdictions: tuple[str, ...]
    people: int
    triggered: bool
    condition: str
    exemption: str | None = None
    clock: str | None = None
    clock_start: AwareDatetime | None = None
    deadline: AwareDatetime | None = None
    deadline_text: str = ""
    provisional: str | None = None
    pending: str | None = None
    content: tuple[str, ...] = ()
    verified: str = "yes"
    authorities: SupervisoryAuthorities | None = None

    @property
    def due(self) -> bool:
        """Whether something must be done: triggered and not exempt."""
        return self.triggered and self.exemption is None


class Evaluation(BaseModel):
    """The obligations derived for one incident under one rule-set version."""

    model_config = ConfigDict(frozen=True)

    rule_set: str
    obligations: tuple[Obligation, ...]
    notes: tuple[str, ...] = ()

    def find(self, obligation_id: str) -> Obligation | None:
        """The obligation with this id, if evaluated."""
        return next((o for o in self.obligations if o.id == obligation_id), None)


class DecisionKind(StrEnum):
    """What the DPO decided about an obligation."""

    NOTIFY = "notify"
    DO_NOT_NOTIFY = "do_not_notify"
    NOTIFIED = "notified"


class Decision(BaseModel):
    """A DPO's decision on one obligation and what it was based on."""

    model_config = ConfigDict(frozen=True)

    obligation_id: str
    decision: DecisionKind
    reason: str
    notified_at: datetime | None = None
    reference: str | None = None
    actor: str
    at: AwareDatetime
    log_position: int
    assessment_digest: str
