"""What notifications need from the configuration, in one value."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from events.notifications import Contact


@dataclass(frozen=True)
class NoticeSettings:
    """Who writes, from which address, and who may approve."""

    organisation: str
    contact: Contact
    sender: tuple[str, str]
    message_id_domain: str
    zone: ZoneInfo
