"""The webhook bridge: other platforms (Discord, Snapchat, a gaming platform …) feed the inbox.

Framework-free; :mod:`stemme.channels.bridge_routes` puts it on HTTP. The protocol is
documented for platform developers in ``docs/bridge.md``.

Inbound (``BridgeWebhook``)
    ``POST /channels/bridge/{source}`` with ``X-Stemme-Timestamp: <unix seconds>`` and
    ``X-Stemme-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}." + body>`` keyed with
    ``bridge_secrets[source]``. A delivery is checked in this order: size (413), source name
    (404: not ``[a-z0-9_-]{1,32}``, a built-in channel's name, or not configured), timestamp
    (401: missing, or more than five minutes off), signature (401), JSON (400), fields (422,
    with every problem listed). A refused delivery stores nothing. The channel of the stored
    messages is the source name; the thread key is the platform's ``thread``; duplicates are
    dropped by (source, ``id``).

Outbound (``BridgeSender``)
    A reply is POSTed as JSON to ``bridge_callbacks[source]`` with the same two headers (the
    same secret), one attempt per call; the outbound queue retries timeouts, network errors,
    408, 425, 429 and 5xx. The platform should treat ``id`` as an idempotency key.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from stemme import geo
from stemme.channels.webhooks import (
    SIGNATURE_HEADER,
    InvalidSignatureError,
    MalformedPayloadError,
    sign,
    signature_valid,
    too_large,
)
from stemme.config import Settings
from stemme.errors import N_, NotFoundError, StemmeError
from stemme.inbox.outbound import Delivery, DeliveryResult
from stemme.inbox.types import InboundMessage

log = logging.getLogger("stemme.channels.bridge")

TIMESTAMP_HEADER = "X-Stemme-Timestamp"
MAX_BODY_BYTES = 256 * 1024
MAX_MESSAGES = 100
MAX_TEXT_LENGTH = 20_000
MAX_ID_LENGTH = 255
MAX_THREAD_LENGTH = 200
MAX_ATTACHMENTS = 20
TIMESTAMP_TOLERANCE_SECONDS = 300
SOURCE_PATTERN = re.compile(r"[a-z0-9_-]{1,32}")
# Names of channels stemme has itself: a bridge source may not pose as one of them.
RESERVED_SOURCES = frozenset({"email", "messenger", "instagram", "webchat"})
RETRYABLE_STATUSES = {408: "timeout", 425: "server_error", 429: "rate_limited"}

Deliver = Callable[[list[InboundMessage]], None]


# --- errors ---------------------------------------------------------------------------------


class UnknownSourceError(NotFoundError):
    title = N_("Ukjent kilde")


class InvalidMessagesError(StemmeError):
    """Fields that are missing or wrong; ``errors`` lists each as ``{"loc", "msg"}``."""

    status = 422
    title = N_("Ugyldige meldinger")

    def __init__(self, message: str, errors: list[dict[str, object]], **params: Any) -> None:
        super().__init__(message, **params)
        self.errors = errors


# --- signatures -----------------------------------------------------------------------------


def signed_bytes(timestamp: str, body: bytes) -> bytes:
    """What the signature covers: ``{timestamp}.{body}`` (the timestamp stops replays)."""
    return timestamp.encode() + b"." + body


def sign_delivery(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Stemme-Signature`` value for a body sent at ``timestamp`` (unix seconds)."""
    return sign(secret, signed_bytes(timestamp, body))


def source_known(settings: Settings, source: str) -> bool:
    return (
        SOURCE_PATTERN.fullmatch(source) is not None
        and source not in RESERVED_SOURCES
        and bool(settings.bridge_secrets.get(source))
    )


# --- inbound --------------------------------------------------------------------------------


class BridgeWebhook:
    """Checks and parses one delivery of a source and hands its messages to ``deliver``."""

    def __init__(
        self, settings: Settings, deliver: Deliver, now: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self.deliver = deliver
        self.now = now

    def handle(self, source: str, body: bytes, timestamp: str | None, signature: str | None) -> int:
        """Check, parse and deliver; the number of messages delivered (duplicates included).

        ``deliver`` is called once with all messages of the delivery (not at all for an empty
        list); its exceptions propagate, and the platform should send the delivery again.
        """
        if len(body) > MAX_BODY_BYTES:
            raise too_large(MAX_BODY_BYTES)
        if not source_known(self.settings, source):
            log.warning("bridge delivery refused: unknown source")
            raise UnknownSourceError(N_("Kilden %(source)s er ikke satt opp."), source=source[:40])
        self._check_timestamp(timestamp)
        assert timestamp is not None
        secret = self.settings.bridge_secrets[source]
        if not signature_valid(secret, signed_bytes(timestamp.strip(), body), signature):
            log.warning("bridge delivery refused: invalid signature", extra={"source": source})
            raise InvalidSignatureError(N_("Signaturen mangler eller er ugyldig."))
        messages = parse_delivery(source, body)
        if messages:
            self.deliver(messages)
        log.info("bridge delivery accepted", extra={"source": source, "messages": len(messages)})
        return len(messages)

    def _check_timestamp(self, timestamp: str | None) -> None:
        value = (timestamp or "").strip()
        if not value.isdigit() or len(value) > 12:
            raise InvalidSignatureError(
                N_("X-Stemme-Timestamp mangler eller er ikke et heltall (unix-sekunder).")
            )
        if abs(self.now() - int(value)) > TIMESTAMP_TOLERANCE_SECONDS:
            log.warning("bridge delivery refused: timestamp outside the window")
            raise InvalidSignatureError(
                N_("X-Stemme-Timestamp er mer enn %(minutes)s minutter fra vår klokke."),
                minutes=TIMESTAMP_TOLERANCE_SECONDS // 60,
            )


def parse_delivery(source: str, body: bytes) -> list[InboundMessage]:
    """``{"messages": [...]}`` as InboundMessages of channel ``source``; every fault listed."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedPayloadError(N_("Innholdet er ikke gyldig JSON.")) from exc
    if not isinstance(data, dict):
        raise MalformedPayloadError(N_("Innholdet må være et JSON-objekt."))
    items = data.get("messages")
    if not isinstance(items, list):
        raise InvalidMessagesError(
            N_("Feltet messages må være en liste."),
            [{"loc": ["messages"], "msg": "must be a list"}],
        )
    if len(items) > MAX_MESSAGES:
        raise InvalidMessagesError(
            N_("Høyst %(limit)s meldinger per forespørsel."),
            [{"loc": ["messages"], "msg": f"at most {MAX_MESSAGES} messages"}],
            limit=MAX_MESSAGES,
        )
    errors: list[dict[str, object]] = []
    messages: list[InboundMessage] = []
    for index, item in enumerate(items):
        parsed = _message(source, item, index, errors)
        if parsed is not None:
            messages.append(parsed)
    if errors:
        raise InvalidMessagesError(
            N_("%(count)s felt i meldingene mangler eller er ugyldige."), errors, count=len(errors)
        )
    return messages


def _message(
    source: str, item: object, index: int, errors: list[dict[str, object]]
) -> InboundMessage | None:
    def fault(field: str | None, msg: str) -> None:
        loc: list[object] = ["messages", index] + ([field] if field else [])
        errors.append({"loc": loc, "msg": msg})

    if not isinstance(item, dict):
        fault(None, "must be an object")
        return None
    before = len(errors)
    message_id = _string(item.get("id"), MAX_ID_LENGTH)
    if message_id is None:
        fault("id", f"required string of 1 to {MAX_ID_LENGTH} characters")
    thread = _string(item.get("thread"), MAX_THREAD_LENGTH)
    if thread is None:
        fault("thread", f"required string of 1 to {MAX_THREAD_LENGTH} characters")
    text = item.get("text", "")
    if not isinstance(text, str) or len(text) > MAX_TEXT_LENGTH:
        fault("text", f"string of at most {MAX_TEXT_LENGTH} characters")
        text = ""
    sent_at = _timestamp(item.get("sent_at"))
    if sent_at is None:
        fault("sent_at", "required ISO 8601 date and time with a UTC offset")
    district = item.get("district")
    if district is not None:
        try:
            district = geo.normalise_district(district) if isinstance(district, str) else None
        except StemmeError:
            district = None
        if district is None:
            fault("district", "null or the name of a Norwegian police district")
    attachments = _attachments(item.get("attachments"), fault)
    if not text.strip() and not attachments and len(errors) == before:
        fault("text", "text or attachments required")
    if len(errors) > before or message_id is None or thread is None or sent_at is None:
        return None
    return InboundMessage(
        channel=source,
        thread_key=thread,
        channel_message_id=message_id,
        text=text.replace("\x00", ""),
        sent_at=sent_at,
        channel_district=district if isinstance(district, str) else None,
        attachments=attachments,
    )


def _string(value: object, limit: int) -> str | None:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        return None
    if any(ord(c) < 32 for c in value):
        return None
    return value


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


def _attachments(value: object, fault: Callable[[str | None, str], None]) -> tuple[str, ...]:
    """``[{"type": "image", "url": "https://…"}]`` as ``type`` or ``type:url`` (never fetched)."""
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_ATTACHMENTS:
        fault("attachments", f"list of at most {MAX_ATTACHMENTS} objects")
        return ()
    found: list[str] = []
    for item in value:
        kind = item.get("type") if isinstance(item, dict) else None
        url = item.get("url") if isinstance(item, dict) else None
        if not isinstance(kind, str) or not re.fullmatch(r"[a-z0-9_/.+-]{1,64}", kind):
            fault("attachments", 'each needs "type", e.g. "image"')
            return ()
        if url is not None and not (
            isinstance(url, str) and len(url) <= 2000 and re.match(r"https?://\S+$", url)
        ):
            fault("attachments", '"url" must be an http(s) URL')
            return ()
        found.append(f"{kind}:{url}" if url else kind)
    return tuple(found)


# --- outbound -------------------------------------------------------------------------------


def reply_body(delivery: Delivery) -> bytes:
    payload = {
        "thread": delivery.thread_key,
        "reply_to": delivery.last_inbound_id,
        "id": delivery.message_uid,
        "text": delivery.text,
        "kind": delivery.kind,
        "lang": delivery.lang,
    }
    return json.dumps(payload, ensure_ascii=False).encode()


class BridgeSender:
    """Signed POSTs of replies to the source's callback URL; one attempt per call."""

    def __init__(
        self,
        settings: Settings,
        *,
        client: httpx.Client | None = None,
        timeout: float = 10.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.secrets: Mapping[str, str] = settings.bridge_secrets
        self.callbacks: Mapping[str, str] = settings.bridge_callbacks
        self._own_client = client is None
        self.client = client or httpx.Client(timeout=timeout, follow_redirects=False)
        self.timeout = timeout
        self.now = now

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def send(self, delivery: Delivery) -> DeliveryResult:
        source = delivery.channel
        url = self.callbacks.get(source)
        secret = self.secrets.get(source)
        if not url or not secret:
            return DeliveryResult(False, "no_sender")
        body = reply_body(delivery)
        timestamp = str(int(self.now()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign_delivery(secret, timestamp, body),
        }
        try:
            response = self.client.post(url, content=body, headers=headers, timeout=self.timeout)
        except httpx.TimeoutException:
            result = DeliveryResult(False, "timeout", retryable=True)
        except httpx.HTTPError:
            result = DeliveryResult(False, "network", retryable=True)
        else:
            result = _result_of(response, delivery.message_uid)
        log.info(
            "bridge send attempt",
            extra={"source": source, "ok": result.ok, "error": result.error},
        )
        return result


def _result_of(response: httpx.Response, message_uid: str) -> DeliveryResult:
    status = response.status_code
    if 200 <= status < 300:
        external_id = message_uid
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("id"), str) and data["id"]:
            external_id = data["id"][:255]
        return DeliveryResult(True, external_id=external_id)
    if status in RETRYABLE_STATUSES:
        return DeliveryResult(False, RETRYABLE_STATUSES[status], retryable=True)
    if status >= 500:
        return DeliveryResult(False, "server_error", retryable=True)
    return DeliveryResult(False, "rejected")


def valid_sources(settings: Settings) -> list[str]:
    """The configured sources that can answer (a name, a secret and a callback URL)."""
    found = []
    for source, url in settings.bridge_callbacks.items():
        if not source_known(settings, source):
            log.error("bridge callback ignored: source invalid, reserved or without secret")
            continue
        if not url.startswith(("http://", "https://")):
            log.error("bridge callback ignored: not an http(s) URL", extra={"source": source})
            continue
        found.append(source)
    return found
