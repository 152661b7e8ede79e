"""What every command shares: settings, the wired runtime, and who is acting."""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from services.application.context import RequestContext
from services.application.errors import InvalidInput
from services.bootstrap import Runtime, bootstrap
from services.config import Settings
from services.logging import configure_logging


@dataclass
class CliState:
    """Lazily builds settings and the runtime for one CLI invocation."""

    data_dir: Path | None = None
    actor: str | None = None
    verbose: bool = False
    _settings: Settings | None = field(default=None, repr=False)
    _runtime: Runtime | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        """Settings from the environment, with command-line overrides."""
        if self._settings is None:
            overrides: dict[str, Any] = {}
            if self.data_dir is not None:
                overrides["data_dir"] = self.data_dir
            if self.actor is not None:
                overrides["actor"] = self.actor
            if self.verbose:
                overrides["log_level"] = "info"
            try:
                self._settings = Settings(**overrides)
            except ValidationError as e:
                raise InvalidInput.from_validation(e, prefix="BREACH_") from None
            configure_logging(self._settings)
        return self._settings

    @property
    def runtime(self) -> Runtime:
        """The wired application on the configured store."""
        if self._runtime is None:
            self._runtime = bootstrap(self.settings)
        return self._runtime

    @property
    def zone(self) -> ZoneInfo:
        """Time zone for input without an offset and for display."""
        return self.settings.zone

    def now(self) -> datetime:
        """The application's clock."""
        return self.runtime.app.clock.now()

    def request(self) -> RequestContext:
        """The request context: the configured actor (or login name), a new correlation id."""
        actor = self.settings.actor or getpass.getuser()
        try:
            return RequestContext(actor=actor)
        except ValidationError as e:
            raise InvalidInput.from_validation(e, prefix="") from None

    def fresh_runtime(self) -> Runtime:
        """The runtime with every policy run and every view at the head of the log."""
        rt = self.runtime
        rt.settle()
        return rt

    def close(self) -> None:
        """Release the runtime's connections."""
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None
