"""Webhook deliveries shaped like Meta's documentation (Messenger Platform webhook events)."""

from __future__ import annotations

import json
from typing import Any

from stemme.channels.meta import sign
from tests.channels.conftest import APP_SECRET, IG_ACCOUNT_ID, PAGE_ID

PSID = "6784512390876543"
IGSID = "5531234567890123"
TS = 1764070000123  # 2025-11-25T11:26:40.123Z


def delivery(obj: str, *entries: dict[str, Any]) -> dict[str, Any]:
    return {"object": obj, "entry": list(entries)}


def entry(page: str, *events: dict[str, Any], time: int = TS + 50) -> dict[str, Any]:
    return {"id": page, "time": time, "messaging": list(events)}


def event(sender: str, recipient: str, ts: int = TS, **body: Any) -> dict[str, Any]:
    return {"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": ts, **body}


def text(mid: str, words: str, sender: str = PSID, page: str = PAGE_ID, ts: int = TS) -> Any:
    return event(sender, page, ts, message={"mid": mid, "text": words})


def messenger(*events: dict[str, Any]) -> dict[str, Any]:
    return delivery("page", entry(PAGE_ID, *events))


def instagram(*events: dict[str, Any]) -> dict[str, Any]:
    return delivery("instagram", entry(IG_ACCOUNT_ID, *events))


MESSENGER_TEXT = messenger(
    text(
        "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC",
        "Hei! Det er mye råkjøring i Storgata om kvelden.",
    )
)

INSTAGRAM_TEXT = instagram(
    text(
        "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMTIzNDU2Nzg5",
        "Hvem kan jeg snakke med om nabolaget?",
        sender=IGSID,
        page=IG_ACCOUNT_ID,
    )
)

IMAGE_URL = "https://scontent.xx.fbcdn.net/v/t1.15752-9/123_n.jpg?_nc_cat=1&oh=abc&oe=def"
AUDIO_URL = "https://cdn.fbsbx.com/v/t59.3654-21/456_n.mp4/audioclip-1764070000.mp4?oh=ghi"
FILE_URL = "https://cdn.fbsbx.com/v/t59.2708-21/789_n.pdf/skjema.pdf?oh=jkl"
SHARE_URL = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1790&signature=xyz"

ATTACHMENTS = messenger(
    event(
        PSID,
        PAGE_ID,
        message={
            "mid": "m_attach_1",
            "attachments": [
                {"type": "image", "payload": {"url": IMAGE_URL}},
                {"type": "audio", "payload": {"url": AUDIO_URL}},
                {"type": "file", "payload": {"url": FILE_URL}},
                {"type": "image", "payload": {"url": IMAGE_URL, "sticker_id": 369239263222822}},
                {"type": "location", "payload": {"coordinates": {"lat": 59.9, "long": 10.7}}},
            ],
        },
    )
)

INSTAGRAM_SHARE = instagram(
    event(
        IGSID,
        IG_ACCOUNT_ID,
        message={
            "mid": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA-share",
            "attachments": [{"type": "share", "payload": {"url": SHARE_URL}}],
        },
    )
)

POSTBACK = messenger(
    event(
        PSID,
        PAGE_ID,
        postback={"mid": "m_postback_1", "title": "Kontakt politiet", "payload": "CONTACT_US"},
    )
)

POSTBACK_WITHOUT_MID = messenger(
    event(PSID, PAGE_ID, postback={"title": "Kom i gang", "payload": "GET_STARTED"})
)

QUICK_REPLY = messenger(
    event(
        PSID,
        PAGE_ID,
        message={"mid": "m_qr_1", "text": "Ja", "quick_reply": {"payload": "FEEDBACK_YES"}},
    )
)

ECHO = messenger(
    event(
        PAGE_ID,
        PSID,
        message={
            "mid": "m_echo_1",
            "is_echo": True,
            "app_id": 1517776481860111,
            "metadata": "stemme",
            "text": "Takk for meldingen, vi ser på saken.",
        },
    )
)

RECEIPTS = messenger(
    event(PSID, PAGE_ID, delivery={"mids": ["m_echo_1"], "watermark": TS - 10}),
    event(PSID, PAGE_ID, read={"watermark": TS - 5}),
    event(PSID, PAGE_ID, reaction={"mid": "m_echo_1", "action": "react", "reaction": "love"}),
)

MULTIPLE = delivery(
    "page",
    entry(
        PAGE_ID,
        text("m_multi_1", "Første melding"),
        event(PSID, PAGE_ID, read={"watermark": TS}),
        text("m_multi_2", "Andre melding", sender="7000000000000001", ts=TS + 1000),
    ),
    entry(PAGE_ID, text("m_multi_3", "Tredje melding", ts=TS + 2000)),
)


def encode(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def signed_headers(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Hub-Signature-256": sign(secret, body)}
