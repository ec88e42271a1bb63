"""The inbox: intake of channel messages, their analysis, and the district-scoped queue.

Framework-free; every read or change on behalf of a person takes a ``Principal``.

* ``receive`` is what a channel adapter calls. It is fast (no analysis): it drops
  duplicates, threads the message into a conversation and stores the original only
  encrypted. ``redacted_text`` stays NULL until the message is analysed.
* ``analyze_pending`` is the queue consumer: the messages table *is* the queue (``analyzed_at
  IS NULL``), so nothing acknowledged to a channel is lost across a crash. On PostgreSQL
  the batch is claimed with ``FOR UPDATE SKIP LOCKED`` so several workers never analyse
  the same message; SQLite runs one worker.
* Lists and conversation views carry only redacted text. A message not yet analysed is
  listed with ``text=None`` (so an operator sees that it exists and is being analysed);
  its original is readable only through ``read_original``, which needs
  ``Permission.READ_ORIGINALS``, checks the district scope and is audited.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    Select,
    Table,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from stemme.db import utcnow
from stemme.errors import ConfigurationError, ConflictError, InvalidInputError, NotFoundError
from stemme.identity import audit
from stemme.identity.access import Permission, Principal
from stemme.inbox.models import (
    QUEUE_ORDER,
    STATUSES,
    Conversation,
    Message,
    TriageLabel,
    associated_data,
    message_associated_data,
)
from stemme.inbox.types import InboundMessage, ReceiveResult
from stemme.privacy.crypto import Keyring
from stemme.understanding.pipeline import Analysis, AnalysisContext, analyze

log = logging.getLogger("stemme.inbox")

MAX_ANALYSIS_ATTEMPTS = 3
MAX_PER_PAGE = 100
ACTIVE = "active"  # a status filter: every conversation that is not closed


# --- intake ------------------------------------------------------------------------------


def receive(session: Session, keyring: Keyring, msg: InboundMessage) -> ReceiveResult:
    """Store one inbound message (encrypted) in its conversation; duplicates are dropped.

    The same delivery twice stores one message: the second call answers ``duplicate=True``
    with the first one's ids. Intake of one thread is serialised (``_lock_for_intake``), and
    a duplicate always has the same thread, so the check after the lock sees the first one
    committed. This is the acknowledgement path of every channel, so it runs a handful of
    prepared Core statements (lock, two indexed lookups, one or two inserts): no ORM unit of
    work, no statement built per call.
    """
    _lock_for_intake(session, msg)
    found = _existing(session, msg.channel, msg.channel_message_id)
    if found is not None:
        return found
    conversation_id, kind, created = _conversation_for(session, msg)
    uid = uuid.uuid4().hex
    row = {
        "uid": uid,
        "conversation_id": conversation_id,
        "channel": msg.channel,
        "direction": "in",
        "kind": kind,
        "channel_message_id": msg.channel_message_id,
        "raw_encrypted": keyring.encrypt(msg.text, message_associated_data(uid)),
        "urgent": False,
        "entity_types": [],
        "reasons": [],
        "analysis_attempts": 0,
        "delivery_attempts": 0,
        "sent_at": msg.sent_at,
        "created_at": utcnow(),
    }
    connection = session.connection()
    insert_message = _intake_statements(connection.dialect.name).insert_message
    message_id: int | None = connection.execute(insert_message, row).scalar_one_or_none()
    if message_id is None:  # the same message id under another thread won the race
        found = _existing(session, msg.channel, msg.channel_message_id)
        if found is None:  # the row it conflicted with is gone again
            raise ConflictError("Meldingen kunne ikke lagres; prøv igjen.")
        if created:
            session.execute(delete(Conversation).where(Conversation.id == conversation_id))
        return found
    return ReceiveResult(message_id, conversation_id, duplicate=False)


@dataclass(frozen=True, slots=True)
class _IntakeStatements:
    """The statements of ``receive``, built once per dialect (values come as parameters)."""

    existing: Any
    latest_conversation: Any
    insert_conversation: Any
    touch_conversation: Any
    insert_message: Any


@cache
def _intake_statements(dialect: str) -> _IntakeStatements:
    messages, conversations = cast(Table, Message.__table__), cast(Table, Conversation.__table__)
    build_insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return _IntakeStatements(
        existing=select(messages.c.id, messages.c.conversation_id).where(
            messages.c.channel == bindparam("channel"),
            messages.c.channel_message_id == bindparam("channel_message_id"),
        ),
        latest_conversation=select(
            conversations.c.id, conversations.c.status, conversations.c.feedback_requested_at
        )
        .where(
            conversations.c.channel == bindparam("channel"),
            conversations.c.thread_key == bindparam("thread_key"),
        )
        .order_by(conversations.c.id.desc())
        .limit(1),
        insert_conversation=insert(conversations).returning(conversations.c.id),
        touch_conversation=update(conversations)
        .where(conversations.c.id == bindparam("conversation_id"))
        .values(last_message_at=bindparam("now"), status=bindparam("new_status")),
        insert_message=build_insert(messages)
        .on_conflict_do_nothing(index_elements=["channel", "channel_message_id"])
        .returning(messages.c.id),
    )


def _existing(session: Session, channel: str, channel_message_id: str) -> ReceiveResult | None:
    connection = session.connection()
    row = connection.execute(
        _intake_statements(connection.dialect.name).existing,
        {"channel": channel, "channel_message_id": channel_message_id},
    ).first()
    return None if row is None else ReceiveResult(row.id, row.conversation_id, duplicate=True)


_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
_SQLITE_WRITE_LOCK = text("UPDATE conversations SET urgent = urgent WHERE id IS NULL")


def _lock_for_intake(session: Session, msg: InboundMessage) -> None:
    """Serialise intake of one thread, so one thread never opens two conversations.

    PostgreSQL: a transaction-scoped advisory lock on the thread. SQLite: take the database
    write lock now (a no-op UPDATE), before reading, so the read-then-write below cannot
    fail on a stale snapshot.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_ADVISORY_LOCK, {"key": f"stemme.inbox:{msg.channel}:{msg.thread_key}"})
    else:
        connection.execute(_SQLITE_WRITE_LOCK)


def _conversation_for(session: Session, msg: InboundMessage) -> tuple[int, str, bool]:
    """The id of the message's conversation, the message's kind, and whether the
    conversation is new: an open conversation takes a "citizen" message; a closed one still
    waiting for feedback takes the answer as a "feedback_answer"; otherwise a new
    conversation starts."""
    from stemme.inbox.feedback import awaiting_answer

    now = utcnow()
    connection = session.connection()
    statements = _intake_statements(connection.dialect.name)
    latest = connection.execute(
        statements.latest_conversation, {"channel": msg.channel, "thread_key": msg.thread_key}
    ).first()
    if latest is not None and latest.status == "closed":
        if awaiting_answer(session, latest):
            return latest.id, "feedback_answer", False
        latest = None
    if latest is None:
        created: int = connection.execute(
            statements.insert_conversation,
            {
                "channel": msg.channel,
                "thread_key": msg.thread_key,
                "channel_district": msg.channel_district,
                "district": msg.channel_district,
                "status": "new",
                "urgent": False,
                "triage_corrected": False,
                "emergency_replied": False,
                "out_of_hours_replied": False,
                "created_at": now,
                "last_message_at": now,
            },
        ).scalar_one()
        return created, "citizen", True
    # the citizen answered a conversation waiting for them: back in the queue
    status = "open" if latest.status == "waiting" else latest.status
    connection.execute(
        statements.touch_conversation,
        {"conversation_id": latest.id, "now": now, "new_status": status},
    )
    loaded = session.identity_map.get(session.identity_key(Conversation, latest.id))
    if loaded is not None:  # loaded earlier in this session: now stale
        session.expire(loaded, ["last_message_at", "status"])
    return latest.id, "citizen", False


# --- analysis (the queue consumer) -----------------------------------------------------------


def analyze_message(session: Session, keyring: Keyring, message_id: int) -> Message:
    """Run the understanding pipeline on one message (again, if it was analysed before)."""
    message = session.get(Message, message_id)
    if message is None:
        raise NotFoundError("Fant ingen melding med id %(id)s.", id=message_id)
    _apply(session, message, _analysis_of(keyring, message))
    return message


def analyze_pending(session: Session, keyring: Keyring, limit: int = 100) -> int:
    """Analyse up to ``limit`` messages not yet analysed, oldest first; the number done.

    The pipeline runs before anything is written, so on SQLite the write lock is held only
    for the short update at the end. A message whose analysis fails is retried up to
    MAX_ANALYSIS_ATTEMPTS times (a configuration error stops the batch instead).
    """
    claim = (
        select(Message.id)
        .where(Message.analyzed_at.is_(None), Message.analysis_attempts < MAX_ANALYSIS_ATTEMPTS)
        .order_by(Message.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        claim = claim.with_for_update(skip_locked=True)
    ids = list(session.scalars(claim))
    if not ids:
        return 0
    messages = session.scalars(
        select(Message)
        .where(Message.id.in_(ids))
        .order_by(Message.id)
        .options(selectinload(Message.conversation))
    ).all()
    results: list[tuple[Message, Analysis | None]] = []
    for message in messages:
        try:
            results.append((message, _analysis_of(keyring, message)))
        except ConfigurationError:
            raise
        except Exception:
            log.exception("analysis failed", extra={"message_id": message.id})
            results.append((message, None))
    done = 0
    for message, analysis in results:
        if analysis is None:
            message.analysis_attempts += 1
        else:
            _apply(session, message, analysis)
            _follow_up(session, keyring, message)
            done += 1
    session.flush()
    return done


def pending_count(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count(Message.id)).where(
                Message.analyzed_at.is_(None),
                Message.analysis_attempts < MAX_ANALYSIS_ATTEMPTS,
            )
        )
        or 0
    )


def _analysis_of(keyring: Keyring, message: Message) -> Analysis:
    original = keyring.decrypt(message.raw_encrypted, associated_data(message))
    context = AnalysisContext(
        channel=message.channel,
        channel_district=message.conversation.channel_district,
        conversation_id=str(message.conversation_id),
    )
    return analyze(original, context)


def _apply(session: Session, message: Message, result: Analysis) -> None:
    conversation = message.conversation
    correction = session.scalars(
        select(TriageLabel)
        .where(TriageLabel.message_id == message.id)
        .order_by(TriageLabel.id.desc())
        .limit(1)
    ).first()
    message.redacted_text = result.redacted
    message.lang = result.lang
    # an operator's correction (even one made while the analysis ran) wins
    message.category = correction.category if correction else result.category
    message.urgent = correction.urgent if correction else result.urgent
    message.district = result.district
    message.entity_types = [
        {"type": s.type, "start": s.start, "end": s.end} for s in result.entities
    ]
    message.reasons = list(result.reasons)
    message.analyzed_at = utcnow()
    message.analysis_attempts += 1
    session.flush()
    conversation.urgent = _any_urgent(session, conversation.id)
    if _is_latest_analysed(session, message):
        if not conversation.triage_corrected:
            conversation.category = message.category
        if message.district:
            conversation.district = message.district
    if conversation.district is None:
        conversation.district = conversation.channel_district


def _follow_up(session: Session, keyring: Keyring, message: Message) -> None:
    """What an analysed message sets off: a feedback answer is filed (or, if it is a new
    matter, reopens the conversation); an emergency gets the 112 answer at once."""
    from stemme.inbox import auto, feedback

    if message.kind == "feedback_answer":
        feedback.file_answer(session, message)
    auto.after_analysis(session, keyring, message)


def _any_urgent(session: Session, conversation_id: int) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(Message.conversation_id == conversation_id, Message.urgent.is_(True))
            )
        )
    )


def _is_latest_analysed(session: Session, message: Message) -> bool:
    newer = session.scalar(
        select(
            exists().where(
                Message.conversation_id == message.conversation_id,
                Message.direction == "in",
                Message.id > message.id,
                Message.analyzed_at.is_not(None),
            )
        )
    )
    return not newer


# --- the queue, district-scoped ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConversationFilter:
    channel: str | None = None
    district: str | None = None
    status: str | None = None
    category: str | None = None
    urgent: bool | None = None
    page: int = 1
    per_page: int = 25
    assignee: int | str | None = None  # a user id, or "none" for unassigned


@dataclass(frozen=True, slots=True)
class MessageView:
    """A message as the inbox shows it: redacted text only (None until analysed)."""

    id: int
    direction: str
    text: str | None
    created_at: datetime
    lang: str | None
    category: str | None
    urgent: bool
    analyzed: bool
    kind: str = "citizen"
    reasons: tuple[str, ...] = ()
    delivery: str | None = None
    delivery_error: str | None = None
    author_id: int | None = None


@dataclass(frozen=True, slots=True)
class ConversationView:
    id: int
    channel: str
    district: str | None
    category: str | None
    urgent: bool
    status: str
    created_at: datetime
    last_message_at: datetime
    messages: list[MessageView]
    assignee_id: int | None = None
    outcome: str | None = None
    lang: str | None = None
    first_response_at: datetime | None = None


def list_conversations(
    session: Session, principal: Principal, filters: ConversationFilter
) -> tuple[int, list[ConversationView]]:
    """Conversations the principal may see: urgent first, then the longest waiting."""
    principal.require(Permission.VIEW_INBOX)
    if filters.status is not None and filters.status not in (*STATUSES, ACTIVE):
        raise InvalidInputError(
            "Ukjent status: %(status)s (gyldige: %(valid)s)",
            status=filters.status,
            valid=", ".join(STATUSES),
        )
    per_page = min(max(1, filters.per_page), MAX_PER_PAGE)
    page = max(1, filters.page)
    total = session.scalar(_filtered(select(func.count(Conversation.id)), principal, filters)) or 0
    conversations = session.scalars(
        _filtered(select(Conversation), principal, filters)
        .order_by(*QUEUE_ORDER)
        .limit(per_page)
        .offset((page - 1) * per_page)
        .options(selectinload(Conversation.messages))
    ).all()
    return int(total), [_view(c) for c in conversations]


def _filtered(query: Select[Any], principal: Principal, filters: ConversationFilter) -> Select[Any]:
    query = query.where(principal.scope_filter(Conversation.district))
    if not principal.is_national:
        query = query.where(Conversation.district.is_not(None))
    if filters.channel:
        query = query.where(Conversation.channel == filters.channel)
    if filters.district:
        query = query.where(Conversation.district == filters.district)
    if filters.status == ACTIVE:
        query = query.where(Conversation.status != "closed")
    elif filters.status:
        query = query.where(Conversation.status == filters.status)
    if filters.assignee == "none":
        query = query.where(Conversation.assignee_id.is_(None))
    elif isinstance(filters.assignee, int):
        query = query.where(Conversation.assignee_id == filters.assignee)
    if filters.category:
        query = query.where(Conversation.category == filters.category)
    if filters.urgent is not None:
        query = query.where(Conversation.urgent.is_(filters.urgent))
    return query


def get_conversation(
    session: Session, principal: Principal, conversation_id: int
) -> ConversationView:
    principal.require(Permission.VIEW_INBOX)
    return _view(_visible_conversation(session, principal, conversation_id))


def _visible_conversation(
    session: Session, principal: Principal, conversation_id: int
) -> Conversation:
    """The conversation if the principal's scope covers it; else NotFound (not revealing it)."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or not principal.covers(conversation.district):
        raise NotFoundError("Fant ingen samtale med id %(id)s.", id=conversation_id)
    return conversation


def _visible_message(session: Session, principal: Principal, message_id: int) -> Message:
    message = session.get(Message, message_id)
    if message is None or not principal.covers(message.conversation.district):
        raise NotFoundError("Fant ingen melding med id %(id)s.", id=message_id)
    return message


def conversation_of_message(session: Session, principal: Principal, message_id: int) -> int:
    """The id of the (visible) conversation a message belongs to."""
    principal.require(Permission.VIEW_INBOX)
    return _visible_message(session, principal, message_id).conversation_id


def _view(conversation: Conversation) -> ConversationView:
    return ConversationView(
        id=conversation.id,
        channel=conversation.channel,
        district=conversation.district,
        category=conversation.category,
        urgent=conversation.urgent,
        status=conversation.status,
        created_at=conversation.created_at,
        last_message_at=conversation.last_message_at,
        messages=[_message_view(m) for m in conversation.messages],
        assignee_id=conversation.assignee_id,
        outcome=conversation.outcome,
        lang=conversation.lang,
        first_response_at=conversation.first_response_at,
    )


def _message_view(message: Message) -> MessageView:
    analysed = message.analyzed_at is not None
    return MessageView(
        id=message.id,
        direction=message.direction,
        text=message.redacted_text if analysed else None,
        created_at=message.created_at,
        lang=message.lang,
        category=message.category,
        urgent=message.urgent,
        analyzed=analysed,
        kind=message.kind,
        reasons=tuple(message.reasons or ()),
        delivery=message.delivery,
        delivery_error=message.delivery_error,
        author_id=message.author_id,
    )


# --- originals and corrections ---------------------------------------------------------------


def read_original(session: Session, principal: Principal, keyring: Keyring, message_id: int) -> str:
    """The unredacted original of one message; every read is written to the audit log."""
    principal.require(Permission.READ_ORIGINALS)
    message = _visible_message(session, principal, message_id)
    original = keyring.decrypt(message.raw_encrypted, associated_data(message))
    audit.record_read(session, principal, "message", message.id, message.conversation.district)
    return original


def correct_triage(
    session: Session, principal: Principal, message_id: int, category: str, urgent: bool
) -> TriageLabel:
    """An operator's correction: stored as a training label, applied, and audited."""
    from stemme.understanding.triage import CATEGORIES

    principal.require(Permission.WORK_INBOX)
    if category not in CATEGORIES:
        raise InvalidInputError(
            "Ukjent kategori: %(category)s (gyldige: %(valid)s)",
            category=category,
            valid=", ".join(CATEGORIES),
        )
    message = _visible_message(session, principal, message_id)
    conversation = message.conversation
    previous = {"category": message.category, "urgent": message.urgent}
    label = TriageLabel(
        message_id=message.id,
        category=category,
        urgent=urgent,
        user_id=principal.user_id,
        created_at=utcnow(),
    )
    session.add(label)
    message.category = category
    message.urgent = urgent
    session.flush()
    conversation.category = category
    conversation.triage_corrected = True
    conversation.urgent = _any_urgent(session, conversation.id)
    audit.record(
        session,
        principal,
        "triage.correct",
        "message",
        message.id,
        district=conversation.district,
        details={"from": previous, "to": {"category": category, "urgent": urgent}},
    )
    return label


def training_labels(session: Session) -> list[dict[str, object]]:
    """Operators' corrections as training examples for ``stemme triage train --labels``:
    the latest correction of each message, with its redacted text (never the original)."""
    rows = session.execute(
        select(TriageLabel, Message.redacted_text)
        .join(Message, Message.id == TriageLabel.message_id)
        .where(Message.redacted_text.is_not(None))
        .order_by(TriageLabel.message_id, TriageLabel.id)
    ).all()
    latest: dict[int, dict[str, object]] = {}
    for label, redacted in rows:
        latest[label.message_id] = {
            "text": redacted,
            "category": label.category,
            "urgent": label.urgent,
        }
    return list(latest.values())
