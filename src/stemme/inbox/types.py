"""What a channel adapter hands to intake, and what intake answers (the channel contract)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One citizen message as a channel adapter parsed it (text not yet redacted)."""

    channel: str  # "messenger", "instagram", "webchat", "email", "webhook"
    thread_key: str  # identifies the conversation on the channel, e.g. "PAGEID:PSID"
    channel_message_id: str  # the channel's id of this message: duplicates are dropped
    text: str
    sent_at: datetime
    channel_district: str | None = None  # the district that owns the page/inbox, if any
    attachments: tuple[str, ...] = field(default=())  # attachment kinds/urls, never content


@dataclass(frozen=True, slots=True)
class ReceiveResult:
    message_id: int
    conversation_id: int
    duplicate: bool  # True: already stored earlier, nothing new was written
