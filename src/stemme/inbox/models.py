"""Tables of the inbox: conversations, their messages, and operator triage corrections.

A message's original text is stored only encrypted (``raw_encrypted``, AES-GCM bound to the
row's random ``uid``); every other column holds redacted or derived data. ``redacted_text``
stays NULL until the understanding pipeline has run (``analyzed_at`` set): the messages
table is the analysis queue.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    case,
    false,
    literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from stemme.db import Base, UTCDateTime, utcnow

STATUSES: tuple[str, ...] = ("new", "open", "waiting", "closed")
DIRECTIONS: tuple[str, ...] = ("in", "out")
# What an outbound message is: an operator's reply or one of the automatic messages.
KINDS: tuple[str, ...] = (
    "citizen",
    "feedback_answer",
    "reply",
    "emergency",
    "out_of_hours",
    "feedback_question",
)
# Delivery of an outbound message: queued → sent, or failed (final); "retrying" is visible.
DELIVERY_STATES: tuple[str, ...] = ("queued", "retrying", "sent", "failed")
OUTCOMES: tuple[str, ...] = (
    "answered",
    "referred_112",
    "referred_other",
    "report_advised",
    "tip_forwarded",
    "no_action",
    "spam",
)


class Conversation(Base):
    """One thread on one channel; a closed thread that gets a new message starts a new one."""

    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_channel_thread", "channel", "thread_key"),
        Index("ix_conversations_queue", "status", "urgent", "last_message_at"),
    )
    retention: ClassVar[str] = "citizen contact: deleted with its messages 12 months after closing"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    thread_key: Mapped[str] = mapped_column(String(255))
    channel_district: Mapped[str | None] = mapped_column(String(64), nullable=True)
    district: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    triage_corrected: Mapped[bool] = mapped_column(Boolean, default=False)
    # An operator moved it: the places named in later messages no longer move it back.
    district_transferred: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    status: Mapped[str] = mapped_column(String(16), default="new")
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    lang: Mapped[str | None] = mapped_column(String(8), nullable=True)
    emergency_replied: Mapped[bool] = mapped_column(Boolean, default=False)
    out_of_hours_replied: Mapped[bool] = mapped_column(Boolean, default=False)
    feedback_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation",
        order_by="Message.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class Message(Base):
    """One message in or out; the original only encrypted, the rest redacted or derived."""

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("channel", "channel_message_id"),)
    retention: ClassVar[str] = (
        "citizen contact: original deleted 90 days after the conversation closes,"
        " redacted text and labels 12 months after closing"
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(8), default="in")
    channel_message_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    raw_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    redacted_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    lang: Mapped[str | None] = mapped_column(String(8), nullable=True)
    category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    district: Mapped[str | None] = mapped_column(String(64), nullable=True)
    entity_types: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    analyzed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    analysis_attempts: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(24), default="citizen")
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    delivery: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivery_error: Mapped[str | None] = mapped_column(String(64), nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    external_id: Mapped[str | None] = mapped_column(String(255), nullable=True)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")


class InboundDelivery(Base):
    """A message a webhook channel delivered and intake acknowledged, not yet filed.

    The acknowledgement path of the fire-and-forget webhooks (Messenger, Instagram, the
    bridge) only appends here, one statement; the worker files it into its conversation
    (``stemme.inbox.journal``) and deletes the row in the same transaction. The text is
    encrypted already as the future message's ``raw_encrypted`` (bound to ``uid``), so
    filing moves it without decrypting. The unique key drops a retry of a delivery that is
    still waiting; one already filed is dropped against ``messages`` when filed.

    A row that failed to file waits until ``next_attempt_at`` (backoff); ``last_error`` is
    the exception's type name only, never its message (which could quote the citizen).
    """

    __tablename__ = "inbound_deliveries"
    __table_args__ = (UniqueConstraint("channel", "channel_message_id"),)
    retention: ClassVar[str] = (
        "intake journal: deleted when filed, seconds after arrival; a row given up and left"
        " unreleased is deleted as an original is (STEMME_RETENTION_ORIGINAL_DAYS)"
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    channel_message_id: Mapped[str] = mapped_column(String(255))
    thread_key: Mapped[str] = mapped_column(String(255))
    channel_district: Mapped[str | None] = mapped_column(String(64), nullable=True)
    raw_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(64), nullable=True)


# The queue's order: urgent first, then conversations waiting for the police (new, open)
# before those waiting for the citizen or closed, then the longest waiting. Written with
# literals (not bound parameters) so the database matches it to the index below and reads
# any page of 100 000 conversations in order instead of sorting them all.
_WAITING_FOR_POLICE = Conversation.status.in_([literal_column("'new'"), literal_column("'open'")])
QUEUE_RANK = case((_WAITING_FOR_POLICE, literal_column("0")), else_=literal_column("1"))
QUEUE_ORDER = (
    Conversation.urgent.desc(),
    QUEUE_RANK,
    Conversation.last_message_at.asc(),
    Conversation.id.asc(),
)
Index("ix_conversations_queue_order", *QUEUE_ORDER)


def associated_data(message: Message) -> bytes:
    """What binds a message's ciphertext to its row (its random public ``uid``)."""
    return message_associated_data(message.uid)


WIPED_ORIGINAL = b""
"""``raw_encrypted`` of a message whose original was deleted under retention."""


def is_wiped(message: Message) -> bool:
    """Was the original of ``message`` deleted under retention (``stemme.inbox.retention``)?"""
    return message.raw_encrypted == WIPED_ORIGINAL


def message_associated_data(uid: str) -> bytes:
    """``associated_data`` of the message with this ``uid`` (before its row exists)."""
    return b"message:" + uid.encode("ascii")


class TriageLabel(Base):
    """An operator's correction of a message's category or urgency (training data)."""

    __tablename__ = "triage_labels"
    retention: ClassVar[str] = "training label: deleted with its message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    category: Mapped[str] = mapped_column(String(32))
    urgent: Mapped[bool] = mapped_column(Boolean)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Note(Base):
    """An operator's internal note on a conversation; never sent to the citizen."""

    __tablename__ = "conversation_notes"
    retention: ClassVar[str] = "internal note: deleted with its conversation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    raw_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    redacted_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Feedback(Base):
    """A citizen's answer to the closing question: a 1–5 rating and a redacted comment."""

    __tablename__ = "conversation_feedback"
    retention: ClassVar[str] = (
        "feedback: redacted, kept 24 months for statistics (outlives its conversation)"
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # NULL once the conversation is deleted (12 months after closing): the rating and the
    # redacted comment stay for the district's statistics until their own time is up.
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), unique=True, nullable=True
    )
    channel: Mapped[str] = mapped_column(String(32))
    district: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CannedReply(Base):
    """A reusable reply in one language, with {variables} filled in when it is used."""

    __tablename__ = "canned_replies"
    __table_args__ = (UniqueConstraint("key", "lang"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    lang: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)


class DistrictHours(Base):
    """When a district's online patrol answers (local time); outside them an automatic reply.

    ``hours`` maps weekday (0 = Monday) to [opens, closes] as "HH:MM"; a missing day is closed.
    """

    __tablename__ = "district_hours"

    district: Mapped[str] = mapped_column(String(64), primary_key=True)
    hours: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)


class ChannelContact(Base):
    """How to answer a thread on a channel that needs more than its thread key.

    E-mail needs the citizen's address (personal data: stored only encrypted, bound to the
    thread key), the subject and the Message-IDs for threading headers.
    """

    __tablename__ = "channel_contacts"
    retention: ClassVar[str] = "contact details: deleted with the thread's last conversation"

    thread_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    address_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    subject: Mapped[str | None] = mapped_column(String(255), nullable=True)
    references: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebchatSession(Base):
    """An anonymous web chat: the browser holds a random token, we store only its SHA-256."""

    __tablename__ = "webchat_sessions"
    retention: ClassVar[str] = "web chat session: deleted 24 hours after its last use"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    thread_key: Mapped[str] = mapped_column(String(255), unique=True)
    lang: Mapped[str] = mapped_column(String(8), default="nb")
    district: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
