"""The notification commands of the application: draft, preview, approve, send, pause,
resume, cancel, and resolving notices a crash left uncertain."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Annotated, Any, Protocol
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.persistence import IntegrityError
from pydantic import BaseModel, ConfigDict, Field

from events.base import Cause
from events.incident import Incident
from events.notifications import (
    CONTENT_LANGUAGE,
    Campaign,
    CampaignStatus,
    Contact,
    Notice,
    NoticeAudience,
    NoticeContent,
    NoticeStatus,
    NoticeText,
    OrganisationRecipient,
)
from events.people import AffectedPerson
from services.application.base import LedgerApplication
from services.application.context import RequestContext
from services.application.errors import Conflict, InvalidInput, RuleBroken
from services.application.fields import (
    Count,
    Email,
    Line,
    OptionalLine,
    OptionalText,
    OptionalTitle,
    Text,
    Title,
    checked,
)
from services.incidents.handlers import IncidentHandlers
from services.notifications.languages import LanguagePlan, language_plan, organisation_languages
from services.notifications.settings import NoticeSettings
from services.notifications.templates import SAMPLE_RECIPIENT, NoticeTemplates, Rendered
from services.timefmt import show_time
from services.vault.sealing import PersonData
from services.vault.vault import Vault

NOTICE_NAMESPACE = uuid5(NAMESPACE_URL, "https://breachledger.invalid/notice")


def notice_id(
    campaign_id: UUID, *, person_id: UUID | None = None, index: int | None = None
) -> UUID:
    """A notice's id: one per campaign and recipient, so queueing twice adds nothing."""
    who = f"person/{person_id}" if person_id is not None else f"recipient/{index}"
    return uuid5(NOTICE_NAMESPACE, f"{campaign_id}/{who}")


CONTENT_MAX = 4000
"""Longest text of one part of a notice's content."""
Content = Annotated[Text, Field(max_length=CONTENT_MAX)]
OptionalContent = Annotated[OptionalText, Field(max_length=CONTENT_MAX)]
Language = Annotated[Title, Field(max_length=35)]


SETTLE_BATCH = 500
"""Notices settled in one transaction of the log."""


class ContactInput(BaseModel):
    """A contact point named in a notice."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Title
    email: Email
    phone: OptionalTitle = ""


class RecipientInput(BaseModel):
    """An organisation's mailbox to notify."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Title
    email: Email
    language: Language = "en"


class TranslationChange(BaseModel):
    """The words of a notice in one more language (the facts stay the main content's), or
    a change of them: only the parts given change, and a language new to the campaign
    needs its nature, consequences and measures."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    nature: Content | None = None
    consequences: Content | None = None
    measures: Content | None = None
    advice: OptionalContent | None = None
    organisation: OptionalTitle | None = None
    contact_name: OptionalTitle | None = None
    categories: tuple[Title, ...] | None = None


Translations = Annotated[dict[Language, TranslationChange], Field(max_length=50)]
TranslationChanges = Annotated[dict[Language, TranslationChange | None], Field(max_length=50)]


class DraftCampaign(BaseModel):
    """A campaign draft: audience, the approved-to-be content (English, and the words of
    other languages under ``translations``), organisation recipients."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    audience: NoticeAudience
    nature: Content
    consequences: Content
    measures: Content
    advice: OptionalContent = ""
    organisation: OptionalTitle | None = None
    contact: ContactInput | None = None
    categories: tuple[Title, ...] | None = None
    people_count: Count | None = None
    records_count: Count | None = None
    reference: OptionalLine = ""
    recipients: tuple[RecipientInput, ...] = ()
    translations: Translations = {}


class RedraftCampaign(BaseModel):
    """A change of a draft: only the fields given change (the audience, if given, must be
    the campaign's); at least one must be given. Under ``translations``, a language given
    changes the parts of its words given, and one given as null is removed; languages not
    named stay as they are."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    audience: NoticeAudience | None = None
    nature: Content | None = None
    consequences: Content | None = None
    measures: Content | None = None
    advice: OptionalContent | None = None
    organisation: OptionalTitle | None = None
    contact: ContactInput | None = None
    categories: tuple[Title, ...] | None = None
    people_count: Count | None = None
    records_count: Count | None = None
    reference: OptionalLine | None = None
    recipients: tuple[RecipientInput, ...] | None = None
    translations: TranslationChanges | None = None

    def content_changes(self) -> dict[str, Any]:
        """The content fields given, with their new values."""
        skip = {"audience", "recipients", "translations"}
        return {
            k: getattr(self, k)
            for k in self.model_fields_set - skip
            if getattr(self, k) is not None
        }


def _recipients(given: tuple[RecipientInput, ...]) -> tuple[OrganisationRecipient, ...]:
    return tuple(OrganisationRecipient(**r.model_dump()) for r in given)


def _merged(
    current: Mapping[str, NoticeText], changes: Mapping[str, TranslationChange | None]
) -> dict[str, NoticeText]:
    """The words of each language after a redraft: named languages change (or go), the
    others stay."""
    words = dict(current)
    for position, (language, change) in enumerate(changes.items(), start=1):
        if change is None:
            words.pop(language, None)
            continue
        given = change.model_dump(exclude_none=True)
        base = words[language].model_dump() if language in words else {}
        missing = [k for k in ("nature", "consequences", "measures") if k not in {**base, **given}]
        if missing:
            raise InvalidInput(
                "translations",
                f"language {position} is new to the campaign: give its {', '.join(missing)}",
            )
        words[language] = NoticeText.model_validate({**base, **given})
    return words


RecipientLanguages = Callable[[UUID], Mapping[str, int]]
"""The people of an incident still to be told, counted by language (a port the runtime
sets from the people view)."""


def _unwired(incident_id: UUID) -> Mapping[str, int]:
    msg = "the people's languages are not wired to the notification commands"
    raise RuntimeError(msg)


class Approvers(Protocol):
    """Who may approve notices: a port the users capability provides."""

    def is_dpo(self, actor: str) -> bool:
        """Whether ``actor`` may approve notices (an enabled user in the DPO role)."""
        ...


class NotificationHandlers:
    """Commands on campaigns and notices.

    Its collaborators: ``vault`` opens the people's data for personalised notices,
    ``templates`` and ``notice_settings`` render them, ``approvers`` says who may approve.
    """

    def __init__(
        self,
        core: LedgerApplication,
        incidents: IncidentHandlers,
        *,
        vault: Vault,
        templates: NoticeTemplates,
        notice_settings: NoticeSettings,
        approvers: Approvers,
    ) -> None:
        self.core = core
        self.incidents = incidents
        self.vault = vault
        self.templates = templates
        self.notice_settings = notice_settings
        self.approvers = approvers
        self.recipient_languages: RecipientLanguages = _unwired

    def _languages(self, audience: NoticeAudience, given: Mapping[str, Any]) -> dict[str, Any]:
        """``given`` keyed by the template language each key names; a language without
        templates for the audience (or English, the main content's) is refused."""
        out: dict[str, Any] = {}
        known = ", ".join(self.templates.languages(audience))
        for position, (language, value) in enumerate(given.items(), start=1):
            chosen, fallback = self.templates.resolve(audience, language)
            if fallback:
                raise InvalidInput(
                    "translations",
                    f"language {position} has no {audience.value} templates "
                    f"(they exist in {known})",
                )
            if chosen == CONTENT_LANGUAGE:
                raise InvalidInput(
                    "translations", f"language {position} is English: the main content is"
                )
            if chosen in out:
                raise InvalidInput("translations", f"language {position} is given twice")
            out[chosen] = value
        return out

    def _content(self, incident: Incident, cmd: DraftCampaign) -> NoticeContent:
        settings = self.notice_settings
        assessment = incident.state.assessment
        facts = assessment.facts if assessment is not None else None
        categories = cmd.categories
        if categories is None:
            categories = tuple(c.value for c in facts.data_categories) if facts else ()
        people = cmd.people_count
        if people is None and facts is not None:
            people = facts.people.count
        records = cmd.records_count
        if records is None and facts is not None and facts.records is not None:
            records = facts.records.count
        return NoticeContent(
            organisation=cmd.organisation or settings.organisation,
            nature=cmd.nature,
            consequences=cmd.consequences,
            measures=cmd.measures,
            advice=cmd.advice,
            contact=Contact(**cmd.contact.model_dump()) if cmd.contact else settings.contact,
            categories=categories,
            people_count=people,
            records_count=records,
            reference=cmd.reference,
        )

    def draft_campaign(
        self, incident_id: UUID, request: DraftCampaign | Mapping[str, Any], ctx: RequestContext
    ) -> Campaign:
        """Draft a campaign for an incident and audience."""
        templates = self.templates
        cmd = self.core.validated(DraftCampaign, request)
        incident = self.core.load(incident_id, Incident)
        content = self._content(incident, cmd)
        words = _merged({}, self._languages(cmd.audience, cmd.translations))
        return self.core.create(
            lambda cause: Campaign.draft(
                cause,
                campaign_id=uuid4(),
                incident_id=incident.id,
                audience=cmd.audience,
                template_version=templates.version(cmd.audience),
                content=content,
                recipients=_recipients(cmd.recipients),
                translations=words,
            ),
            ctx,
            logged="campaign.drafted",
            audience=cmd.audience.value,
        )

    def redraft_campaign(
        self,
        campaign_id: UUID,
        request: RedraftCampaign | DraftCampaign | Mapping[str, Any],
        ctx: RequestContext,
    ) -> Campaign:
        """Change a draft (or an approved campaign, voiding its approval): the content
        fields and recipients given replace theirs, the others stay as they are."""
        templates = self.templates
        if isinstance(request, DraftCampaign):
            request = request.model_dump(exclude_unset=True)
        cmd = self.core.validated(RedraftCampaign, request)
        campaign = self.core.load(campaign_id, Campaign)
        if cmd.audience is not None and cmd.audience is not campaign.state.audience:
            raise InvalidInput("audience", "a campaign keeps its audience; draft a new one")
        changes = cmd.content_changes()
        if not changes and cmd.recipients is None and cmd.translations is None:
            raise InvalidInput(
                "content", "give at least one part of the content, translations or recipients"
            )
        given = cmd.model_dump(include=set(changes))
        translated = (
            None
            if cmd.translations is None
            else self._languages(campaign.state.audience, cmd.translations)
        )

        def redraft(c: Campaign, cause: Cause) -> None:
            recipients = (
                c.state.recipients if cmd.recipients is None else _recipients(cmd.recipients)
            )
            c.redraft(
                cause,
                template_version=templates.version(c.state.audience),
                content=NoticeContent.model_validate({**c.state.content.model_dump(), **given}),
                recipients=recipients,
                translations=None
                if translated is None
                else _merged(c.state.translations, translated),
            )

        return self.core.change(campaign_id, Campaign, ctx, redraft, logged="campaign.redrafted")

    def load_campaign(self, campaign_id: UUID) -> Campaign:
        """A campaign as it is now."""
        return self.core.load(campaign_id, Campaign)

    def incident_context(self, incident_id: UUID) -> dict[str, Any]:
        """What notices may say about the incident."""
        settings = self.notice_settings
        incident = self.core.load(incident_id, Incident)
        moments = incident.state.moments
        return {
            "reference": str(incident.id)[:8],
            "title": incident.state.title,
            "discovered": show_time(moments.discovered_at, settings.zone),
            "occurred": show_time(moments.occurred_at, settings.zone)
            if moments.occurred_at
            else "",
        }

    def render_for(
        self,
        campaign: Campaign,
        *,
        incident: Mapping[str, Any],
        person: PersonData | None = None,
        language: str = "en",
        recipient: OrganisationRecipient | None = None,
    ) -> tuple[Rendered, tuple[str, str]]:
        """Render a campaign's notice for one recipient; return it and (name, address)."""
        templates = self.templates
        if recipient is not None:
            who = {"name": recipient.name, "email": recipient.email, "attributes": {}}
            address = (recipient.name, recipient.email)
            language = recipient.language
        elif person is not None:
            who = {"name": person.name, "email": person.email, "attributes": person.attributes}
            address = (person.name, person.email)
        else:
            msg = "a notice needs a person or an organisation recipient"
            raise ValueError(msg)
        return templates.renderer(campaign.state, incident).render(language, who), address

    def approval_hash(self, campaign: Campaign) -> str:
        """What an approval of this campaign freezes."""
        templates = self.templates
        state = campaign.state
        recipients = [r.model_dump() for r in state.recipients]
        return templates.content_hash(state.audience, state.content, recipients, state.translations)

    def language_plan(self, campaign: Campaign) -> LanguagePlan:
        """The languages the campaign's recipients would get their notices in: which lack
        content (mixed notices) and how many recipients fall back to English."""
        state = campaign.state
        if state.audience is NoticeAudience.PEOPLE:
            counts = self.recipient_languages(state.incident_id)
        else:
            counts = organisation_languages(state)
        return language_plan(self.templates, state, counts)

    def preview_campaign(
        self,
        campaign_id: UUID,
        ctx: RequestContext,
        *,
        person_id: UUID | None = None,
        recipient_index: int | None = None,
        language: str | None = None,
    ) -> Rendered:
        """Render a sample for a chosen recipient and record that it was previewed."""
        templates = self.templates
        campaign = self.core.load(campaign_id, Campaign)
        incident = self.incident_context(campaign.state.incident_id)
        label = "sample"
        if person_id is not None:
            person = self.core.load(person_id, AffectedPerson)
            data = None if person.is_erased else self.vault.open(person.state.sealed)
            if data is None:
                raise RuleBroken("person", "the person's data was erased; choose another")
            rendered, _ = self.render_for(
                campaign, incident=incident, person=data, language=language or person.state.language
            )
            label = f"person:{person_id}"
        elif recipient_index is not None:
            recipients = campaign.state.recipients
            if not 0 <= recipient_index < len(recipients):
                raise InvalidInput("recipient", f"choose 0..{len(recipients) - 1}")
            rendered, _ = self.render_for(
                campaign, incident=incident, recipient=recipients[recipient_index]
            )
            label = f"recipient:{recipient_index}"
        else:
            rendered = templates.renderer(campaign.state, incident).render(
                language or CONTENT_LANGUAGE, SAMPLE_RECIPIENT
            )
        body_hash = hashlib.sha256((rendered.text + rendered.html).encode()).hexdigest()
        self.core.change(
            campaign_id,
            Campaign,
            ctx,
            lambda c, cause: c.preview(
                cause, recipient=label, language=rendered.language, body_hash=body_hash
            ),
            logged="campaign.previewed",
        )
        return rendered

    def approve_campaign(
        self, campaign_id: UUID, ctx: RequestContext, *, allow_mixed: bool = False
    ) -> Campaign:
        """Approve: only a DPO who did not draft it; freezes templates and content. A
        recipient who would get English words under another language's headings stops it
        unless ``allow_mixed`` (the DPO's explicit say, recorded with the languages)."""
        return self.core.change(
            campaign_id,
            Campaign,
            ctx,
            lambda c, cause: c.approve(
                cause,
                content_hash=self.approval_hash(c),
                is_dpo=self.approvers.is_dpo(ctx.actor),
                mixed=self.language_plan(c).lacking_content,
                allow_mixed=allow_mixed,
            ),
            logged="campaign.approved",
        )

    def start_dispatch(self, campaign_id: UUID, ctx: RequestContext) -> Campaign:
        """Start sending an approved campaign (its notices are queued by a policy)."""
        return self.core.change(
            campaign_id,
            Campaign,
            ctx,
            lambda c, cause: c.start_dispatch(
                cause,
                content_hash=self.approval_hash(c),
                mixed=self.language_plan(c).lacking_content,
            ),
            logged="campaign.dispatch_started",
        )

    def send_campaign(self, campaign_id: UUID, ctx: RequestContext) -> Campaign:
        """Send a campaign, the one rule every face follows: an approved campaign starts
        sending; one already sending is left as it is (sending continues); any other is
        refused, naming its status."""
        campaign = self.load_campaign(campaign_id)
        status = campaign.state.status
        if status is CampaignStatus.DISPATCHING:
            return campaign
        if status is not CampaignStatus.APPROVED:
            raise RuleBroken(
                "status", f"the campaign is {status.value}; approve (or resume) it first"
            )
        return self.start_dispatch(campaign_id, ctx)

    def pause_dispatch(self, campaign_id: UUID, reason: str, ctx: RequestContext) -> Campaign:
        """Pause sending."""
        reason = checked("reason", Line, reason)
        return self.core.change(
            campaign_id,
            Campaign,
            ctx,
            lambda c, cause: c.pause(cause, reason=reason),
            logged="campaign.paused",
        )

    def resume_dispatch(self, campaign_id: UUID, ctx: RequestContext) -> Campaign:
        """Resume sending."""
        return self.core.change(
            campaign_id, Campaign, ctx, lambda c, cause: c.resume(cause), logged="campaign.resumed"
        )

    def cancel_campaign(self, campaign_id: UUID, reason: str, ctx: RequestContext) -> Campaign:
        """Cancel a campaign."""
        reason = checked("reason", Line, reason)
        return self.core.change(
            campaign_id,
            Campaign,
            ctx,
            lambda c, cause: c.cancel(cause, reason=reason),
            logged="campaign.cancelled",
        )

    def resolve_uncertain(
        self, target: UUID, *, delivered: bool, reason: str, ctx: RequestContext
    ) -> Notice:
        """Settle a notice a crash left uncertain: confirmed delivered, or send it again."""
        reason = checked("reason", Line, reason)

        def settle(notice: Notice, cause: Cause) -> None:
            if notice.state.status is not NoticeStatus.UNCERTAIN:
                status = notice.state.status.value
                raise RuleBroken("status", f"the notice is {status}; only an uncertain one is")
            if delivered:
                notice.sent(cause, content_hash="", reply=f"confirmed by {ctx.actor}: {reason}")
            else:
                notice.requeue(cause, reason=reason)

        logged = "notice.confirmed" if delivered else "notice.requeued"
        return self.core.change(target, Notice, ctx, settle, logged=logged)

    def settle_uncertain(
        self,
        campaign_id: UUID,
        candidates: Sequence[UUID],
        *,
        found: Collection[str] | None,
        delivered: bool,
        reason: str,
        ctx: RequestContext,
    ) -> dict[str, int]:
        """Settle at once the notices of a campaign a crash left uncertain, among
        ``candidates``: with ``found`` (the Message-IDs the relay's logs show it accepted),
        those are confirmed delivered and the rest sent again; without, every one is
        confirmed or every one sent again, as ``delivered`` says. A candidate of another
        campaign, or no longer uncertain, is left as it is. A list of Message-IDs none of the
        uncertain notices carries is refused: it is the wrong list, and taking it would send
        every notice again. Saved 500 notices to a transaction; counts what was done."""
        reason = checked("reason", Line, reason)
        notices = [
            n
            for n in self.core.load_many(candidates).values()
            if isinstance(n, Notice)
            and n.state.campaign_id == campaign_id
            and n.state.status is NoticeStatus.UNCERTAIN
        ]
        if found is not None and notices and not any(n.state.message_id in found for n in notices):
            raise RuleBroken(
                "found",
                f"none of the {len(found)} Message-IDs given is one of the campaign's "
                f"{len(notices)} uncertain notices; check the list before anything is resent",
            )
        cause = self.core.cause(ctx)
        counts = {"confirmed": 0, "requeued": 0}
        for notice in notices:
            if found is not None:
                confirmed = notice.state.message_id in found
                why = f"{reason} (Message-ID {'found' if confirmed else 'not found'} at the relay)"
            else:
                confirmed, why = delivered, reason
            if confirmed:
                notice.sent(cause, content_hash="", reply=f"confirmed by {ctx.actor}: {why}")
                counts["confirmed"] += 1
            else:
                notice.requeue(cause, reason=why)
                counts["requeued"] += 1
        for start in range(0, len(notices), SETTLE_BATCH):
            try:
                self.core.save_aggregates(notices[start : start + SETTLE_BATCH])
            except IntegrityError:
                raise Conflict(
                    "notices",
                    "some notices changed while they were being settled; run it again (the "
                    "ones already settled are left as they are)",
                ) from None
        self.core.log_change("notices.settled", ctx, campaign_id=str(campaign_id), **counts)
        return counts
