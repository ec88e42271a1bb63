"""Outbound messages: operator replies and automatic messages, queued then delivered.

A reply is first *stored* (encrypted original, redacted copy, ``delivery="queued"``) in the
operator's transaction, so it is never lost; the worker then hands it to the channel's
:class:`Sender`. A failure the channel calls retryable (timeouts, 5xx, 429) is tried again
with exponential backoff (``delivery="retrying"``, ``next_attempt_at``); anything else, or
too many attempts, is final (``delivery="failed"``) and shown to the operator, who can queue
it again. The error code (e.g. ``outside_24h_window``) is stored; the explanation shown to
the operator comes from the channel (``DELIVERY_ERRORS``).

Channel adapters implement ``Sender``: one call per message, no retries inside (the queue
retries), never raising for a delivery problem.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from stemme.db import utcnow
from stemme.errors import N_
from stemme.inbox.models import Conversation, Message, associated_data
from stemme.privacy.crypto import Keyring

log = logging.getLogger("stemme.inbox.outbound")

MAX_DELIVERY_ATTEMPTS = 8
FIRST_RETRY_SECONDS = 2.0
MAX_RETRY_SECONDS = 600.0

# Shown to the operator next to a reply that was not delivered (bokmål msgids).
DELIVERY_ERRORS: dict[str, str] = {
    "outside_24h_window": N_(
        "Mer enn 24 timer siden innbyggeren skrev sist; Meta tillater ikke svar nå."
    ),
    "unknown_page": N_("Siden eller kontoen er ikke satt opp i stemme (mangler tilgangsnøkkel)."),
    "no_sender": N_("Kanalen kan ikke sende svar (ikke satt opp)."),
    "timeout": N_("Kanalen svarte ikke i tide; prøver igjen."),
    "network": N_("Fikk ikke kontakt med kanalen; prøver igjen."),
    "server_error": N_("Kanalen hadde en feil; prøver igjen."),
    "rate_limited": N_("Kanalen begrenser antall meldinger nå; prøver igjen senere."),
    "rejected": N_("Kanalen avviste svaret."),
    "no_address": N_("Vi har ingen adresse å svare til."),
    "recipient_refused": N_("E-postserveren avviste mottakeradressen; svaret ble ikke sendt."),
    "auth_failed": N_("E-postserveren godtok ikke innloggingen til stemme; sjekk oppsettet."),
}


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a channel needs to send one outbound message (the text is the original)."""

    message_uid: str
    conversation_id: int
    channel: str
    thread_key: str
    text: str
    kind: str
    lang: str | None
    last_inbound_at: datetime | None
    last_inbound_id: str | None  # the channel's id of the citizen's last message


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    ok: bool
    error: str | None = None  # a key of DELIVERY_ERRORS
    retryable: bool = False
    external_id: str | None = None  # the channel's id of the sent message


class Sender(Protocol):
    def send(self, delivery: Delivery) -> DeliveryResult: ...


Senders = Mapping[str, Sender]


def queue_outbound(
    session: Session,
    keyring: Keyring,
    conversation: Conversation,
    text: str,
    kind: str,
    author_id: int | None = None,
) -> Message:
    """Store an outbound message, queued for delivery; its redacted copy is what lists show."""
    from stemme.understanding.pipeline import redact_text

    now = utcnow()
    message = Message(
        uid=uuid.uuid4().hex,
        conversation=conversation,
        channel=conversation.channel,
        direction="out",
        kind=kind,
        author_id=author_id,
        redacted_text=redact_text(text),
        lang=conversation.lang,
        urgent=False,
        entity_types=[],
        reasons=[],
        created_at=now,
        analyzed_at=now,
        delivery="queued",
        delivery_attempts=0,
        analysis_attempts=0,
    )
    message.raw_encrypted = keyring.encrypt(text, associated_data(message))
    session.add(message)
    session.flush()
    return message


LEASE_SECONDS = 120.0  # a claimed delivery is not claimed again before this


def _due(now: datetime) -> Any:
    return (
        Message.direction == "out",
        Message.delivery.in_(("queued", "retrying")),
        or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now),
    )


def due_count(session: Session) -> int:
    """How many outbound messages are due for an attempt now."""
    return int(session.scalar(select(func.count(Message.id)).where(*_due(utcnow()))) or 0)


def claim_due(session: Session, keyring: Keyring, *, limit: int = 20) -> list[Delivery]:
    """Claim up to ``limit`` due outbound messages for sending; commit before sending.

    Claiming sets a lease (``next_attempt_at`` a little ahead), so no other worker sends
    the same message meanwhile and nothing is held locked during the network call; if the
    worker dies mid-send, the lease runs out and the message is tried again.
    """
    now = utcnow()
    claim = select(Message.id).where(*_due(now)).order_by(Message.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        claim = claim.with_for_update(skip_locked=True)
    ids = list(session.scalars(claim))
    if not ids:
        return []
    messages = session.scalars(
        select(Message)
        .where(Message.id.in_(ids))
        .order_by(Message.id)
        .options(selectinload(Message.conversation))
    ).all()
    last_in = _last_inbound(session, {m.conversation_id for m in messages})
    deliveries = [_delivery(keyring, m, last_in.get(m.conversation_id)) for m in messages]
    for message in messages:
        message.next_attempt_at = now + timedelta(seconds=LEASE_SECONDS)
    session.flush()
    return deliveries


def send_all(senders: Senders, deliveries: list[Delivery]) -> list[tuple[str, DeliveryResult]]:
    """Hand each delivery to its channel's sender (outside any transaction)."""
    results: list[tuple[str, DeliveryResult]] = []
    for delivery in deliveries:
        sender = senders.get(delivery.channel)
        if sender is None:
            results.append((delivery.message_uid, DeliveryResult(False, "no_sender")))
            continue
        try:
            result = sender.send(delivery)
        except Exception:
            log.exception("sender failed", extra={"channel": delivery.channel})
            result = DeliveryResult(False, "network", retryable=True)
        results.append((delivery.message_uid, result))
    return results


def record_results(session: Session, results: list[tuple[str, DeliveryResult]]) -> None:
    """Store what happened to each sent delivery."""
    if not results:
        return
    messages = {
        m.uid: m
        for m in session.scalars(select(Message).where(Message.uid.in_([u for u, _ in results])))
    }
    for uid, result in results:
        message = messages.get(uid)
        if message is not None:
            record_result(message, result)
    session.flush()


def deliver_pending(
    session: Session, keyring: Keyring, senders: Senders, *, limit: int = 20
) -> int:
    """Claim, send and record in one session (tests and one-off use); the number tried.

    The worker uses the three steps with a commit between them, so that no transaction is
    open while a channel is called.
    """
    deliveries = claim_due(session, keyring, limit=limit)
    record_results(session, send_all(senders, deliveries))
    return len(deliveries)


def record_result(message: Message, result: DeliveryResult, now: datetime | None = None) -> None:
    """Apply one delivery attempt's result to the message (sent, retrying or failed)."""
    now = now or utcnow()
    message.delivery_attempts += 1
    if result.ok:
        message.delivery = "sent"
        message.delivery_error = None
        message.sent_at = now
        message.next_attempt_at = None
        message.external_id = result.external_id
        return
    message.delivery_error = result.error
    if result.retryable and message.delivery_attempts < MAX_DELIVERY_ATTEMPTS:
        message.delivery = "retrying"
        delay = min(FIRST_RETRY_SECONDS * 2 ** (message.delivery_attempts - 1), MAX_RETRY_SECONDS)
        message.next_attempt_at = now + timedelta(seconds=delay)
    else:
        message.delivery = "failed"
        message.next_attempt_at = None
    log.warning(
        "delivery failed",
        extra={
            "channel": message.channel,
            "error": result.error,
            "attempts": message.delivery_attempts,
            "final": message.delivery == "failed",
        },
    )


def requeue(message: Message) -> None:
    """Queue a failed message again (an operator pressed "send again")."""
    message.delivery = "queued"
    message.delivery_error = None
    message.next_attempt_at = None


def _delivery_of(session: Session, keyring: Keyring, message: Message) -> Delivery:
    last_in = _last_inbound(session, {message.conversation_id}).get(message.conversation_id)
    return _delivery(keyring, message, last_in)


def _last_inbound(
    session: Session, conversation_ids: set[int]
) -> dict[int, tuple[datetime, str | None]]:
    """When the citizen last wrote in each conversation, and the channel's id of that
    message (one query for a batch)."""
    latest = (
        select(func.max(Message.id))
        .where(Message.conversation_id.in_(conversation_ids), Message.direction == "in")
        .group_by(Message.conversation_id)
    )
    rows = session.execute(
        select(
            Message.conversation_id,
            Message.sent_at,
            Message.created_at,
            Message.channel_message_id,
        ).where(Message.id.in_(latest))
    )
    return {
        row.conversation_id: (row.sent_at or row.created_at, row.channel_message_id) for row in rows
    }


def _delivery(
    keyring: Keyring, message: Message, last_in: tuple[datetime, str | None] | None
) -> Delivery:
    conversation = message.conversation
    return Delivery(
        message_uid=message.uid,
        conversation_id=conversation.id,
        channel=message.channel,
        thread_key=conversation.thread_key,
        text=keyring.decrypt(message.raw_encrypted, associated_data(message)),
        kind=message.kind,
        lang=message.lang or conversation.lang,
        last_inbound_at=last_in[0] if last_in else None,
        last_inbound_id=last_in[1] if last_in else None,
    )
