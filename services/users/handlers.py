"""The user commands of the application, and authentication against the credential store."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from pydantic import Field, TypeAdapter, ValidationError

from events.base import Cause
from events.users import Role, User, user_id
from services.access import actors
from services.access.permissions import holds_personal_data_rights
from services.application.base import LedgerApplication
from services.application.context import ActorName, RequestContext
from services.application.errors import InvalidInput, NotFound, NotPermitted, RuleBroken
from services.application.fields import Line, Title, checked
from services.users.addresses import AddressBook
from services.users.commands import SetContact
from services.users.credentials import CredentialStore

_NAME = TypeAdapter(ActorName)
_NEW_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
USERNAME_RULE = (
    "letters, digits and . _ - (starting with a letter or digit), at most 64 characters; "
    "dispatcher, system and names with ':' or starting with 'policy.' are the system's own"
)
TokenName = Annotated[Title, Field(max_length=80)]
"""What an API token is for: one line of at most 80 characters."""


@dataclass(frozen=True)
class Identity:
    """An authenticated user and their roles."""

    username: str
    roles: frozenset[Role]

    def has(self, *roles: Role) -> bool:
        """Whether the user holds any of ``roles``."""
        return bool(self.roles & set(roles))


def _roles(values: Iterable[str | Role]) -> tuple[Role, ...]:
    out = []
    for position, value in enumerate(values, start=1):
        try:
            out.append(Role(value))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise InvalidInput("roles", f"item {position} is not one of {known}") from None
    return tuple(dict.fromkeys(out))


def _username(value: str) -> str:
    """A name to look a user up by (also one an older version allowed)."""
    try:
        return str(_NAME.validate_python(value))
    except ValidationError:
        raise InvalidInput("username", USERNAME_RULE) from None


def new_username(value: str) -> str:
    """A name a new user may take: not one of the system's own (see services.access.actors)."""
    name = value.strip()
    if not _NEW_USERNAME.match(name) or actors.is_reserved(name):
        raise InvalidInput("username", USERNAME_RULE)
    return name


class UserHandlers:
    """Users, their roles, passwords and tokens."""

    def __init__(
        self, core: LedgerApplication, credentials: CredentialStore, addresses: AddressBook
    ) -> None:
        self.core = core
        self.credentials = credentials
        """Password hashes, tokens, sessions and the sign-in throttle."""
        self.addresses = addresses
        """The users' sealed email addresses."""

    def get_user(self, username: str) -> User:
        """A user by name."""
        try:
            return self.core.load(user_id(_username(username)), User)
        except NotFound:
            raise NotFound("username", "no such user") from None

    def list_users(self) -> list[User]:
        """Every user, in name order."""
        ids = [user_id(name) for name in self.credentials.usernames()]
        found = self.core.load_many(ids) if ids else {}
        return [found[i] for i in ids if i in found]

    def add_user(
        self,
        username: str,
        roles: Iterable[str | Role],
        ctx: RequestContext,
        *,
        service: bool = False,
    ) -> tuple[User, str | None]:
        """Create a user; return it and a one-time password to hand over (None for a
        service account, which signs in only with tokens an admin issues to it)."""
        name = new_username(username)
        wanted = _roles(roles)
        if service:
            self._service_roles(wanted)
        if self.core.existing_ids([user_id(name)]):
            raise InvalidInput("username", "is taken by another user")
        try:
            user = self.core.create(
                lambda cause: User.create(cause, username=name, roles=wanted, service=service),
                ctx,
                logged="user.created",
                roles=[r.value for r in wanted],
                service=service,
            )
        except IntegrityError:
            raise InvalidInput("username", "is taken by another user") from None
        if service:
            self.credentials.set_no_password(name)
            return user, None
        password = secrets.token_urlsafe(12)
        self.credentials.set_password(name, password, one_time=True)
        self.core.change(
            user.id, User, ctx, lambda u, cause: u.password_set(cause), logged="user.password_set"
        )
        return self.get_user(name), password

    def set_roles(self, username: str, roles: Iterable[str | Role], ctx: RequestContext) -> User:
        """Replace a user's roles."""
        wanted = _roles(roles)
        user = self.get_user(username)
        if user.state.service:
            self._service_roles(wanted)
        if Role.ADMIN not in wanted:
            self._keep_an_admin(user, "roles")
        return self.core.change(
            user.id,
            User,
            ctx,
            lambda u, cause: u.set_roles(cause, roles=wanted),
            logged="user.roles_changed",
        )

    @staticmethod
    def _service_roles(roles: tuple[Role, ...]) -> None:
        """Refuse roles that open people's data to a service account."""
        if holds_personal_data_rights(roles):
            raise RuleBroken(
                "roles",
                "a service account may not hold a role that opens, corrects or erases "
                "people's data (dpo)",
            )

    def _keep_an_admin(self, leaving: User, field: str) -> None:
        """Refuse a change that would leave no enabled admin (nobody could manage users)."""
        if Role.ADMIN not in leaving.state.roles or leaving.state.disabled:
            return
        others = [
            u
            for u in self.list_users()
            if u.id != leaving.id and Role.ADMIN in u.state.roles and not u.state.disabled
        ]
        if not others:
            raise RuleBroken(field, "the user is the last enabled admin")

    def set_password(
        self, username: str, password: str, ctx: RequestContext, *, one_time: bool = False
    ) -> User:
        """Set a user's password (at least 12 characters); a ``one_time`` one (set by an
        admin) ends the user's sessions and must be changed at the next sign-in."""
        if len(password) < 12:
            raise InvalidInput("password", "must be at least 12 characters")
        user = self.get_user(username)
        if user.state.service:
            raise RuleBroken("username", "a service account has no password; issue it a token")
        self.credentials.set_password(user.state.username, password, one_time=one_time)
        if one_time:
            self.credentials.end_sessions_of(user.state.username)
        return self.core.change(
            user.id, User, ctx, lambda u, cause: u.password_set(cause), logged="user.password_set"
        )

    def issue_token(self, username: str, name: str, ctx: RequestContext) -> tuple[User, str]:
        """Issue an API token; it is returned once and kept only as a hash.

        A token speaks for its owner, so it is issued only to the one asking for it, except
        that an enabled admin may issue tokens to a service account (a tool's account, which
        holds no rights over people's data). Nobody can obtain a token that acts in another
        person's name."""
        name = checked("name", TokenName, name)
        user = self.get_user(username)
        if user.state.username != ctx.actor and not (
            user.state.service and self._is_admin(ctx.actor)
        ):
            raise NotPermitted(
                "username",
                "tokens are issued only to their owner (admins may issue them to service accounts)",
            )
        if user.state.disabled:
            raise InvalidInput("username", "the user is disabled")
        token_id, token = self.credentials.issue_token(user.state.username)
        try:
            updated = self.core.change(
                user.id,
                User,
                ctx,
                lambda u, cause: u.issue_token(cause, token_id=token_id, name=name),
                logged="user.token_issued",
            )
        except Exception:
            self.credentials.revoke_token(token_id)
            raise
        return updated, token

    def revoke_token(self, username: str, token_id: str, ctx: RequestContext) -> User:
        """Revoke one of the user's API tokens (another user's token is not theirs to lose):
        the owner may revoke their own, an admin anyone's."""
        user = self.get_user(username)
        if user.state.username != ctx.actor and not self._is_admin(ctx.actor):
            raise NotPermitted("username", "only the owner or an admin may revoke a token")
        if token_id not in user.state.tokens:
            raise NotFound("token_id", "the user has no such token")
        updated = self.core.change(
            user.id,
            User,
            ctx,
            lambda u, cause: u.revoke_token(cause, token_id=token_id),
            logged="user.token_revoked",
        )
        self.credentials.revoke_token(token_id)
        return updated

    def disable_user(self, username: str, reason: str, ctx: RequestContext) -> User:
        """Disable a user: their sessions end and their tokens are revoked."""
        reason = checked("reason", Line, reason)
        user = self.get_user(username)
        self._keep_an_admin(user, "username")
        updated = self.core.change(
            user.id,
            User,
            ctx,
            lambda u, cause: u.disable(cause, reason=reason),
            logged="user.disabled",
        )
        self.credentials.end_sessions_of(user.state.username)
        for token_id in user.state.tokens:
            self.credentials.revoke_token(token_id)
        return updated

    def enable_user(self, username: str, ctx: RequestContext) -> User:
        """Enable a disabled user."""
        user = self.get_user(username)
        return self.core.change(
            user.id, User, ctx, lambda u, cause: u.enable(cause), logged="user.enabled"
        )

    def may_manage_contact(self, username: str, actor: str) -> bool:
        """Whether ``actor`` may see and change ``username``'s email address and language:
        the user themselves, or an admin."""
        return username == actor or self._is_admin(actor)

    def email_of(self, user: User) -> str | None:
        """A user's email address (None: none set); for the user themselves and admins
        (see :meth:`may_manage_contact`), never for logs."""
        if not user.state.has_email:
            return None
        return self.addresses.address(user.id)

    def set_contact(
        self, username: str, request: SetContact | Mapping[str, Any], ctx: RequestContext
    ) -> User:
        """Set or remove a user's email address and set their language: by the user
        themselves or an admin. A field left out is unchanged; a request changing nothing
        is refused. The address is sealed beside the log; the log records only that it was
        set or removed, by whom."""
        user = self.get_user(username)
        name = user.state.username
        if not self.may_manage_contact(name, ctx.actor):
            raise NotPermitted(
                "username", "only the user themselves or an admin may change their contact"
            )
        cmd = self.core.validated(SetContact, request)
        old = self.email_of(user)
        new = cmd.email if cmd.changes_email else old
        email_changed = new != old
        language_changed = cmd.changes_language and cmd.language != user.state.language
        if not email_changed and not language_changed:
            raise RuleBroken("email" if cmd.changes_email else "language", "changes nothing")

        def change(u: User, cause: Cause) -> None:
            if email_changed and new is not None:
                u.email_set(cause)
            elif email_changed:
                u.email_removed(cause)
            if language_changed:
                u.set_language(cause, language=cmd.language)

        if email_changed:
            self._keep_address(user.id, new)
        try:
            return self.core.change(
                user.id,
                User,
                ctx,
                change,
                logged="user.contact_changed",
                email=("set" if new is not None else "removed") if email_changed else None,
                language=cmd.language if language_changed else None,
            )
        except Exception:
            if email_changed:
                self._keep_address(user.id, old)
            raise

    def _keep_address(self, user: UUID, address: str | None) -> None:
        if address is None:
            self.addresses.remove(user)
        else:
            self.addresses.put(user, address)

    def identity(self, username: str, token_id: str | None = None) -> Identity | None:
        """The identity of an enabled user (holding the genuine token ``token_id``, when
        given). A name in the system's namespaces (an account an older version let someone
        create) never has one."""
        if actors.is_reserved(username):
            return None
        try:
            # Only read: the repository's cached user itself, no copy.
            user = self.core.load(user_id(_username(username)), User, reading=True)
        except (NotFound, InvalidInput):
            return None
        if user.state.disabled or (token_id is not None and not user.token_is_genuine(token_id)):
            return None
        return Identity(user.state.username, frozenset(user.state.roles))

    def _is_admin(self, actor: str) -> bool:
        identity = self.identity(actor)
        return identity is not None and identity.has(Role.ADMIN)

    def login(self, username: str, password: str, client: str = "local") -> Identity | None:
        """The identity for a username and password tried from ``client`` (an address; the
        default stands for this machine), or None. The attempt is throttled
        (:class:`~services.application.errors.TryLater`) and its check bounded
        (:class:`~services.application.errors.Unavailable`) by the credential store."""
        now = self.core.clock.now().timestamp()
        if not self.credentials.attempt(username, password, client=client, now=now):
            return None
        return self.identity(username)

    def identity_for_token(self, token: str) -> Identity | None:
        """The identity behind an API token, or None (revoked, unknown, disabled)."""
        found = self.credentials.check_token(token)
        if found is None:
            return None
        username, token_id = found
        return self.identity(username, token_id)

    def is_dpo(self, actor: str) -> bool:
        """Whether an actor may approve notices: an enabled user in the DPO role."""
        identity = self.identity(actor)
        return identity is not None and identity.has(Role.DPO)
