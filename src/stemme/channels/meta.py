"""Facebook Messenger and Instagram: webhook verification and parsing, and the Send API client.

Framework-free; :mod:`stemme.channels.meta_routes` puts the webhook on HTTP.

Webhook (``MetaWebhook``)
    Meta signs each delivery with ``X-Hub-Signature-256: sha256=<hex>``, the HMAC-SHA256 of the
    raw body keyed with the app secret. A delivery is checked in this order: size (413), signature
    (401), JSON and shape (400), ``object`` is ``page`` or ``instagram`` (400), every entry belongs
    to a configured page or Instagram account (403). A refused delivery delivers nothing: Meta
    retries it for a while, and an unknown page is a configuration error we want to see, not
    messages we silently drop. Only ``message`` and ``postback`` events become
    :class:`InboundMessage`; echoes of our own replies, read and delivery receipts, reactions,
    deletions and other events are ignored.

    ``settings.meta_page_tokens`` maps the id Meta puts in ``entry[].id`` to a page access token:
    the page id for Messenger, the Instagram professional account id for Instagram (with the token
    of the Facebook page the account is linked to).

Send API (``MetaSender``)
    ``send_text`` answers a citizen inside Meta's 24-hour standard messaging window. It never
    raises for delivery problems: the caller stores the reply first and records the returned
    :class:`SendResult`. Neither message text nor tokens are ever logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from stemme.channels.webhooks import (
    InvalidSignatureError,
    MalformedPayloadError,
    PayloadTooLargeError,
    too_large,
)
from stemme.config import Settings
from stemme.errors import N_, PermissionDeniedError
from stemme.inbox.types import InboundMessage

if TYPE_CHECKING:
    from stemme.channels.pages import PageSource

# the shared webhook errors, raised here too
__all__ = ["InvalidSignatureError", "MalformedPayloadError", "PayloadTooLargeError"]

log = logging.getLogger("stemme.channels.meta")

MAX_BODY_BYTES = 256 * 1024
SIGNATURE_HEADER = "X-Hub-Signature-256"
CHANNEL_BY_OBJECT = {"page": "messenger", "instagram": "instagram"}
MESSAGING_WINDOW = timedelta(hours=24)

Deliver = Callable[[list[InboundMessage]], None]


# --- errors ---------------------------------------------------------------------------------


class UnknownPageError(PermissionDeniedError):
    title = N_("Ukjent side")


class VerificationRefusedError(PermissionDeniedError):
    title = N_("Verifisering avvist")


# --- webhook --------------------------------------------------------------------------------


def sign(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends for ``body`` (also used by tests)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    """Constant-time check of the signature header; an empty secret never validates."""
    if not secret or not header:
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode())


def verify_subscription(
    settings: Settings, mode: str | None, token: str | None, challenge: str | None
) -> str:
    """Meta's subscription handshake: the challenge to echo, or VerificationRefusedError."""
    expected = settings.meta_verify_token
    ok = bool(expected) and mode == "subscribe" and token is not None
    if not (ok and hmac.compare_digest(expected.encode(), (token or "").encode())):
        log.warning("meta webhook verification refused")
        raise VerificationRefusedError("Verifiseringen av webhooken ble avvist.")
    if not challenge:
        raise MalformedPayloadError("hub.challenge mangler.")
    return challenge


class MetaWebhook:
    """Checks and parses one webhook delivery and hands its messages to ``deliver``."""

    def __init__(
        self, settings: Settings, deliver: Deliver, pages: PageSource | None = None
    ) -> None:
        self.settings = settings
        self.deliver = deliver
        self.pages = pages

    def handle(self, body: bytes, signature: str | None) -> int:
        """Check, parse and deliver one delivery; returns how many messages were delivered.

        ``deliver`` is called once with every message of the delivery, and not at all when
        there is none (only receipts or echoes). Its exceptions propagate: the adapter answers
        500 and Meta delivers again (intake drops duplicates by ``channel_message_id``).
        """
        if len(body) > MAX_BODY_BYTES:
            raise too_large(MAX_BODY_BYTES)
        if not self.settings.meta_app_secret:
            log.error("meta webhook refused: STEMME_META_APP_SECRET is not set")
        if not signature_valid(self.settings.meta_app_secret, body, signature):
            log.warning("meta webhook refused: invalid or missing signature")
            raise InvalidSignatureError("Signaturen mangler eller er ugyldig.")
        pages = self.pages() if self.pages else None
        messages = parse_delivery(
            body,
            pages.tokens if pages else self.settings.meta_page_tokens,
            pages.districts if pages else self.settings.meta_page_districts,
        )
        if messages:
            self.deliver(messages)
        log.info("meta webhook delivery accepted", extra={"messages": len(messages)})
        return len(messages)


def parse_delivery(
    body: bytes, pages: Mapping[str, str], districts: Mapping[str, str] | None = None
) -> list[InboundMessage]:
    """Parse a signed delivery into messages; raises for bad shape and unknown pages.

    ``districts`` maps a page to the police district that runs it: its messages start in
    that district's queue unless the text names a place elsewhere.
    """
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedPayloadError("Innholdet er ikke gyldig JSON.") from exc
    if not isinstance(data, dict):
        raise MalformedPayloadError("Innholdet må være et JSON-objekt.")
    kind = data.get("object")
    channel = CHANNEL_BY_OBJECT.get(kind) if isinstance(kind, str) else None
    if channel is None:
        raise MalformedPayloadError("object må være «page» eller «instagram».")
    entries = data.get("entry")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise MalformedPayloadError("entry må være en liste av objekter.")
    for entry in entries:
        page_id = _id(entry.get("id"))
        if page_id is None:
            raise MalformedPayloadError("entry.id mangler.")
        if page_id not in pages:
            log.warning("meta webhook refused: unknown page", extra={"page_id": page_id})
            raise UnknownPageError("Siden eller kontoen %(page)s er ikke satt opp.", page=page_id)
    messages: list[InboundMessage] = []
    for entry in entries:
        page_id = str(_id(entry["id"]))
        events = entry.get("messaging", [])
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            raise MalformedPayloadError("entry.messaging må være en liste av objekter.")
        for event in events:
            message = parse_event(channel, page_id, event)
            if message is not None:
                district = (districts or {}).get(page_id)
                messages.append(replace(message, channel_district=district))
    return messages


def parse_event(channel: str, page_id: str, event: Mapping[str, Any]) -> InboundMessage | None:
    """One ``messaging`` event as an InboundMessage, or None when it is not a citizen message."""
    message = event.get("message")
    postback = event.get("postback")
    if message is None and postback is None:
        return None  # read, delivery, reaction, referral, optin, handover, ...
    if message is not None and not isinstance(message, dict):
        raise MalformedPayloadError("message må være et objekt.")
    if postback is not None and not isinstance(postback, dict):
        raise MalformedPayloadError("postback må være et objekt.")
    if isinstance(message, dict) and (
        message.get("is_echo") or message.get("is_deleted") or message.get("is_unsupported")
    ):
        return None  # our own reply coming back, or nothing a person can read
    sender = _id(_get(event, "sender", "id"))
    timestamp = event.get("timestamp")
    if sender is None or isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise MalformedPayloadError("sender.id eller timestamp mangler.")
    if sender == page_id:
        return None  # a page never writes to itself: an echo without the flag
    sent_at = datetime.fromtimestamp(timestamp / 1000, UTC)
    thread_key = f"{page_id}:{sender}"
    if isinstance(message, dict):
        mid = _text(message.get("mid"))
        if not mid:
            raise MalformedPayloadError("message.mid mangler.")
        text = _text(message.get("text"))
        quick_reply = message.get("quick_reply")
        if not text and isinstance(quick_reply, dict):
            text = _text(quick_reply.get("payload"))
        return InboundMessage(
            channel=channel,
            thread_key=thread_key,
            channel_message_id=mid,
            text=text,
            sent_at=sent_at,
            attachments=_attachments(message.get("attachments")),
        )
    assert isinstance(postback, dict)
    payload = _text(postback.get("payload"))
    text = _text(postback.get("title")) or payload
    mid = _text(postback.get("mid")) or _postback_id(sender, timestamp, payload)
    return InboundMessage(
        channel=channel,
        thread_key=thread_key,
        channel_message_id=mid,
        text=text,
        sent_at=sent_at,
    )


def _postback_id(sender: str, timestamp: int, payload: str) -> str:
    """A stable id for a postback Meta sent without ``mid`` (same delivery, same id)."""
    digest = hashlib.sha256(f"{sender}\x1f{timestamp}\x1f{payload}".encode()).hexdigest()
    return f"postback:{digest[:40]}"


def _attachments(value: object) -> tuple[str, ...]:
    """Attachments as ``kind`` or ``kind:url`` (their content is never fetched here)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise MalformedPayloadError("message.attachments må være en liste.")
    found: list[str] = []
    for item in value:
        if not isinstance(item, dict):
            raise MalformedPayloadError("message.attachments må være en liste av objekter.")
        kind = _text(item.get("type")) or "unknown"
        payload = item.get("payload")
        url = _text(payload.get("url")) if isinstance(payload, dict) else ""
        found.append(f"{kind}:{url}" if url else kind)
    return tuple(found)


def _get(data: Mapping[str, Any], *path: str) -> object:
    value: object = data
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _id(value: object) -> str | None:
    """Meta ids are strings of digits; accept numbers too, refuse everything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


# --- Send API -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendResult:
    """What happened to one reply. ``error`` is a code; ``detail`` is for the operator (nb)."""

    ok: bool
    status: int | None  # the last HTTP status, None when nothing was answered
    attempts: int  # HTTP requests made (0: refused before calling Meta)
    error: str | None = None  # see SendResult.ERRORS
    message_id: str | None = None  # Meta's id of the sent message
    detail: str | None = None
    retryable: bool = False  # worth trying again later (the caller decides when)

    ERRORS: ClassVar[dict[str, str]] = {
        "outside_24h_window": N_(
            "Mer enn 24 timer siden innbyggeren skrev sist; Meta tillater ikke svar nå."
        ),
        "unknown_page": N_(
            "Siden eller kontoen er ikke satt opp i stemme (mangler tilgangsnøkkel)."
        ),
        "timeout": N_("Meta svarte ikke i tide. Svaret er lagret og kan sendes på nytt."),
        "network": N_("Fikk ikke kontakt med Meta. Svaret er lagret og kan sendes på nytt."),
        "server_error": N_("Meta hadde en feil. Svaret er lagret og kan sendes på nytt."),
        "rate_limited": N_("Meta begrenser antall meldinger nå. Svaret kan sendes på nytt senere."),
        "rejected": N_("Meta avviste svaret (HTTP %(status)s, kode %(code)s)."),
    }


class MetaSender:
    """Posts replies to the Graph API Send API with retries; see :meth:`send_text`."""

    def __init__(
        self,
        settings: Settings,
        *,
        client: httpx.Client | None = None,
        timeout: float = 10.0,
        max_attempts: int = 4,
        backoff: float = 0.2,
        max_retry_after: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        pages: PageSource | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.settings = settings
        self.base_url = settings.meta_graph_url.rstrip("/")
        self._own_client = client is None
        self.client = client or httpx.Client(timeout=timeout)
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self.now = now
        self.pages = pages

    def __enter__(self) -> MetaSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def send_text(
        self, page_id: str, psid: str, text: str, last_inbound_at: datetime
    ) -> SendResult:
        """Send ``text`` to ``psid`` from ``page_id`` as a RESPONSE; never raises for delivery.

        Retries timeouts, network errors, 5xx and 429 with exponential backoff (``backoff``,
        doubled each time; a ``Retry-After`` up to ``max_retry_after`` seconds is respected, a
        longer one ends the attempts). Other 4xx are final. ``last_inbound_at`` is when the
        citizen last wrote (UTC; a naive value is read as UTC).
        """
        tokens = self.pages().tokens if self.pages else self.settings.meta_page_tokens
        token = tokens.get(page_id)
        if not token:
            return _failure("unknown_page", None, 0)
        if last_inbound_at.tzinfo is None:
            last_inbound_at = last_inbound_at.replace(tzinfo=UTC)
        if self.now() - last_inbound_at > MESSAGING_WINDOW:
            return _failure("outside_24h_window", None, 0)
        url = f"{self.base_url}/{page_id}/messages"
        body = {"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": {"text": text}}
        delay = self.backoff
        result = _failure("network", None, 0)
        for attempt in range(1, self.max_attempts + 1):
            wait = delay
            try:
                response = self.client.post(
                    url, params={"access_token": token}, json=body, timeout=self.timeout
                )
            except httpx.TimeoutException:
                result = _failure("timeout", None, attempt)
            except httpx.TransportError:
                result = _failure("network", None, attempt)
            else:
                result = _from_response(response, attempt)
                if result.error == "rate_limited":
                    retry_after = _retry_after(response.headers.get("retry-after"))
                    if retry_after is not None and retry_after > self.max_retry_after:
                        break
                    wait = max(delay, retry_after or 0.0)
            log.info(
                "meta send attempt",
                extra={
                    "page_id": page_id,
                    "attempt": attempt,
                    "status": result.status,
                    "error": result.error,
                },
            )
            if not result.retryable:
                break
            if attempt < self.max_attempts:
                self.sleep(wait)
                delay *= 2
        if not result.ok:
            log.warning(
                "meta send failed",
                extra={"page_id": page_id, "error": result.error, "attempts": result.attempts},
            )
        return result


def _from_response(response: httpx.Response, attempt: int) -> SendResult:
    status = response.status_code
    if 200 <= status < 300:
        message_id = None
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("message_id"), str):
            message_id = data["message_id"]
        return SendResult(ok=True, status=status, attempts=attempt, message_id=message_id)
    if status == 429:
        return _failure("rate_limited", status, attempt)
    if status >= 500:
        return _failure("server_error", status, attempt)
    code = _meta_error_code(response)
    return _failure("rejected", status, attempt, code=code)


def _failure(error: str, status: int | None, attempts: int, *, code: object = None) -> SendResult:
    detail = SendResult.ERRORS[error]
    if error == "rejected":
        detail %= {"status": status, "code": code if code is not None else "–"}
    retryable = error in ("timeout", "network", "server_error", "rate_limited")
    return SendResult(
        ok=False,
        status=status,
        attempts=attempts,
        error=error,
        detail=detail,
        retryable=retryable,
    )


def _meta_error_code(response: httpx.Response) -> object:
    """Meta's numeric error code (e.g. 10 with subcode 2018278: outside the window)."""
    try:
        data = response.json()
    except ValueError:
        return None
    code = _get(data, "error", "code") if isinstance(data, dict) else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (HTTP dates are treated as unknown)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(seconds, 0.0)


# --- logging hygiene ------------------------------------------------------------------------

_TOKEN_IN_URL = re.compile(r"(access_token=)[^&\s\"']+")


class RedactAccessToken(logging.Filter):
    """httpx logs each request URL at INFO; the Send API URL carries the page token."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_URL.sub(r"\1***", str(a)) if "access_token=" in str(a) else a
                for a in record.args
            )
        if isinstance(record.msg, str) and "access_token=" in record.msg:
            record.msg = _TOKEN_IN_URL.sub(r"\1***", record.msg)
        return True


def _install_token_filter() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, RedactAccessToken) for f in logger.filters):
        logger.addFilter(RedactAccessToken())


_install_token_filter()
