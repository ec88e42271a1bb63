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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Protocol, cast

from sqlalchemy import (
    Select,
    Table,
    and_,
    bindparam,
    case,
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
from sqlalchemy.orm import Session, joinedload, selectinload

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
    is_wiped,
    message_associated_data,
)
from stemme.inbox.types import InboundMessage, ReceiveResult
from stemme.privacy.crypto import Keyring
from stemme.understanding.pipeline import Analysis, AnalysisContext, analyze, analyze_many

log = logging.getLogger("stemme.inbox")

MAX_ANALYSIS_ATTEMPTS = 3
MAX_PER_PAGE = 100
ACTIVE = "active"  # a status filter: every conversation that is not closed


# --- intake ------------------------------------------------------------------------------


def receive(session: Session, keyring: Keyring, msg: InboundMessage) -> ReceiveResult:
    """Store one inbound message (encrypted) in its conversation; duplicates are dropped.

    The same delivery twice stores one message: the second call answers ``duplicate=True``
    with the first one's ids.
    """
    uid = uuid.uuid4().hex
    raw_encrypted = keyring.encrypt(msg.text, message_associated_data(uid))
    return file_message(session, msg, uid, raw_encrypted, utcnow())


class Envelope(Protocol):
    """Where a message belongs, without its text: an ``InboundMessage`` or a journal row."""

    @property
    def channel(self) -> str: ...
    @property
    def thread_key(self) -> str: ...
    @property
    def channel_message_id(self) -> str: ...
    @property
    def channel_district(self) -> str | None: ...
    @property
    def sent_at(self) -> datetime | None: ...


def file_message(
    session: Session, msg: Envelope, uid: str, raw_encrypted: bytes, received_at: datetime
) -> ReceiveResult:
    """File a message whose text is encrypted already (bound to ``uid``) into its thread.

    Intake of one thread is serialised (``_lock_for_intake``), and a duplicate always has
    the same thread, so the check after the lock sees the first one committed. This is on
    the acknowledgement path of the web chat and e-mail and files every journalled webhook
    message, so it runs a handful of prepared Core statements (lock, two indexed lookups,
    one or two inserts): no ORM unit of work, no statement built per call.
    """
    _lock_for_intake(session, msg)
    found = _existing(session, msg.channel, msg.channel_message_id)
    if found is not None:
        return found
    conversation_id, kind, created = _conversation_for(session, msg, received_at)
    row = inbound_message_row(msg, uid, raw_encrypted, received_at, conversation_id, kind)
    connection = session.connection()
    insert_message = intake_statements(connection.dialect.name).insert_message
    message_id: int | None = connection.execute(insert_message, row).scalar_one_or_none()
    if message_id is None:  # the same message id under another thread won the race
        found = _existing(session, msg.channel, msg.channel_message_id)
        if found is None:  # the row it conflicted with is gone again
            raise ConflictError("Meldingen kunne ikke lagres; prøv igjen.")
        if created:
            session.execute(delete(Conversation).where(Conversation.id == conversation_id))
        return found
    return ReceiveResult(message_id, conversation_id, duplicate=False)


def inbound_message_row(
    msg: Envelope,
    uid: str,
    raw_encrypted: bytes,
    received_at: datetime,
    conversation_id: int,
    kind: str,
) -> dict[str, Any]:
    """The messages row of a filed inbound message (for ``insert_message``)."""
    return {
        "uid": uid,
        "conversation_id": conversation_id,
        "channel": msg.channel,
        "direction": "in",
        "kind": kind,
        "channel_message_id": msg.channel_message_id,
        "raw_encrypted": raw_encrypted,
        "urgent": False,
        "entity_types": [],
        "reasons": [],
        "analysis_attempts": 0,
        "delivery_attempts": 0,
        "sent_at": msg.sent_at,
        "created_at": received_at,
    }


def new_conversation_row(msg: Envelope, now: datetime) -> dict[str, Any]:
    """The conversations row a message's thread starts (for ``insert_conversation``)."""
    return {
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
    }


def intake_lock_key(channel: str, thread_key: str) -> str:
    """The advisory lock that serialises intake of one thread (PostgreSQL)."""
    return f"stemme.inbox:{channel}:{thread_key}"


@dataclass(frozen=True, slots=True)
class IntakeStatements:
    """The statements of ``receive``, built once per dialect (values come as parameters)."""

    existing: Any
    latest_conversation: Any
    insert_conversation: Any
    touch_conversation: Any
    insert_message: Any


@cache
def intake_statements(dialect: str) -> IntakeStatements:
    messages, conversations = cast(Table, Message.__table__), cast(Table, Conversation.__table__)
    build_insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return IntakeStatements(
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
        intake_statements(connection.dialect.name).existing,
        {"channel": channel, "channel_message_id": channel_message_id},
    ).first()
    return None if row is None else ReceiveResult(row.id, row.conversation_id, duplicate=True)


_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
_SQLITE_WRITE_LOCK = text("UPDATE conversations SET urgent = urgent WHERE id IS NULL")


def _lock_for_intake(session: Session, msg: Envelope) -> None:
    """Serialise intake of one thread, so one thread never opens two conversations.

    PostgreSQL: a transaction-scoped advisory lock on the thread. SQLite: take the database
    write lock now (a no-op UPDATE), before reading, so the read-then-write below cannot
    fail on a stale snapshot.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_ADVISORY_LOCK, {"key": intake_lock_key(msg.channel, msg.thread_key)})
    else:
        connection.execute(_SQLITE_WRITE_LOCK)


def _conversation_for(session: Session, msg: Envelope, now: datetime) -> tuple[int, str, bool]:
    """The id of the message's conversation, the message's kind, and whether the
    conversation is new: an open conversation takes a "citizen" message; a closed one still
    waiting for feedback takes the answer as a "feedback_answer"; otherwise a new
    conversation starts."""
    from stemme.inbox.feedback import awaiting_answer

    connection = session.connection()
    statements = intake_statements(connection.dialect.name)
    latest = connection.execute(
        statements.latest_conversation, {"channel": msg.channel, "thread_key": msg.thread_key}
    ).first()
    if latest is not None and latest.status == "closed":
        if awaiting_answer(session, latest):
            return latest.id, "feedback_answer", False
        latest = None
    if latest is None:
        created: int = connection.execute(
            statements.insert_conversation, new_conversation_row(msg, now)
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
#
# A batch is analysed in three steps: claim the pending messages (one query), run the
# understanding pipeline on each (no database), store the results (a handful of statements
# for the whole batch: corrections, one bulk UPDATE of the messages, the conversations' state
# in one grouped query, bulk UPDATEs of what changed). Only the rare messages that need more
# go one by one: a feedback answer (its whole conversation takes the per-message path) and an
# automatic answer to queue.


@dataclass(frozen=True, slots=True)
class PendingMessage:
    """What the pipeline needs of a claimed message."""

    id: int
    uid: str
    conversation_id: int
    channel: str
    channel_district: str | None
    raw_encrypted: bytes


@dataclass(frozen=True, slots=True)
class AnalysedMessage:
    """The pipeline's result for one claimed message; None when the pipeline failed."""

    message_id: int
    analysis: Analysis | None


def analyze_message(session: Session, keyring: Keyring, message_id: int) -> Message:
    """Run the understanding pipeline on one message (again, if it was analysed before)."""
    message = session.get(Message, message_id)
    if message is None:
        raise NotFoundError("Fant ingen melding med id %(id)s.", id=message_id)
    if is_wiped(message):  # the redacted text and its analysis stay as they are
        raise NotFoundError("Originalen er slettet fordi oppbevaringstiden er ute.")
    _apply(session, message, _analysis_of(keyring, message))
    return message


def analyze_pending(session: Session, keyring: Keyring, limit: int = 100) -> int:
    """Analyse up to ``limit`` messages not yet analysed, oldest first; the number done.

    Claim, pipeline and store in one session. A message whose analysis fails is retried up
    to MAX_ANALYSIS_ATTEMPTS times (a configuration error stops the batch instead). The
    worker on SQLite, where a writing transaction holds the database's write lock from its
    start, runs the three steps itself so that the pipeline runs outside that transaction.
    """
    return store_analyses(session, keyring, analyze_claimed(keyring, claim_pending(session, limit)))


def claim_pending(session: Session, limit: int = 100) -> list[PendingMessage]:
    """Up to ``limit`` messages not yet analysed, oldest first, with what the pipeline needs.

    On PostgreSQL the rows are locked (``FOR UPDATE SKIP LOCKED``) until the transaction
    ends, so concurrent workers never claim the same message; SQLite runs one worker.
    """
    claim = (
        select(
            Message.id,
            Message.uid,
            Message.conversation_id,
            Message.channel,
            Message.raw_encrypted,
            Conversation.channel_district,
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.analyzed_at.is_(None), Message.analysis_attempts < MAX_ANALYSIS_ATTEMPTS)
        .order_by(Message.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        claim = claim.with_for_update(skip_locked=True, of=Message)
    return [
        PendingMessage(
            id=row.id,
            uid=row.uid,
            conversation_id=row.conversation_id,
            channel=row.channel,
            channel_district=row.channel_district,
            raw_encrypted=row.raw_encrypted,
        )
        for row in session.execute(claim)
    ]


def analyze_claimed(keyring: Keyring, pending: list[PendingMessage]) -> list[AnalysedMessage]:
    """Run the pipeline on the claimed messages (no database access), as one batch
    (``analyze_many``: faster than one by one when the worker has a backlog).

    A failure of one message is logged and recorded as None: when the batch fails, its
    messages are analysed one by one to find the failing ones. A ConfigurationError (the
    pipeline cannot run at all) stops the batch without using anyone's attempts.
    """
    analyses: dict[int, Analysis | None] = {}
    readable: list[tuple[PendingMessage, str]] = []
    for message in pending:
        try:
            original = keyring.decrypt(message.raw_encrypted, message_associated_data(message.uid))
        except Exception:
            log.exception("analysis failed", extra={"message_id": message.id})
            analyses[message.id] = None
            continue
        readable.append((message, original))
    contexts = [
        _context(message.channel, message.channel_district, message.conversation_id)
        for message, _ in readable
    ]
    texts = [original for _, original in readable]
    try:
        batch: Sequence[Analysis | None] = analyze_many(texts, contexts)
    except ConfigurationError:
        raise
    except Exception:
        batch = [
            _analysis_or_none(message.id, text, context)
            for (message, text), context in zip(readable, contexts, strict=True)
        ]
    analyses.update(zip((message.id for message, _ in readable), batch, strict=True))
    return [AnalysedMessage(message.id, analyses[message.id]) for message in pending]


def _analysis_or_none(message_id: int, text: str, context: AnalysisContext) -> Analysis | None:
    """The pipeline's result for one message, or None (logged) if it fails."""
    try:
        return analyze(text, context)
    except ConfigurationError:
        raise
    except Exception:
        log.exception("analysis failed", extra={"message_id": message_id})
        return None


@dataclass(frozen=True, slots=True)
class _Stored:
    """A claimed message as it is now (re-read in the writing transaction)."""

    id: int
    conversation_id: int
    direction: str
    kind: str
    created_at: datetime
    analysis_attempts: int
    correction: tuple[str, bool] | None  # the latest operator correction (category, urgent)


@dataclass(slots=True)
class _Result:
    """One analysed message of the batch: its stored state and its new values."""

    stored: _Stored
    analysis: Analysis
    category: str
    urgent: bool

    # what auto.plan_answer reads of a message
    @property
    def direction(self) -> str:
        return self.stored.direction

    @property
    def kind(self) -> str:
        return self.stored.kind

    @property
    def lang(self) -> str | None:
        return self.analysis.lang

    @property
    def created_at(self) -> datetime:
        return self.stored.created_at


@dataclass(slots=True)
class _ConversationState:
    """The columns of a conversation that analysis reads or sets."""

    id: int
    channel: str
    channel_district: str | None
    district: str | None
    category: str | None
    urgent: bool
    triage_corrected: bool
    district_transferred: bool
    status: str
    lang: str | None
    emergency_replied: bool
    out_of_hours_replied: bool


_WRITTEN = ("district", "category", "urgent", "lang", "emergency_replied", "out_of_hours_replied")


def store_analyses(session: Session, keyring: Keyring, analysed: list[AnalysedMessage]) -> int:
    """Store a batch's results in the current transaction; the number analysed.

    A message analysed or deleted since it was claimed is skipped. An operator's
    correction (even one made while the pipeline ran) wins over the pipeline's category
    and urgency. Then each conversation is brought up to date as if its messages had been
    stored one by one, oldest first: urgent if any message is; category and district those
    of its latest analysed inbound message (the category unless an operator corrected it);
    and the automatic answers the messages call for.
    """
    if not analysed:
        return 0
    stored = _stored(session, [a.message_id for a in analysed])
    failed = [a.message_id for a in analysed if a.analysis is None and a.message_id in stored]
    if failed:
        session.execute(
            update(Message)
            .where(Message.id.in_(failed))
            .values(analysis_attempts=Message.analysis_attempts + 1)
        )
    results: list[_Result] = []
    for item in analysed:
        current = stored.get(item.message_id)
        if item.analysis is None or current is None:
            continue
        category, urgent = current.correction or (item.analysis.category, item.analysis.urgent)
        results.append(_Result(current, item.analysis, category, urgent))
    if not results:
        return 0
    results.sort(key=lambda r: r.stored.id)
    # a conversation with a feedback answer in the batch takes the per-message path
    one_by_one = {r.stored.conversation_id for r in results if r.stored.kind == "feedback_answer"}
    batched = [r for r in results if r.stored.conversation_id not in one_by_one]
    if batched:
        _store_batched(session, keyring, batched)
    if one_by_one:
        analyses = {
            r.stored.id: r.analysis for r in results if r.stored.conversation_id in one_by_one
        }
        messages = session.scalars(
            select(Message)
            .where(Message.id.in_(analyses))
            .order_by(Message.id)
            .options(selectinload(Message.conversation))
        ).all()
        for message in messages:
            _apply(session, message, analyses[message.id])
            _follow_up(session, keyring, message)
        session.flush()
    return len(results)


def _ids(results: list[_Result]) -> set[int]:
    return {r.stored.id for r in results}


def _stored(session: Session, ids: list[int]) -> dict[int, _Stored]:
    """The claimed messages still waiting for analysis, each with its latest correction."""
    rows = session.execute(
        select(
            Message.id,
            Message.conversation_id,
            Message.direction,
            Message.kind,
            Message.created_at,
            Message.analysis_attempts,
            TriageLabel.category,
            TriageLabel.urgent,
        )
        .outerjoin(TriageLabel, TriageLabel.message_id == Message.id)
        .where(
            Message.id.in_(ids),
            Message.analyzed_at.is_(None),
            Message.analysis_attempts < MAX_ANALYSIS_ATTEMPTS,
        )
        .order_by(Message.id, TriageLabel.id)
    ).all()
    found: dict[int, _Stored] = {}
    for row in rows:  # a message's corrections oldest first: the last one wins
        found[row.id] = _Stored(
            id=row.id,
            conversation_id=row.conversation_id,
            direction=row.direction,
            kind=row.kind,
            created_at=row.created_at,
            analysis_attempts=row.analysis_attempts,
            correction=None if row.category is None else (row.category, row.urgent),
        )
    return found


def _store_batched(session: Session, keyring: Keyring, results: list[_Result]) -> None:
    from stemme.inbox import auto, hours

    now = utcnow()
    session.execute(
        update(Message),
        [
            {
                "id": r.stored.id,
                "redacted_text": r.analysis.redacted,
                "lang": r.analysis.lang,
                "category": r.category,
                "urgent": r.urgent,
                "district": r.analysis.district,
                "entity_types": [
                    {"type": s.type, "start": s.start, "end": s.end} for s in r.analysis.entities
                ],
                "reasons": list(r.analysis.reasons),
                "analyzed_at": now,
                "analysis_attempts": r.stored.analysis_attempts + 1,
            }
            for r in results
        ],
    )
    conversations, any_urgent, newest_other = _conversation_states(session, results)
    before = {c.id: _written(c) for c in conversations.values()}
    schedules = hours.Schedules(session)
    answers: list[auto.Answer] = []
    for r in results:
        conversation = conversations[r.stored.conversation_id]
        # the latest analysed message sets category and district; an older one (analysed
        # late, e.g. after a failure) does not
        newer = newest_other.get(conversation.id)
        if newer is None or newer < r.stored.id:
            if not conversation.triage_corrected:
                conversation.category = r.category
            if r.analysis.district and not conversation.district_transferred:
                conversation.district = r.analysis.district
        if conversation.district is None:
            conversation.district = conversation.channel_district
        answer = auto.plan_answer(r, conversation, schedules)
        if answer is not None:
            answers.append(answer)
    for conversation in conversations.values():
        conversation.urgent = any_urgent[conversation.id]
    _update_conversations(session, conversations, before)
    if answers:
        auto.queue_answers(session, keyring, answers)


def _conversation_states(
    session: Session, results: list[_Result]
) -> tuple[dict[int, _ConversationState], dict[int, bool], dict[int, int | None]]:
    """The conversations of the batch (after its messages were stored): their state, whether
    any of their messages is urgent, and their newest analysed inbound message outside the
    batch."""
    conversation_ids = {r.stored.conversation_id for r in results}
    batch = _ids(results)
    summary = (
        select(
            Message.conversation_id.label("conversation_id"),
            func.max(case((Message.urgent.is_(True), 1), else_=0)).label("any_urgent"),
            func.max(
                case(
                    (
                        and_(
                            Message.direction == "in",
                            Message.analyzed_at.is_not(None),
                            Message.id.not_in(batch),
                        ),
                        Message.id,
                    ),
                )
            ).label("newest_other"),
        )
        .where(Message.conversation_id.in_(conversation_ids))
        .group_by(Message.conversation_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Conversation.id,
            Conversation.channel,
            Conversation.channel_district,
            Conversation.district,
            Conversation.category,
            Conversation.urgent,
            Conversation.triage_corrected,
            Conversation.district_transferred,
            Conversation.status,
            Conversation.lang,
            Conversation.emergency_replied,
            Conversation.out_of_hours_replied,
            summary.c.any_urgent,
            summary.c.newest_other,
        )
        .join(summary, summary.c.conversation_id == Conversation.id)
        # Locked, so an operator's change in progress (a transfer, a correction) is waited
        # for and read, not overwritten (PostgreSQL; SQLite serialises writers anyway).
        # Operators lock a conversation after its message, as the worker does, and workers
        # lock theirs in id order: no deadlock.
        .order_by(Conversation.id)
        .with_for_update(of=Conversation)
    ).all()
    states: dict[int, _ConversationState] = {}
    any_urgent: dict[int, bool] = {}
    newest_other: dict[int, int | None] = {}
    for row in rows:
        states[row.id] = _ConversationState(
            id=row.id,
            channel=row.channel,
            channel_district=row.channel_district,
            district=row.district,
            category=row.category,
            urgent=row.urgent,
            triage_corrected=row.triage_corrected,
            district_transferred=row.district_transferred,
            status=row.status,
            lang=row.lang,
            emergency_replied=row.emergency_replied,
            out_of_hours_replied=row.out_of_hours_replied,
        )
        any_urgent[row.id] = bool(row.any_urgent)
        newest_other[row.id] = row.newest_other
    return states, any_urgent, newest_other


def _written(state: _ConversationState) -> dict[str, object]:
    return {name: getattr(state, name) for name in _WRITTEN}


def _update_conversations(
    session: Session,
    states: dict[int, _ConversationState],
    before: dict[int, dict[str, object]],
) -> None:
    """Write what changed: one bulk UPDATE per set of changed columns (as the unit of work
    would, so a column that analysis did not change is never written back)."""
    groups: dict[tuple[str, ...], list[dict[str, object]]] = {}
    for state in sorted(states.values(), key=lambda s: s.id):  # rows in id order
        after = _written(state)
        changed = {k: v for k, v in after.items() if v != before[state.id][k]}
        if changed:
            groups.setdefault(tuple(changed), []).append({"id": state.id, **changed})
    for rows in groups.values():
        session.execute(update(Conversation), rows)


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


def has_pending(session: Session) -> bool:
    """Is any message waiting for analysis? (cheaper than counting them)"""
    found = session.scalar(
        select(Message.id)
        .where(Message.analyzed_at.is_(None), Message.analysis_attempts < MAX_ANALYSIS_ATTEMPTS)
        .limit(1)
    )
    return found is not None


def _context(channel: str, channel_district: str | None, conversation_id: int) -> AnalysisContext:
    return AnalysisContext(
        channel=channel, channel_district=channel_district, conversation_id=str(conversation_id)
    )


def _analysis_of(keyring: Keyring, message: Message) -> Analysis:
    original = keyring.decrypt(message.raw_encrypted, associated_data(message))
    context = _context(
        message.channel, message.conversation.channel_district, message.conversation_id
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
        if message.district and not conversation.district_transferred:
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
    original_deleted: bool = False  # under retention: only the redacted text is left


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
    # The conversations and their messages in one statement: on PostgreSQL each statement
    # reads its own snapshot, so a second one could show a message the worker analysed
    # after the first read its conversation (redacted text, but not yet urgent).
    conversations = (
        session.scalars(
            _filtered(select(Conversation), principal, filters)
            .order_by(*QUEUE_ORDER)
            .limit(per_page)
            .offset((page - 1) * per_page)
            .options(joinedload(Conversation.messages))
        )
        .unique()
        .all()
    )
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
    # with its messages in one statement (one snapshot), as in list_conversations
    return _view(_visible_conversation(session, principal, conversation_id, with_messages=True))


def _visible_conversation(
    session: Session, principal: Principal, conversation_id: int, with_messages: bool = False
) -> Conversation:
    """The conversation if the principal's scope covers it; else NotFound (not revealing it)."""
    options = [joinedload(Conversation.messages)] if with_messages else []
    conversation = session.get(Conversation, conversation_id, options=options)
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
        original_deleted=is_wiped(message),
    )


# --- originals and corrections ---------------------------------------------------------------


def read_original(session: Session, principal: Principal, keyring: Keyring, message_id: int) -> str:
    """The unredacted original of one message; every read is written to the audit log."""
    principal.require(Permission.READ_ORIGINALS)
    message = _visible_message(session, principal, message_id)
    if is_wiped(message):
        raise NotFoundError("Originalen er slettet fordi oppbevaringstiden er ute.")
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
    # The worker may be analysing this message now, holding its row (PostgreSQL): wait for
    # it and read what it stored, so the correction lands on top of the analysis. Otherwise
    # the conversation's urgency read before would look unchanged and not be written back.
    session.refresh(message, with_for_update=True)
    conversation = message.conversation
    session.refresh(conversation)
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
