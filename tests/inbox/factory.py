"""Arranging inbox data for the tests of the operator layer: principals of real users,
received (and analysed) citizen messages, hand-built conversations, decrypted originals."""

from __future__ import annotations

import itertools
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from stemme.db import transaction, utcnow
from stemme.identity.access import Principal
from stemme.identity.models import AuditEvent, User
from stemme.identity.service import principal_of
from stemme.inbox import service
from stemme.inbox.models import Conversation, Message, associated_data
from stemme.inbox.types import InboundMessage, ReceiveResult
from stemme.privacy.crypto import Keyring

_threads = itertools.count(1)


def principal(user: User) -> Principal:
    return principal_of(user)


def receive(
    sessions: sessionmaker[Session],
    keyring: Keyring,
    msg: InboundMessage,
    *,
    at: datetime | None = None,
    analyse: bool = True,
) -> ReceiveResult:
    """Store one citizen message (committed); ``at`` moves its creation time (for the
    opening-hours checks), ``analyse`` runs the analysis queue afterwards."""
    with transaction(sessions) as session:
        result = service.receive(session, keyring, msg)
        if at is not None:
            message = session.get(Message, result.message_id)
            assert message is not None
            message.created_at = message.sent_at = at
    if analyse:
        analyse_all(sessions, keyring)
    return result


def analyse_all(sessions: sessionmaker[Session], keyring: Keyring) -> int:
    with transaction(sessions) as session:
        return service.analyze_pending(session, keyring)


def conversation(session: Session, **fields: object) -> Conversation:
    """A conversation built directly (flushed), for figures and state that intake cannot
    produce quickly (old dates, first responses)."""
    now = utcnow()
    values: dict[str, object] = {
        "channel": "webchat",
        "thread_key": f"hand-{next(_threads)}",
        "channel_district": fields.get("district", "Oslo"),
        "district": "Oslo",
        "status": "new",
        "urgent": False,
        "created_at": now,
        "last_message_at": now,
    }
    values.update(fields)
    built = Conversation(**values)
    session.add(built)
    session.flush()
    return built


def outbound_of(session: Session, conversation_id: int) -> list[Message]:
    return list(
        session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.direction == "out")
            .order_by(Message.id)
        )
    )


def original(keyring: Keyring, message: Message) -> str:
    return keyring.decrypt(message.raw_encrypted, associated_data(message))


def audit_events(session: Session, action: str) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        )
    )
