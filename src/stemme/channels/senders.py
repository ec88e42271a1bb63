"""The outbound side of every channel: one ``Sender`` per channel name, built from settings.

The delivery queue (``stemme.inbox.outbound``) retries; senders make one attempt each.
"""

from __future__ import annotations

from stemme.channels.meta import MetaSender
from stemme.channels.pages import PageSource
from stemme.config import Settings
from stemme.inbox.outbound import Delivery, DeliveryResult, Sender


class MetaChannelSender:
    """Messenger and Instagram replies through the Send API (thread key ``PAGE:PSID``)."""

    def __init__(self, settings: Settings, pages: PageSource | None = None) -> None:
        self.sender = MetaSender(settings, max_attempts=1, pages=pages)

    def send(self, delivery: Delivery) -> DeliveryResult:
        page_id, _, psid = delivery.thread_key.partition(":")
        if not psid or delivery.last_inbound_at is None:
            return DeliveryResult(False, "no_address")
        result = self.sender.send_text(page_id, psid, delivery.text, delivery.last_inbound_at)
        return DeliveryResult(result.ok, result.error, result.retryable, result.message_id)

    def close(self) -> None:
        self.sender.close()


class StoredSender:
    """Channels where the citizen fetches replies from us (web chat): stored is delivered."""

    def send(self, delivery: Delivery) -> DeliveryResult:
        return DeliveryResult(True, external_id=delivery.message_uid)


def build_senders(settings: Settings, pages: PageSource | None = None) -> dict[str, Sender]:
    """The sender of every channel that can answer with these settings (and ``pages``,
    the Meta pages of the admin UI)."""
    meta = MetaChannelSender(settings, pages)
    senders: dict[str, Sender] = {"messenger": meta, "instagram": meta, "webchat": StoredSender()}
    if settings.smtp_url and settings.email_address:
        from stemme.channels.email import EmailSender

        senders["email"] = EmailSender(settings)
    from stemme.channels.bridge import BridgeSender, valid_sources

    bridge = BridgeSender(settings)
    senders.update(dict.fromkeys(valid_sources(settings), bridge))
    return senders
