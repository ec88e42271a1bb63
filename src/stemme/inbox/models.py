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
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from stemme.db import Base, UTCDateTime, utcnow

STATUSES: tuple[str, ...] = ("new", "open", "waiting", "closed")
DIRECTIONS: tuple[str, ...] = ("in", "out")


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
    status: Mapped[str] = mapped_column(String(16), default="new")
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

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

    conversation: Mapped[Conversation] = relationship(back_populates="messages")


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
