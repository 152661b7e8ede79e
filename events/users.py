"""Users of the ledger and their roles, as facts: who was given which powers, when, by whom.

Credentials (password and token hashes) are secrets, not facts: they are kept in a separate
credential store, and the log records only that a password was set or a token issued, and
by whom. A user's email address is personal data the log (exported in audit bundles) must
not hold: it is kept sealed beside the log, and the log records only that an address was
set or removed, and by whom. The language a user reads alerts in is an ordinary fact.

A service account is a user for a tool, not a person: it has no password and signs in only
with tokens an admin issued to it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import BaseAggregate
from pydantic import BaseModel, ConfigDict

from events.base import AggregateCreated, Cause, DomainEvent
from events.errors import RuleViolation

USER_NAMESPACE = uuid5(NAMESPACE_URL, "https://breachledger.invalid/user")


LANGUAGES = ("en", "zh-CN")
"""The languages a user may read alerts in (the first is the default)."""


class Role(StrEnum):
    """What a user may do."""

    REPORTER = "reporter"
    RESPONDER = "responder"
    DPO = "dpo"
    AUDITOR = "auditor"
    ADMIN = "admin"


def user_id(username: str) -> UUID:
    """The id of a user: derived from the username, which is unique."""
    return uuid5(USER_NAMESPACE, username)


class UserState(BaseModel):
    """What the aggregate knows about a user."""

    model_config = ConfigDict(frozen=True)

    username: str
    roles: tuple[Role, ...]
    service: bool = False
    disabled: bool = False
    tokens: dict[str, str] = {}
    token_issuers: dict[str, str] = {}
    """Who issued each token (by token id): the owner, or an admin for a service account."""
    has_email: bool = False
    """Whether an email address is set (the address itself is sealed beside the log)."""
    language: str = LANGUAGES[0]
    """The language the user reads alerts in."""


class UserEvent(DomainEvent):
    """Base class of user events."""


class UserCreated(AggregateCreated):
    """A user was created with roles (``service``: an account for a tool)."""

    username: str
    roles: tuple[Role, ...]
    service: bool = False

    def apply(self, aggregate: User) -> None:
        """Start the user."""
        aggregate.state = UserState(username=self.username, roles=self.roles, service=self.service)


class RolesChanged(UserEvent):
    """The user's roles were replaced."""

    roles: tuple[Role, ...]

    def apply(self, aggregate: User) -> None:
        """Set the roles."""
        aggregate.state = aggregate.state.model_copy(update={"roles": self.roles})


class PasswordSet(UserEvent):
    """A new password was set (its hash is in the credential store, not here)."""

    def apply(self, aggregate: User) -> None:
        """Nothing to remember."""


class TokenIssued(UserEvent):
    """An API token was issued (shown once; only its hash is kept, elsewhere)."""

    token_id: str
    name: str

    def apply(self, aggregate: User) -> None:
        """Remember the token's name and who issued it."""
        state = aggregate.state
        aggregate.state = state.model_copy(
            update={
                "tokens": {**state.tokens, self.token_id: self.name},
                "token_issuers": {**state.token_issuers, self.token_id: self.actor},
            }
        )


class TokenRevoked(UserEvent):
    """An API token was revoked."""

    token_id: str

    def apply(self, aggregate: User) -> None:
        """Forget the token."""
        state = aggregate.state
        aggregate.state = state.model_copy(
            update={
                "tokens": {k: v for k, v in state.tokens.items() if k != self.token_id},
                "token_issuers": {
                    k: v for k, v in state.token_issuers.items() if k != self.token_id
                },
            }
        )


class UserDisabled(UserEvent):
    """The user can no longer sign in; their tokens are revoked (enabling them again does
    not bring the tokens back)."""

    reason: str

    def apply(self, aggregate: User) -> None:
        """Mark disabled and forget every token."""
        aggregate.state = aggregate.state.model_copy(
            update={"disabled": True, "tokens": {}, "token_issuers": {}}
        )


class UserEnabled(UserEvent):
    """A disabled user was enabled again."""

    def apply(self, aggregate: User) -> None:
        """Mark enabled."""
        aggregate.state = aggregate.state.model_copy(update={"disabled": False})


class EmailAddressSet(UserEvent):
    """An email address was set for the user (the address is sealed beside the log, never
    here)."""

    def apply(self, aggregate: User) -> None:
        """Remember that an address is set."""
        aggregate.state = aggregate.state.model_copy(update={"has_email": True})


class EmailAddressRemoved(UserEvent):
    """The user's email address was removed."""

    def apply(self, aggregate: User) -> None:
        """Remember that no address is set."""
        aggregate.state = aggregate.state.model_copy(update={"has_email": False})


class LanguageSet(UserEvent):
    """The language the user reads alerts in was set."""

    language: str

    def apply(self, aggregate: User) -> None:
        """Set the language."""
        aggregate.state = aggregate.state.model_copy(update={"language": self.language})


class User(BaseAggregate[UUID]):
    """A person who uses the ledger."""

    LOG_KEY = "user_id"
    STATE = UserState

    if TYPE_CHECKING:
        state: UserState

    @classmethod
    def create(
        cls, cause: Cause, *, username: str, roles: tuple[Role, ...], service: bool = False
    ) -> User:
        """Create a user (at least one role)."""
        if not roles:
            raise RuleViolation("roles", "give at least one role")
        return cls._create(
            UserCreated,
            id=user_id(username),
            username=username,
            roles=roles,
            service=service,
            **cause.stamp(),
        )

    def _active(self) -> None:
        if self.state.disabled:
            raise RuleViolation("user", "the user is disabled")

    def set_roles(self, cause: Cause, *, roles: tuple[Role, ...]) -> None:
        """Replace the roles."""
        if not roles:
            raise RuleViolation("roles", "give at least one role")
        if set(roles) == set(self.state.roles):
            raise RuleViolation("roles", "changes nothing")
        self.trigger_event(RolesChanged, roles=roles, **cause.stamp())

    def password_set(self, cause: Cause) -> None:
        """Record that a password was set."""
        self.trigger_event(PasswordSet, **cause.stamp())

    def issue_token(self, cause: Cause, *, token_id: str, name: str) -> None:
        """Record a new API token."""
        self._active()
        if not name.strip():
            raise RuleViolation("name", "must not be empty")
        self.trigger_event(TokenIssued, token_id=token_id, name=name.strip(), **cause.stamp())

    def revoke_token(self, cause: Cause, *, token_id: str) -> None:
        """Revoke a token."""
        if token_id not in self.state.tokens:
            raise RuleViolation("token", "no such token")
        self.trigger_event(TokenRevoked, token_id=token_id, **cause.stamp())

    def disable(self, cause: Cause, *, reason: str) -> None:
        """Disable the user."""
        self._active()
        if not reason.strip():
            raise RuleViolation("reason", "must not be empty")
        self.trigger_event(UserDisabled, reason=reason.strip(), **cause.stamp())

    def enable(self, cause: Cause) -> None:
        """Enable the user again."""
        if not self.state.disabled:
            raise RuleViolation("user", "the user is not disabled")
        self.trigger_event(UserEnabled, **cause.stamp())

    def email_set(self, cause: Cause) -> None:
        """Record that an email address was set (a new one, or another one)."""
        self.trigger_event(EmailAddressSet, **cause.stamp())

    def email_removed(self, cause: Cause) -> None:
        """Record that the email address was removed."""
        if not self.state.has_email:
            raise RuleViolation("email", "changes nothing: no address is set")
        self.trigger_event(EmailAddressRemoved, **cause.stamp())

    def set_language(self, cause: Cause, *, language: str) -> None:
        """Set the language the user reads alerts in."""
        if language not in LANGUAGES:
            raise RuleViolation("language", f"must be one of {', '.join(LANGUAGES)}")
        if language == self.state.language:
            raise RuleViolation("language", "changes nothing")
        self.trigger_event(LanguageSet, language=language, **cause.stamp())

    def has(self, role: Role) -> bool:
        """Whether the user (enabled) holds a role."""
        return not self.state.disabled and role in self.state.roles

    def token_is_genuine(self, token_id: str) -> bool:
        """Whether a live token of this user was issued to them in a way that lets it speak
        for them: by the user themselves, or by an admin when the user is a service account
        (a token someone else issued to a person would let the issuer act in their name)."""
        if token_id not in self.state.tokens:
            return False
        issuer = self.state.token_issuers.get(token_id)
        return issuer == self.state.username or self.state.service
