"""What every command shares: settings, the wired runtime, and who is acting.

The CLI proves who is acting the way the API does: with an API token (``BREACH_TOKEN``, or
the token file ``breach login`` writes). Each command declares what it needs
(:mod:`services.cli.guard`): a permission of :mod:`services.access.permissions`, checked
against the token's user, or nothing at all for operator commands, which are recorded under
the operating-system user.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from services.access import actors
from services.access.permissions import Permission, permissions_of
from services.application.context import RequestContext
from services.application.errors import CannotStart, InvalidInput, NotPermitted
from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from services.logging import configure_logging
from services.storage.errors import DatabaseUnavailable
from services.users.handlers import Identity


def default_token_file() -> Path:
    """Where ``breach login`` keeps the token when BREACH_TOKEN_FILE is not set."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "breachledger" / "token"


@dataclass
class CliState:
    """Lazily builds settings and the runtime for one CLI invocation, and holds the caller
    once the command's guard has checked them."""

    data_dir: Path | None = None
    token_file: Path | None = None
    verbose: bool = False
    caller: Identity | None = None
    """The user the token proves (None for an operator command run without one)."""
    checked: bool = False
    """Whether the command's guard ran (a command without one records nothing)."""
    _settings: Settings | None = field(default=None, repr=False)
    _runtime: Runtime | None = field(default=None, repr=False)
    _current: bool = field(default=False, repr=False)

    @property
    def settings(self) -> Settings:
        """Settings from the environment, with command-line overrides."""
        if self._settings is None:
            overrides: dict[str, Any] = {}
            if self.data_dir is not None:
                overrides["data_dir"] = self.data_dir
            if self.token_file is not None:
                overrides["token_file"] = self.token_file
            if self.verbose:
                overrides["log_level"] = "info"
            try:
                self._settings = Settings(**overrides)
            except ValidationError as e:
                found = InvalidInput.from_validation(e)
                raise InvalidInput(f"BREACH_{found.field.upper()}", found.reason) from None
            configure_logging(self._settings)
        return self._settings

    @property
    def runtime(self) -> Runtime:
        """The wired application on the configured store, with everything recorded before
        this command visible: a one-shot command reads what every process recorded, so the
        runtime is brought to the head of the log once, when first asked for."""
        rt = self.service_runtime
        if not self._current:
            rt.gateway.current()
            self._current = True
        return rt

    @property
    def service_runtime(self) -> Runtime:
        """The wired application as the store has it, without catching up: for the
        commands that keep it current themselves (``serve``, ``worker``), rebuild views,
        or only check who is calling."""
        if self._runtime is None:
            try:
                self._runtime = bootstrap(self.settings)
            except DatabaseUnavailable as e:
                raise CannotStart("database", str(e).splitlines()[0]) from None
        return self._runtime

    @property
    def zone(self) -> ZoneInfo:
        """Time zone for input without an offset and for display."""
        return self.settings.zone

    def now(self) -> datetime:
        """The application's clock."""
        return self.runtime.app.core.clock.now()

    @property
    def token_path(self) -> Path:
        """The token file in use (configured, or the default)."""
        return self.settings.token_file or default_token_file()

    def presented_token(self) -> str | None:
        """The token the caller presents: BREACH_TOKEN, else the token file's (None when
        neither exists). A token file others may read is refused, as ssh refuses keys."""
        if self.settings.token is not None:
            return self.settings.token.get_secret_value().strip() or None
        path = self.token_path
        try:
            info = path.stat()
        except FileNotFoundError:
            return None
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise NotPermitted(
                "token file",
                f"{path} may be read by others: chmod 600 it, or sign in again",
            )
        return path.read_text(encoding="utf-8").strip() or None

    def authorise(self, needed: Sequence[Permission] | None) -> None:
        """Check the caller for a command needing one of ``needed`` (None: an operator
        command, open to whoever runs it on this machine)."""
        self.checked = True
        if needed is None:
            return
        token = self.presented_token()
        if token is None:
            raise NotPermitted(
                "identity",
                "prove who you are: sign in with `breach login USERNAME` (or set BREACH_TOKEN "
                "to an API token of yours)",
            )
        identity = self.service_runtime.app.users.identity_for_token(token)
        if identity is None:
            raise NotPermitted(
                "token", "the token is unknown, revoked, or its user is disabled; sign in again"
            )
        granted = permissions_of(identity.roles)
        if not any(p in granted for p in needed):
            wanted = " or ".join(p.value for p in needed)
            raise NotPermitted("role", f"{identity.username} may not do {wanted}")
        self.caller = identity

    @property
    def permissions(self) -> frozenset[Permission]:
        """What the caller may do (nothing for an operator command without a token)."""
        return frozenset() if self.caller is None else permissions_of(self.caller.roles)

    def request(self) -> RequestContext:
        """The request context: the proven user (or, for an operator command, the
        operating-system user), a new correlation id."""
        if not self.checked:
            msg = "a command recorded a change without declaring what it needs"
            raise RuntimeError(msg)
        actor = self.caller.username if self.caller else actors.operating_system_user()
        try:
            return RequestContext(actor=actor)
        except ValidationError as e:
            raise InvalidInput.from_validation(e, prefix="") from None

    def close(self) -> None:
        """Release the runtime's connections."""
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None
