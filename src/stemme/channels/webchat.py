"""Web chat: anonymous conversations from a browser, without cookies or accounts.

Framework-free; the HTTP adapter is ``stemme.channels.webchat_routes``.

* A chat is started by the browser, which keeps a random token (``secrets.token_urlsafe``)
  in localStorage and sends it as ``Authorization: Bearer <token>``. The database keeps only
  the token's SHA-256 (``WebchatSession.token_hash``) and a random thread key
  (``webchat:<id>``), so the token holder is the only one who can read the chat back.
* A citizen message goes through ``inbox.service.receive`` (stored encrypted, threaded,
  deduplicated by the browser's own message id) and is analysed later by the worker.
* The citizen sees their own messages and our outbound messages once delivered (the web chat
  ``StoredSender`` marks them sent at once); both are decrypted only for the token holder.
  Nothing here logs or audits message text.
* Rate limits are token buckets per key (client address, chat): in memory with one web
  process, in the database with several (``stemme.channels.ratelimit``).
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, delete, exists, or_, select
from sqlalchemy.orm import Session, sessionmaker

from stemme import geo
from stemme.channels.ratelimit import (
    RateLimiter,
    SharedRateLimiter,
    TokenBuckets,
)
from stemme.db import reader, transaction, utcnow
from stemme.errors import N_, AuthenticationError, InvalidInputError, NotFoundError, StemmeError
from stemme.inbox.feedback import record_feedback
from stemme.inbox.models import Conversation, Feedback, Message, WebchatSession, associated_data
from stemme.inbox.service import receive
from stemme.inbox.types import InboundMessage
from stemme.privacy.crypto import DecryptionError, Keyring

log = logging.getLogger("stemme.channels.webchat")

CHANNEL = "webchat"
THREAD_PREFIX = "webchat:"
LANGUAGES: tuple[str, ...] = ("nb", "nn", "en")
MAX_TEXT_CHARS = 2000
MAX_COMMENT_CHARS = 2000
MAX_BODY_BYTES = 16 * 1024  # 2000 characters of any script, JSON-escaped, fit well inside
MAX_HISTORY = 500
TOUCH_INTERVAL = timedelta(minutes=5)  # last_seen_at is refreshed at most this often on reads
_CLIENT_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
# Control characters other than tab and newline are dropped from citizen text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

# --- errors ---------------------------------------------------------------------------------


class BodyTooLargeError(StemmeError):
    status = 413
    title = N_("For stor forespørsel")


class MalformedRequestError(StemmeError):
    status = 400
    title = N_("Ugyldig forespørsel")


class UnsupportedMediaTypeError(StemmeError):
    status = 415
    title = N_("Feil innholdstype")


class ChatUnavailableError(StemmeError):
    status = 503
    title = N_("Chatten er ikke tilgjengelig")


class FeedbackGivenError(StemmeError):
    status = 409
    title = N_("Allerede besvart")


def _unknown_chat() -> AuthenticationError:
    return AuthenticationError(N_("Fant ikke samtalen. Den kan være slettet; start en ny samtale."))


# --- rate limiting ----------------------------------------------------------------------------


@dataclass
class Limits:
    """The buckets of one app, per chat and per client address."""

    messages: TokenBuckets  # per chat: settings.webchat_messages_per_minute
    messages_per_address: TokenBuckets  # many citizens can share an address (mobile, offices)
    starts: TokenBuckets  # new chats per address
    reads: TokenBuckets  # history and stream (re)connections per chat
    reads_per_address: TokenBuckets
    unknown_tokens: TokenBuckets  # failed authentications per address

    @classmethod
    def for_rate(
        cls, messages_per_minute: int, shared: tuple[Engine, bytes] | None = None
    ) -> Limits:
        """In memory, or with ``shared`` = (engine, secret) in the database, where every web
        process of a PostgreSQL deployment counts against the same limits."""
        per_minute = max(1, messages_per_minute)

        def limit(name: str, rate: float) -> TokenBuckets:
            if shared is None:
                return RateLimiter(rate)
            return SharedRateLimiter(shared[0], f"webchat.{name}", rate, shared[1])

        return cls(
            messages=limit("messages", per_minute),
            messages_per_address=limit("messages_per_address", per_minute * 5),
            starts=limit("starts", 10),
            reads=limit("reads", 120),
            reads_per_address=limit("reads_per_address", 600),
            unknown_tokens=limit("unknown_tokens", 60),
        )


# --- input ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartInput:
    lang: str
    district: str | None


@dataclass(frozen=True, slots=True)
class MessageInput:
    client_id: str
    text: str


@dataclass(frozen=True, slots=True)
class FeedbackInput:
    message_id: int
    rating: int | None
    comment: str | None


def _object(body: object) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise MalformedRequestError(N_("Forespørselen må være et JSON-objekt."))
    return body


def _unknown_fields(body: dict[str, Any], allowed: tuple[str, ...]) -> None:
    extra = sorted(set(body) - set(allowed))
    if extra:
        raise InvalidInputError(N_("Ukjente felt: %(fields)s"), fields=", ".join(extra))


def clean_text(value: object, limit: int) -> str:
    """Citizen text: a string, control characters dropped, trimmed, at most ``limit`` long."""
    if not isinstance(value, str):
        raise InvalidInputError(N_("Meldingen må være tekst."))
    text = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not text:
        raise InvalidInputError(N_("Meldingen er tom. Skriv noe før du sender."))
    if len(text) > limit:
        raise InvalidInputError(
            N_("Meldingen er for lang: høyst %(limit)s tegn (du skrev %(length)s)."),
            limit=limit,
            length=len(text),
        )
    return text


def parse_start(body: object) -> StartInput:
    data = _object(body)
    _unknown_fields(data, ("lang", "district"))
    lang = data.get("lang", "nb")
    if lang not in LANGUAGES:
        raise InvalidInputError(N_("Ukjent språk: velg nb, nn eller en."))
    district = data.get("district")
    if district in (None, ""):
        district = None
    elif district not in geo.POLICE_DISTRICTS:
        raise InvalidInputError(N_("Ukjent politidistrikt."))
    return StartInput(str(lang), district)


def parse_message(body: object) -> MessageInput:
    data = _object(body)
    _unknown_fields(data, ("client_id", "text"))
    client_id = data.get("client_id")
    if not isinstance(client_id, str) or not _CLIENT_ID.match(client_id):
        raise InvalidInputError(
            N_("Meldingen mangler en gyldig meldings-id (8–64 tegn: bokstaver, tall og -).")
        )
    return MessageInput(client_id, clean_text(data.get("text"), MAX_TEXT_CHARS))


def parse_feedback(body: object) -> FeedbackInput:
    data = _object(body)
    _unknown_fields(data, ("message_id", "rating", "comment"))
    message_id = data.get("message_id")
    if not isinstance(message_id, int) or isinstance(message_id, bool) or message_id < 1:
        raise InvalidInputError(N_("Tilbakemeldingen mangler spørsmålet den svarer på."))
    rating = data.get("rating")
    if rating is not None and (
        not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5
    ):
        raise InvalidInputError(N_("Vurderingen må være et tall fra 1 til 5."))
    comment = data.get("comment")
    if comment is not None and not (isinstance(comment, str) and comment.strip()):
        comment = None
    if comment is not None:
        comment = clean_text(comment, MAX_COMMENT_CHARS)
    if rating is None and comment is None:
        raise InvalidInputError(N_("Velg en vurdering eller skriv en kommentar."))
    return FeedbackInput(message_id, rating, comment)


# --- what the citizen sees ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChatMessage:
    id: int
    direction: str  # "in": the citizen, "out": us
    kind: str  # citizen, feedback_answer, reply, emergency, out_of_hours, feedback_question
    text: str | None  # None when the original is no longer kept
    created_at: datetime
    feedback: str | None = None  # feedback_question only: "open" or "answered"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "direction": self.direction,
            "kind": self.kind,
            "text": self.text,
            "created_at": self.created_at.isoformat(),
            "feedback": self.feedback,
        }


@dataclass(frozen=True, slots=True)
class History:
    messages: list[ChatMessage]
    closed: bool  # the newest conversation is closed: a new message starts a new one

    def as_json(self) -> dict[str, Any]:
        return {"messages": [m.as_json() for m in self.messages], "closed": self.closed}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(session: Session, data: StartInput) -> tuple[str, WebchatSession]:
    """A new anonymous chat: the token for the browser (shown once) and the stored row."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    chat = WebchatSession(
        token_hash=hash_token(token),
        thread_key=THREAD_PREFIX + secrets.token_urlsafe(16),
        lang=data.lang,
        district=data.district,
        created_at=now,
        last_seen_at=now,
    )
    session.add(chat)
    session.flush()
    return token, chat


def authenticate(session: Session, token: str | None, *, touch: bool = False) -> WebchatSession:
    """The chat of this token; AuthenticationError when there is none."""
    if not token or len(token) > 256:
        raise _unknown_chat()
    chat = session.scalar(
        select(WebchatSession).where(WebchatSession.token_hash == hash_token(token))
    )
    if chat is None:
        raise _unknown_chat()
    now = utcnow()
    if touch or now - chat.last_seen_at > TOUCH_INTERVAL:
        chat.last_seen_at = now
    return chat


def post_message(
    session: Session, keyring: Keyring, chat: WebchatSession, data: MessageInput
) -> tuple[ChatMessage, bool]:
    """Store the citizen's message (encrypted, threaded); the same client id twice stores one."""
    # Namespaced by the thread, so one browser's ids can never collide with another's.
    channel_message_id = f"{chat.thread_key}:{data.client_id}"
    result = receive(
        session,
        keyring,
        InboundMessage(
            channel=CHANNEL,
            thread_key=chat.thread_key,
            channel_message_id=channel_message_id,
            text=data.text,
            sent_at=utcnow(),
            channel_district=chat.district,
        ),
    )
    message = session.get(Message, result.message_id)
    if message is None:  # pragma: no cover - receive just stored or found it
        raise NotFoundError("Fant ingen melding med id %(id)s.", id=result.message_id)
    conversation = message.conversation
    if conversation.lang is None:
        conversation.lang = chat.lang
    chat.last_seen_at = utcnow()
    return _chat_message(keyring, message, None), result.duplicate


def _visible(thread_key: str) -> Any:
    return and_(
        Conversation.channel == CHANNEL,
        Conversation.thread_key == thread_key,
        or_(
            Message.direction == "in",  # kind "citizen", or "feedback_answer" after a close
            and_(Message.direction == "out", Message.delivery == "sent"),
        ),
    )


def history(session: Session, keyring: Keyring, chat: WebchatSession, after: int = 0) -> History:
    """The citizen's messages and our delivered messages after id ``after``, oldest first."""
    messages = session.scalars(
        select(Message)
        .join(Conversation, Message.conversation_id == Conversation.id)
        .where(_visible(chat.thread_key), Message.id > after)
        .order_by(Message.id)
        .limit(MAX_HISTORY)
    ).all()
    questions = [m.conversation_id for m in messages if m.kind == "feedback_question"]
    answered = (
        set(
            session.scalars(
                select(Feedback.conversation_id).where(Feedback.conversation_id.in_(questions))
            )
        )
        if questions
        else set()
    )
    newest = session.scalar(
        select(Conversation.status)
        .where(Conversation.channel == CHANNEL, Conversation.thread_key == chat.thread_key)
        .order_by(Conversation.id.desc())
        .limit(1)
    )
    views = [
        _chat_message(
            keyring,
            m,
            ("answered" if m.conversation_id in answered else "open")
            if m.kind == "feedback_question"
            else None,
        )
        for m in messages
    ]
    return History(views, closed=newest == "closed")


def newest_visible_id(session: Session, chat: WebchatSession) -> int:
    """The id of the newest message the citizen can see (0 when none): cheap to poll."""
    found = session.scalar(
        select(Message.id)
        .join(Conversation, Message.conversation_id == Conversation.id)
        .where(_visible(chat.thread_key))
        .order_by(Message.id.desc())
        .limit(1)
    )
    return int(found or 0)


def _chat_message(keyring: Keyring, message: Message, feedback: str | None) -> ChatMessage:
    try:
        text: str | None = keyring.decrypt(message.raw_encrypted, associated_data(message))
    except (DecryptionError, ValueError):  # deleted under retention, or an unknown old key
        text = None
    return ChatMessage(
        id=message.id,
        direction=message.direction,
        kind=message.kind,
        text=text,
        created_at=message.created_at,
        feedback=feedback,
    )


def feedback_conversation(session: Session, chat: WebchatSession, message_id: int) -> int:
    """The conversation whose closing question ``message_id`` is, if it is this chat's."""
    conversation_id = session.scalar(
        select(Message.conversation_id)
        .join(Conversation, Message.conversation_id == Conversation.id)
        .where(
            Message.id == message_id,
            Message.kind == "feedback_question",
            Message.direction == "out",
            Conversation.channel == CHANNEL,
            Conversation.thread_key == chat.thread_key,
        )
    )
    if conversation_id is None:
        raise NotFoundError(N_("Fant ikke spørsmålet du svarer på."))
    given = session.scalar(select(exists().where(Feedback.conversation_id == conversation_id)))
    if given:
        raise FeedbackGivenError(N_("Du har allerede svart på dette. Takk!"))
    return int(conversation_id)


def end_session(session: Session, chat: WebchatSession) -> None:
    """Forget the browser's token: the conversation stays in the inbox, the chat cannot be
    read back any more (e.g. on a shared computer)."""
    session.execute(delete(WebchatSession).where(WebchatSession.id == chat.id))


# --- the service an HTTP adapter uses --------------------------------------------------------


class Webchat:
    """One app's web chat: database, keyring, rate limits; every call is one transaction."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        keyring: Keyring,
        messages_per_minute: int,
        shared_limits_secret: bytes | None = None,
    ) -> None:
        """``shared_limits_secret``: keep the rate limits in the database (keyed by it), so
        that several web processes share them; on SQLite (one process) they stay in memory."""
        self.sessions = sessions
        self.keyring = keyring
        engine: Engine = sessions.kw["bind"]
        shared = None
        if shared_limits_secret is not None and engine.dialect.name != "sqlite":
            shared = (engine, shared_limits_secret)
        self.limits = Limits.for_rate(messages_per_minute, shared)

    def start(self, address: str, body: object) -> tuple[str, WebchatSession]:
        self.limits.starts.check(("start", address))
        data = parse_start(body)
        with transaction(self.sessions) as session:
            token, chat = start_session(session, data)
        log.info("web chat started", extra={"chat": chat.id})
        return token, chat

    def _chat(
        self, session: Session, address: str, token: str | None, *, touch: bool = False
    ) -> WebchatSession:
        """The token's chat; an address that keeps sending unknown tokens is slowed down."""
        try:
            return authenticate(session, token, touch=touch)
        except AuthenticationError:
            self.limits.unknown_tokens.check(("address", address))
            raise

    def check_token(self, address: str, token: str | None) -> None:
        """AuthenticationError unless the token is a chat's (before a body is read)."""
        with reader(self.sessions) as session:
            self._chat(session, address, token)

    def send(self, address: str, token: str | None, body: object) -> tuple[ChatMessage, bool]:
        with transaction(self.sessions) as session:
            chat = self._chat(session, address, token)
            self.limits.messages.check(("chat", chat.id))
            self.limits.messages_per_address.check(("address", address))
            data = parse_message(body)
            message, duplicate = post_message(session, self.keyring, chat, data)
        from stemme.jobs import notify

        if not duplicate:
            notify()
        return message, duplicate

    def history(self, address: str, token: str | None, after: int) -> History:
        with transaction(self.sessions) as session:
            chat = self._chat(session, address, token)
            self._count_read(address, chat)
            return history(session, self.keyring, chat, after)

    def open_stream(self, address: str, token: str | None) -> int:
        """Authenticate a stream; the chat's id."""
        with transaction(self.sessions) as session:
            chat = self._chat(session, address, token, touch=True)
            self._count_read(address, chat)
            return chat.id

    def _count_read(self, address: str, chat: WebchatSession) -> None:
        self.limits.reads.check(("chat", chat.id))
        self.limits.reads_per_address.check(("address", address))

    def poll(self, chat_id: int, after: int) -> History | None:
        """New messages after ``after`` (None when the chat was ended meanwhile); read only,
        so an open stream never holds SQLite's write lock."""
        with reader(self.sessions) as session:
            chat = session.get(WebchatSession, chat_id)
            if chat is None:
                return None
            if newest_visible_id(session, chat) <= after:
                return History([], closed=False)
            return history(session, self.keyring, chat, after)

    def feedback(self, address: str, token: str | None, body: object) -> None:
        with transaction(self.sessions) as session:
            chat = self._chat(session, address, token)
            self.limits.messages.check(("chat", chat.id))
            data = parse_feedback(body)
            conversation_id = feedback_conversation(session, chat, data.message_id)
            record_feedback(session, self.keyring, conversation_id, data.rating, data.comment)

    def end(self, address: str, token: str | None) -> None:
        with transaction(self.sessions) as session:
            end_session(session, self._chat(session, address, token))


def new_client_id() -> str:
    """What a browser sends as ``client_id`` (tests and scripts use this)."""
    return str(uuid.uuid4())
