"""Notification campaigns and the notices they send, one aggregate per notice.

A campaign is drafted for one incident and one audience, previewed, approved by a DPO who
did not draft it (approval freezes the content: its hash is in the approval), then
dispatched. Each recipient gets a :class:`Notice` whose history says exactly what happened:
queued, sending (before the SMTP transaction), sent (with the Message-ID, the content hash
and the server's reply), deferred, failed or suppressed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.domain import BaseAggregate
from pydantic import AwareDatetime, BaseModel, ConfigDict

from events.base import AggregateCreated, Cause, DomainEvent
from events.errors import RuleViolation


class NoticeAudience(StrEnum):
    """Who a campaign writes to."""

    PEOPLE = "people"
    AUTHORITY = "authority"
    CUSTOMER = "customer"


class Contact(BaseModel):
    """A contact point named in a notice (the DPO or another)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    email: str
    phone: str = ""


class NoticeContent(BaseModel):
    """What a notice says beyond the template's fixed text, approved as a whole."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    organisation: str
    nature: str
    consequences: str
    measures: str
    advice: str = ""
    contact: Contact
    categories: tuple[str, ...] = ()
    people_count: int | None = None
    records_count: int | None = None
    reference: str = ""


CONTENT_LANGUAGE = "en"
"""The language of a campaign's main content: every audience has templates in it, and a
recipient whose language has none gets the whole notice in it."""


class NoticeText(BaseModel):
    """What a notice says in one more language: its words only. The facts (the counts, the
    contact's address and phone, the reference) are the main content's in every language;
    a part left out (organisation, contact name, categories) is the main content's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    nature: str
    consequences: str
    measures: str
    advice: str = ""
    organisation: str | None = None
    contact_name: str | None = None
    categories: tuple[str, ...] | None = None


def localised(content: NoticeContent, text: NoticeText) -> NoticeContent:
    """The main content with the words of another language."""
    update: dict[str, object] = {
        "nature": text.nature,
        "consequences": text.consequences,
        "measures": text.measures,
        "advice": text.advice,
    }
    if text.organisation is not None:
        update["organisation"] = text.organisation
    if text.contact_name is not None:
        update["contact"] = content.contact.model_copy(update={"name": text.contact_name})
    if text.categories is not None:
        update["categories"] = text.categories
    return content.model_copy(update=update)


class OrganisationRecipient(BaseModel):
    """An authority or customer mailbox (an organisation's address, not a person's)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    email: str
    language: str = "en"


class CampaignStatus(StrEnum):
    """Where a campaign stands."""

    DRAFT = "draft"
    APPROVED = "approved"
    DISPATCHING = "dispatching"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class CampaignState(BaseModel):
    """What a campaign knows."""

    model_config = ConfigDict(frozen=True)

    incident_id: UUID
    audience: NoticeAudience
    template_version: str
    content: NoticeContent
    translations: dict[str, NoticeText] = {}
    recipients: tuple[OrganisationRecipient, ...] = ()
    drafted_by: str
    status: CampaignStatus = CampaignStatus.DRAFT
    approved_by: str | None = None
    approved_hash: str | None = None
    mixed_allowed: tuple[str, ...] = ()
    previews: int = 0
    last_preview_hash: str | None = None
    queued: int | None = None

    def content_in(self, language: str) -> tuple[NoticeContent, bool]:
        """The content of a notice whose templates are in ``language``, and whether it is
        mixed: the main content's words under that language's headings, for want of its
        own."""
        if language == CONTENT_LANGUAGE:
            return self.content, False
        text = self.translations.get(language)
        if text is None:
            return self.content, True
        return localised(self.content, text), False


class CampaignEvent(DomainEvent):
    """Base class of campaign events."""


class CampaignDrafted(AggregateCreated):
    """A campaign was drafted: its template (and version), the content (in English and the
    words of each other language given), the recipients."""

    incident_id: UUID
    audience: NoticeAudience
    template_version: str
    content: NoticeContent
    translations: dict[str, NoticeText] = {}
    recipients: tuple[OrganisationRecipient, ...] = ()

    def apply(self, aggregate: Campaign) -> None:
        """Start the campaign."""
        aggregate.state = CampaignState(
            incident_id=self.incident_id,
            audience=self.audience,
            template_version=self.template_version,
            content=self.content,
            translations=self.translations,
            recipients=self.recipients,
            drafted_by=self.actor,
        )


class CampaignRedrafted(CampaignEvent):
    """The draft was changed; any approval is void."""

    template_version: str
    content: NoticeContent
    translations: dict[str, NoticeText] = {}
    recipients: tuple[OrganisationRecipient, ...] = ()

    def apply(self, aggregate: Campaign) -> None:
        """Replace the draft and clear the approval."""
        aggregate.state = aggregate.state.model_copy(
            update={
                "template_version": self.template_version,
                "content": self.content,
                "translations": self.translations,
                "recipients": self.recipients,
                "status": CampaignStatus.DRAFT,
                "approved_by": None,
                "approved_hash": None,
                "mixed_allowed": (),
                "previews": 0,
                "last_preview_hash": None,
                "drafted_by": self.actor,
            }
        )


class CampaignPreviewed(CampaignEvent):
    """A sample was rendered for a chosen recipient (identified without personal data)."""

    recipient: str
    language: str
    body_hash: str

    def apply(self, aggregate: Campaign) -> None:
        """Count the preview and remember what it showed."""
        aggregate.state = aggregate.state.model_copy(
            update={"previews": aggregate.state.previews + 1, "last_preview_hash": self.body_hash}
        )


class CampaignApproved(CampaignEvent):
    """A DPO approved the campaign: ``content_hash`` freezes templates and content, and
    ``body_hash`` is the hash of the rendered body the DPO last previewed.
    ``mixed_languages`` names the languages whose recipients the DPO explicitly let have
    English content under that language's headings (none unless they said so)."""

    content_hash: str
    body_hash: str
    mixed_languages: tuple[str, ...] = ()

    def apply(self, aggregate: Campaign) -> None:
        """Record the approval."""
        aggregate.state = aggregate.state.model_copy(
            update={
                "status": CampaignStatus.APPROVED,
                "approved_by": self.actor,
                "approved_hash": self.content_hash,
                "mixed_allowed": self.mixed_languages,
            }
        )


class DispatchStarted(CampaignEvent):
    """Dispatch began; notices are queued for every recipient."""

    content_hash: str

    def apply(self, aggregate: Campaign) -> None:
        """Mark dispatching."""
        aggregate.state = aggregate.state.model_copy(update={"status": CampaignStatus.DISPATCHING})


class NoticesQueued(CampaignEvent):
    """Every recipient has a queued (or suppressed) notice."""

    count: int

    def apply(self, aggregate: Campaign) -> None:
        """Remember how many."""
        aggregate.state = aggregate.state.model_copy(update={"queued": self.count})


class DispatchPaused(CampaignEvent):
    """Dispatch was paused; nothing is sent until it resumes."""

    reason: str

    def apply(self, aggregate: Campaign) -> None:
        """Mark paused."""
        aggregate.state = aggregate.state.model_copy(update={"status": CampaignStatus.PAUSED})


class DispatchResumed(CampaignEvent):
    """Dispatch resumed."""

    def apply(self, aggregate: Campaign) -> None:
        """Mark dispatching again."""
        aggregate.state = aggregate.state.model_copy(update={"status": CampaignStatus.DISPATCHING})


class CampaignCompleted(CampaignEvent):
    """Every notice reached a final state."""

    sent: int
    failed: int
    suppressed: int

    def apply(self, aggregate: Campaign) -> None:
        """Mark completed."""
        aggregate.state = aggregate.state.model_copy(update={"status": CampaignStatus.COMPLETED})


class CampaignCancelled(CampaignEvent):
    """The campaign was cancelled; notices not yet sent will not be."""

    reason: str

    def apply(self, aggregate: Campaign) -> None:
        """Mark cancelled."""
        aggregate.state = aggregate.state.model_copy(update={"status": CampaignStatus.CANCELLED})


def _check_recipients(
    audience: NoticeAudience, recipients: tuple[OrganisationRecipient, ...]
) -> None:
    """Organisation audiences name their recipients; people come from the incident."""
    if audience is not NoticeAudience.PEOPLE and not recipients:
        raise RuleViolation("recipients", f"name at least one {audience.value} recipient")
    if audience is NoticeAudience.PEOPLE and recipients:
        raise RuleViolation("recipients", "people are taken from the incident's records")


def _check_translations(given: Mapping[str, NoticeText] | None) -> dict[str, NoticeText]:
    """The words of other languages: English is the main content's, never a translation."""
    words = dict(given or {})
    if CONTENT_LANGUAGE in words:
        raise RuleViolation(
            "translations", f"{CONTENT_LANGUAGE} is the main content; give it there"
        )
    return dict(sorted(words.items()))


def _mixed_refusal(languages: Collection[str]) -> str:
    named = ", ".join(sorted(languages))
    return (
        f"recipients in {named} would get English paragraphs under {named} "
        f"headings: give the campaign content in {named}, or approve allowing mixed languages"
    )


def _reason(text: str) -> str:
    value = text.strip()
    if not value:
        raise RuleViolation("reason", "must not be empty")
    return value


class Campaign(BaseAggregate[UUID]):
    """A notification campaign for one incident and audience."""

    LOG_KEY = "campaign_id"
    STATE = CampaignState

    if TYPE_CHECKING:
        state: CampaignState

    @classmethod
    def draft(
        cls,
        cause: Cause,
        *,
        campaign_id: UUID,
        incident_id: UUID,
        audience: NoticeAudience,
        template_version: str,
        content: NoticeContent,
        recipients: tuple[OrganisationRecipient, ...],
        translations: Mapping[str, NoticeText] | None = None,
    ) -> Campaign:
        """Draft a campaign; organisation audiences need their recipients."""
        _check_recipients(audience, recipients)
        return cls._create(
            CampaignDrafted,
            id=campaign_id,
            incident_id=incident_id,
            audience=audience,
            template_version=template_version,
            content=content,
            translations=_check_translations(translations),
            recipients=recipients,
            **cause.stamp(),
        )

    def redraft(
        self,
        cause: Cause,
        *,
        template_version: str,
        content: NoticeContent,
        recipients: tuple[OrganisationRecipient, ...],
        translations: Mapping[str, NoticeText] | None = None,
    ) -> None:
        """Change the draft (voids any approval); ``translations`` None keeps them."""
        if self.state.status not in (CampaignStatus.DRAFT, CampaignStatus.APPROVED):
            raise RuleViolation("status", f"a {self.state.status.value} campaign cannot change")
        s = self.state
        _check_recipients(s.audience, recipients)
        words = s.translations if translations is None else _check_translations(translations)
        if (template_version, content, recipients, words) == (
            s.template_version,
            s.content,
            s.recipients,
            s.translations,
        ):
            raise RuleViolation("content", "changes nothing")
        self.trigger_event(
            CampaignRedrafted,
            template_version=template_version,
            content=content,
            translations=words,
            recipients=recipients,
            **cause.stamp(),
        )

    def preview(self, cause: Cause, *, recipient: str, language: str, body_hash: str) -> None:
        """Record that a sample was rendered."""
        self.trigger_event(
            CampaignPreviewed,
            recipient=recipient,
            language=language,
            body_hash=body_hash,
            **cause.stamp(),
        )

    def approve(
        self,
        cause: Cause,
        *,
        content_hash: str,
        is_dpo: bool,
        mixed: Collection[str] = (),
        allow_mixed: bool = False,
    ) -> None:
        """Approve: only a DPO, not the drafter, and only a previewed draft; a draft whose
        recipients in some language (``mixed``) would get English words under that
        language's headings only when the DPO explicitly allows it."""
        if self.state.status is not CampaignStatus.DRAFT:
            raise RuleViolation(
                "status", f"only a draft can be approved (it is {self.state.status.value})"
            )
        if not is_dpo:
            raise RuleViolation("actor", f"{cause.actor} is not a DPO; only a DPO approves notices")
        if cause.actor == self.state.drafted_by:
            raise RuleViolation("actor", "the person who drafted a campaign cannot approve it")
        if self.state.previews == 0:
            raise RuleViolation("preview", "preview the notice before approving it")
        assert self.state.last_preview_hash is not None
        if mixed and not allow_mixed:
            raise RuleViolation("allow_mixed", _mixed_refusal(mixed))
        self.trigger_event(
            CampaignApproved,
            content_hash=content_hash,
            body_hash=self.state.last_preview_hash,
            mixed_languages=tuple(sorted(mixed)),
            **cause.stamp(),
        )

    def start_dispatch(
        self, cause: Cause, *, content_hash: str, mixed: Collection[str] = ()
    ) -> None:
        """Start sending; the content must be exactly what was approved, and no recipient
        may now get a mixed-language notice the approval did not allow (people added since,
        in a language without content)."""
        if self.state.status is not CampaignStatus.APPROVED:
            raise RuleViolation(
                "status", f"only an approved campaign can be sent (it is {self.state.status.value})"
            )
        if content_hash != self.state.approved_hash:
            raise RuleViolation(
                "content", "the templates or content changed since approval; approve again"
            )
        unallowed = set(mixed) - set(self.state.mixed_allowed)
        if unallowed:
            raise RuleViolation(
                "content",
                _mixed_refusal(unallowed) + "; people were added since approval, so redraft "
                "with their language's content and approve again",
            )
        self.trigger_event(DispatchStarted, content_hash=content_hash, **cause.stamp())

    def record_queued(self, cause: Cause, *, count: int) -> None:
        """Record that every recipient's notice is queued."""
        if self.state.queued is None:
            self.trigger_event(NoticesQueued, count=count, **cause.stamp())

    def pause(self, cause: Cause, *, reason: str) -> None:
        """Pause sending."""
        if self.state.status is not CampaignStatus.DISPATCHING:
            raise RuleViolation("status", "only a dispatching campaign can be paused")
        self.trigger_event(DispatchPaused, reason=_reason(reason), **cause.stamp())

    def resume(self, cause: Cause) -> None:
        """Resume sending."""
        if self.state.status is not CampaignStatus.PAUSED:
            raise RuleViolation("status", "only a paused campaign can be resumed")
        self.trigger_event(DispatchResumed, **cause.stamp())

    def complete(self, cause: Cause, *, sent: int, failed: int, suppressed: int) -> bool:
        """Record completion once (returns whether it did)."""
        if self.state.status in (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED):
            return False
        self.trigger_event(
            CampaignCompleted, sent=sent, failed=failed, suppressed=suppressed, **cause.stamp()
        )
        return True

    def cancel(self, cause: Cause, *, reason: str) -> None:
        """Cancel the campaign."""
        if self.state.status in (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED):
            raise RuleViolation("status", f"the campaign is already {self.state.status.value}")
        self.trigger_event(CampaignCancelled, reason=_reason(reason), **cause.stamp())

    @property
    def sending_allowed(self) -> bool:
        """Whether notices of this campaign may be sent now."""
        return self.state.status is CampaignStatus.DISPATCHING


class NoticeStatus(StrEnum):
    """Where a notice stands."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    UNCERTAIN = "uncertain"


FINAL = (NoticeStatus.SENT, NoticeStatus.FAILED, NoticeStatus.SUPPRESSED)


class NoticeState(BaseModel):
    """What a notice knows."""

    model_config = ConfigDict(frozen=True)

    campaign_id: UUID
    incident_id: UUID
    person_id: UUID | None
    recipient_index: int | None
    language: str
    fallback: bool
    status: NoticeStatus = NoticeStatus.QUEUED
    attempts: int = 0
    message_id: str | None = None
    next_attempt_at: AwareDatetime | None = None
    sent_at: AwareDatetime | None = None
    reason: str | None = None


class NoticeEvent(DomainEvent):
    """Base class of notice events."""


class NoticeQueued(AggregateCreated):
    """A notice was queued for a recipient: a person (by id) or an organisation recipient
    of the campaign (by index). ``fallback`` says the template language fell back; ``mixed``
    that the words are English under ``language``'s headings, as the approval allowed."""

    campaign_id: UUID
    incident_id: UUID
    person_id: UUID | None = None
    recipient_index: int | None = None
    language: str
    fallback: bool = False
    mixed: bool = False

    def apply(self, aggregate: Notice) -> None:
        """Start the notice."""
        aggregate.state = NoticeState(
            campaign_id=self.campaign_id,
            incident_id=self.incident_id,
            person_id=self.person_id,
            recipient_index=self.recipient_index,
            language=self.language,
            fallback=self.fallback,
        )


class NoticeSending(NoticeEvent):
    """The notice is about to be handed to SMTP (recorded before the transaction)."""

    attempt: int
    message_id: str

    def apply(self, aggregate: Notice) -> None:
        """Mark sending."""
        aggregate.state = aggregate.state.model_copy(
            update={
                "status": NoticeStatus.SENDING,
                "attempts": self.attempt,
                "message_id": self.message_id,
            }
        )


class NoticeSent(NoticeEvent):
    """The server accepted the message. ``reply`` is its reply reduced to the reply code,
    the enhanced status code and a text without any address or the recipient's name."""

    message_id: str
    content_hash: str
    reply: str

    def apply(self, aggregate: Notice) -> None:
        """Mark sent."""
        aggregate.state = aggregate.state.model_copy(
            update={"status": NoticeStatus.SENT, "sent_at": self.timestamp, "reason": None}
        )


class NoticeDeferred(NoticeEvent):
    """A temporary failure; another attempt is due at ``next_attempt_at``. ``reason`` is the
    server's reply or the relay error, reduced as :class:`NoticeSent`'s reply is."""

    reason: str
    next_attempt_at: AwareDatetime

    def apply(self, aggregate: Notice) -> None:
        """Mark deferred."""
        aggregate.state = aggregate.state.model_copy(
            update={
                "status": NoticeStatus.DEFERRED,
                "next_attempt_at": self.next_attempt_at,
                "reason": self.reason,
            }
        )


class NoticeFailed(NoticeEvent):
    """A permanent failure, or retries exhausted (``reason`` reduced as
    :class:`NoticeSent`'s reply is)."""

    reason: str

    def apply(self, aggregate: Notice) -> None:
        """Mark failed."""
        aggregate.state = aggregate.state.model_copy(
            update={"status": NoticeStatus.FAILED, "reason": self.reason}
        )


class NoticeSuppressed(NoticeEvent):
    """Not sent on purpose: the person was erased, opted out, or the address is a duplicate."""

    reason: str

    def apply(self, aggregate: Notice) -> None:
        """Mark suppressed."""
        aggregate.state = aggregate.state.model_copy(
            update={"status": NoticeStatus.SUPPRESSED, "reason": self.reason}
        )


class NoticeUncertain(NoticeEvent):
    """A notice was caught between 'sending' and an outcome by a crash, and whether the
    server got it cannot be known; it is not resent until someone decides."""

    reason: str

    def apply(self, aggregate: Notice) -> None:
        """Mark uncertain."""
        aggregate.state = aggregate.state.model_copy(
            update={"status": NoticeStatus.UNCERTAIN, "reason": self.reason}
        )


class NoticeRequeued(NoticeEvent):
    """An uncertain notice was put back in the queue by a person's decision."""

    reason: str

    def apply(self, aggregate: Notice) -> None:
        """Queue again."""
        aggregate.state = aggregate.state.model_copy(
            update={"status": NoticeStatus.QUEUED, "reason": self.reason}
        )


class Notice(BaseAggregate[UUID]):
    """One notice to one recipient."""

    LOG_KEY = "notice_id"
    STATE = NoticeState

    if TYPE_CHECKING:
        state: NoticeState

    @classmethod
    def queue(
        cls,
        cause: Cause,
        *,
        notice_id: UUID,
        campaign_id: UUID,
        incident_id: UUID,
        person_id: UUID | None,
        recipient_index: int | None,
        language: str,
        fallback: bool,
        mixed: bool = False,
    ) -> Notice:
        """Queue a notice for one recipient."""
        return cls._create(
            NoticeQueued,
            id=notice_id,
            campaign_id=campaign_id,
            incident_id=incident_id,
            person_id=person_id,
            recipient_index=recipient_index,
            language=language,
            fallback=fallback,
            mixed=mixed,
            **cause.stamp(),
        )

    @classmethod
    def restore(cls, notice_id: UUID, version: int, at: datetime, state: NoticeState) -> Notice:
        """A notice at a known version from a trusted record of its state (a snapshot or a
        read model). Saving a change made on it fails if the store has moved past
        ``version``, so a stale record can never overwrite history."""
        notice = cls.__new__(cls)
        notice.__base_init__(originator_id=notice_id, originator_version=version, timestamp=at)
        notice.state = state
        return notice

    def _require(self, *allowed: NoticeStatus) -> None:
        if self.state.status not in allowed:
            raise RuleViolation("status", f"the notice is {self.state.status.value}")

    def sending(self, cause: Cause, *, message_id: str) -> None:
        """Mark as being handed to SMTP."""
        self._require(NoticeStatus.QUEUED, NoticeStatus.DEFERRED)
        self.trigger_event(
            NoticeSending, attempt=self.state.attempts + 1, message_id=message_id, **cause.stamp()
        )

    def sent(self, cause: Cause, *, content_hash: str, reply: str) -> None:
        """Record the server's acceptance."""
        self._require(NoticeStatus.SENDING, NoticeStatus.UNCERTAIN)
        assert self.state.message_id is not None
        self.trigger_event(
            NoticeSent,
            message_id=self.state.message_id,
            content_hash=content_hash,
            reply=reply,
            **cause.stamp(),
        )

    def defer(self, cause: Cause, *, reason: str, next_attempt_at: datetime) -> None:
        """Record a temporary failure."""
        self._require(NoticeStatus.SENDING)
        self.trigger_event(
            NoticeDeferred, reason=reason, next_attempt_at=next_attempt_at, **cause.stamp()
        )

    def fail(self, cause: Cause, *, reason: str) -> None:
        """Record a permanent failure."""
        self._require(NoticeStatus.SENDING, NoticeStatus.QUEUED, NoticeStatus.DEFERRED)
        self.trigger_event(NoticeFailed, reason=reason, **cause.stamp())

    def suppress(self, cause: Cause, *, reason: str) -> None:
        """Record that the notice will not be sent, and why."""
        self._require(NoticeStatus.QUEUED, NoticeStatus.DEFERRED)
        self.trigger_event(NoticeSuppressed, reason=reason, **cause.stamp())

    def uncertain(self, cause: Cause, *, reason: str) -> None:
        """Record that a crash left the outcome unknown."""
        self._require(NoticeStatus.SENDING)
        self.trigger_event(NoticeUncertain, reason=reason, **cause.stamp())

    def requeue(self, cause: Cause, *, reason: str) -> None:
        """Send an uncertain notice again (a person's decision)."""
        self._require(NoticeStatus.UNCERTAIN)
        self.trigger_event(NoticeRequeued, reason=_reason(reason), **cause.stamp())

    @property
    def is_final(self) -> bool:
        """Whether nothing more will happen to this notice by itself."""
        return self.state.status in FINAL
