"""The intake journal of the webhook channels: acknowledge with one statement, file later.

Meta (and the webhook bridge) only need to hear that a delivery is safe; nobody waits for
its conversation. So their acknowledgement path appends the messages to
``inbound_deliveries`` in one statement (``journal_messages``) and answers. The worker
files the journal into conversations in batches (``file_journal``) before it analyses,
which is the same ``file_message`` the web chat and e-mail call on their own
acknowledgement path, so threading, duplicates and feedback answers work the same way.

Nothing acknowledged is lost: a journal row is deleted in the transaction that files it. A
row that cannot be filed stays, is counted (``attempts``) and is tried again, alone, after an
exponential backoff (``next_attempt_at``: 2 s, 8 s, 32 s, 128 s), so a short database outage
or a passing fault does not use up its attempts; after ``MAX_FILING_ATTEMPTS`` it is left for
an administrator (``stemme.inbox.stuck``: ``stemme journal``, ``/admin/inbox``) and logged.
Only the exception's type name is stored (``last_error``), never its message.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Engine,
    Table,
    and_,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from stemme.db import reader, transaction, utcnow
from stemme.errors import ConflictError
from stemme.inbox.models import Conversation, InboundDelivery, Message, message_associated_data
from stemme.inbox.service import (
    file_message,
    inbound_message_row,
    intake_lock_key,
    intake_statements,
    new_conversation_row,
)
from stemme.inbox.types import InboundMessage
from stemme.privacy.crypto import Keyring

log = logging.getLogger("stemme.inbox")

MAX_FILING_ATTEMPTS = 5
# After a failed attempt a row waits FIRST_RETRY_SECONDS · RETRY_FACTOR^(attempts - 1), at
# most MAX_RETRY_SECONDS: 2, 8, 32 and 128 s, so the five attempts span some three minutes.
FIRST_RETRY_SECONDS = 2.0
RETRY_FACTOR = 4
MAX_RETRY_SECONDS = 600.0
_JOURNAL = cast(Table, InboundDelivery.__table__)
GIVEN_UP = _JOURNAL.c.attempts >= MAX_FILING_ATTEMPTS
"""The journal rows the worker gave up (left to an administrator, and to retention)."""


def retry_delay(attempts: int) -> timedelta:
    """How long a row waits after its ``attempts``-th failed attempt."""
    seconds = FIRST_RETRY_SECONDS * RETRY_FACTOR ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, MAX_RETRY_SECONDS))


def _due(now: datetime) -> ColumnElement[bool]:
    """Rows to file now: not given up, and not waiting out a backoff."""
    return and_(
        ~GIVEN_UP,
        or_(_JOURNAL.c.next_attempt_at.is_(None), _JOURNAL.c.next_attempt_at <= now),
    )


@cache
def _append(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO NOTHING: a retry of a delivery still waiting is dropped."""
    build_insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return build_insert(_JOURNAL).on_conflict_do_nothing(
        index_elements=["channel", "channel_message_id"]
    )


def journal_messages(engine: Engine, keyring: Keyring, messages: Sequence[InboundMessage]) -> None:
    """Append the messages of one delivery to the journal, durably, in one statement.

    On PostgreSQL the statement runs in autocommit (one round trip: a single INSERT is
    atomic by itself); on SQLite in a short write transaction.
    """
    now = utcnow()
    rows = []
    for message in messages:
        uid = uuid.uuid4().hex
        rows.append(
            {
                "uid": uid,
                "channel": message.channel,
                "channel_message_id": message.channel_message_id,
                "thread_key": message.thread_key,
                "channel_district": message.channel_district,
                "raw_encrypted": keyring.encrypt(message.text, message_associated_data(uid)),
                "sent_at": message.sent_at,
                "received_at": now,
                "attempts": 0,
            }
        )
    if not rows:
        return
    statement = _append(engine.dialect.name)
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(statement, rows)
        return
    with engine.begin() as connection:
        connection.execute(statement, rows)


@dataclass(frozen=True, slots=True)
class _Waiting:
    id: int
    uid: str
    channel: str
    channel_message_id: str
    thread_key: str
    channel_district: str | None
    raw_encrypted: bytes
    sent_at: datetime | None
    received_at: datetime


def has_waiting(session: Session, now: datetime | None = None) -> bool:
    """Is any journalled message due to be filed ``now``? (read only)

    Rows waiting out a backoff and rows given up are not: the worker must not spin on them.
    """
    query = select(exists().where(_due(now or utcnow())))
    return bool(session.execute(query).scalar())


def file_journal(
    sessions: sessionmaker[Session], *, limit: int = 100, now: datetime | None = None
) -> int:
    """File up to ``limit`` due messages, oldest first; how many rows were taken.

    All in one transaction; if one row fails, the batch is rolled back and filed again one
    row per transaction, so one bad row neither blocks nor loses the others. A row that
    fails waits (``retry_delay``) before it is due again. ``now`` is for tests.
    """
    now = now or utcnow()
    with reader(sessions) as session:  # no write lock (SQLite) while the journal is empty
        if not has_waiting(session, now):
            return 0
    try:
        with transaction(sessions) as session:
            if not _sole_filer(session):
                return 0
            batch = _claim(session, limit, now)
            if not batch:
                return 0
            _file_batch(session, batch)
            _forget(session, [row.id for row in batch])
            return len(batch)
    except Exception:
        log.warning("filing a journal batch failed; filing it row by row", exc_info=True)
    with transaction(sessions) as session:
        if not _sole_filer(session):
            return 0
        ids = [row.id for row in _claim(session, limit, now)]
    for row_id in ids:
        _file_alone(sessions, row_id, now)
    return len(ids)


_FILER_LOCK = text("SELECT pg_try_advisory_xact_lock(hashtextextended('stemme.journal', 0))")


def _sole_filer(session: Session) -> bool:
    """On PostgreSQL one worker at a time files the journal, so the messages of a thread are
    filed in the order they arrived (with two filers, one could file a thread's second message
    while the other still holds its first). Filing is cheap next to analysis, so this costs
    no throughput. SQLite's write lock serialises filing anyway."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.execute(_FILER_LOCK).scalar())


def _claim(
    session: Session, limit: int, now: datetime, row_id: int | None = None
) -> list[_Waiting]:
    query = select(*(_JOURNAL.c[name] for name in _Waiting.__slots__)).where(_due(now))
    if row_id is not None:
        query = query.where(_JOURNAL.c.id == row_id)
    query = query.order_by(_JOURNAL.c.id).limit(limit)
    return [_Waiting(*row) for row in session.execute(query)]


_LOCK_THREADS = text(
    "SELECT count(pg_advisory_xact_lock(hashtextextended(key, 0)))"
    " FROM unnest(CAST(:keys AS text[])) AS key"
)
_MESSAGES = cast(Table, Message.__table__)
_CONVERSATIONS = cast(Table, Conversation.__table__)
_Thread = tuple[str, str]  # (channel, thread_key)


def _file_batch(session: Session, batch: list[_Waiting]) -> None:
    """File a batch with a handful of statements, however many rows it has.

    What ``file_message`` does per message, per batch: lock the threads, drop messages filed
    before, find each thread's latest conversation, start the new conversations, touch the
    continued ones and insert the messages, each in one statement. A thread whose latest
    conversation is closed (the message may answer its feedback question) takes
    ``file_message`` itself, row by row: that is rare, and its rules stay in one place.
    A conflict on insert raises, so the caller files the batch row by row instead.
    """
    connection = session.connection()
    statements = intake_statements(connection.dialect.name)
    if connection.dialect.name == "postgresql":
        keys = sorted({intake_lock_key(row.channel, row.thread_key) for row in batch})
        connection.execute(_LOCK_THREADS, {"keys": keys})
    filed = _filed_before(session, batch)
    threads: dict[_Thread, list[_Waiting]] = {}
    for row in batch:
        if (row.channel, row.channel_message_id) not in filed:
            threads.setdefault((row.channel, row.thread_key), []).append(row)
    latest = _latest_conversations(session, list(threads))
    conversation_of: dict[_Thread, int] = {}
    new_threads: list[_Thread] = []
    touched: list[dict[str, Any]] = []
    for thread, rows in list(threads.items()):
        current = latest.get(thread)
        if current is None:
            new_threads.append(thread)
        elif current.status == "closed":
            for row in threads.pop(thread):
                _file(session, row)
        else:  # a reply to a conversation waiting for the citizen puts it back in the queue
            conversation_of[thread] = current.id
            status = "open" if current.status == "waiting" else current.status
            touched.append(
                {"conversation_id": current.id, "now": rows[-1].received_at, "new_status": status}
            )
    if new_threads:
        # Without RETURNING, and the new ids read back in one query: SQLite cannot return
        # them in parameter order, so SQLAlchemy would insert row by row to correlate them.
        connection.execute(
            insert(_CONVERSATIONS), [_started(threads[thread]) for thread in new_threads]
        )
        started = _latest_conversations(session, new_threads)
        conversation_of.update((thread, started[thread].id) for thread in new_threads)
    if touched:
        connection.execute(statements.touch_conversation, touched)
    rows = sorted((row for rows in threads.values() for row in rows), key=lambda row: row.id)
    if not rows:
        return
    messages = [
        inbound_message_row(
            row,
            row.uid,
            row.raw_encrypted,
            row.received_at,
            conversation_of[(row.channel, row.thread_key)],
            "citizen",
        )
        for row in rows
    ]
    inserted = connection.execute(statements.insert_message, messages).all()
    if len(inserted) != len(messages):  # filed meanwhile after all: row by row sorts it out
        raise ConflictError("Meldingen kunne ikke lagres; prøv igjen.")


def _started(rows: list[_Waiting]) -> dict[str, Any]:
    """The conversation a thread's first message starts, last touched by its last one."""
    row = new_conversation_row(rows[0], rows[0].received_at)
    row["last_message_at"] = rows[-1].received_at
    return row


def _filed_before(session: Session, batch: list[_Waiting]) -> set[tuple[str, str]]:
    pairs = [(row.channel, row.channel_message_id) for row in batch]
    key = tuple_(_MESSAGES.c.channel, _MESSAGES.c.channel_message_id)
    query = select(_MESSAGES.c.channel, _MESSAGES.c.channel_message_id).where(key.in_(pairs))
    return {(channel, message_id) for channel, message_id in session.execute(query)}


def _latest_conversations(session: Session, threads: list[_Thread]) -> dict[_Thread, Any]:
    """Each thread's latest conversation (id, status), for the threads that have one."""
    if not threads:
        return {}
    c = _CONVERSATIONS.c
    latest = (
        select(func.max(c.id).label("id"))
        .where(tuple_(c.channel, c.thread_key).in_(threads))
        .group_by(c.channel, c.thread_key)
        .subquery()
    )
    query = select(c.id, c.channel, c.thread_key, c.status).join(latest, latest.c.id == c.id)
    return {(row.channel, row.thread_key): row for row in session.execute(query)}


def _file(session: Session, row: _Waiting) -> None:
    file_message(session, row, row.uid, row.raw_encrypted, row.received_at)


def _forget(session: Session, ids: list[int]) -> None:
    if ids:
        session.execute(delete(_JOURNAL).where(_JOURNAL.c.id.in_(ids)))


def _file_alone(sessions: sessionmaker[Session], row_id: int, now: datetime) -> None:
    try:
        with transaction(sessions) as session:
            if not _sole_filer(session):  # another worker files the journal now
                return
            for row in _claim(session, 1, now, row_id):
                _file(session, row)
                _forget(session, [row.id])
        return
    except Exception as exc:
        log.exception("a journalled message could not be filed", extra={"journal_id": row_id})
        error = type(exc).__name__[:64]  # the type only: a message could quote the citizen
    with transaction(sessions) as session:
        _count_failure(session, row_id, error, now)


def _count_failure(session: Session, row_id: int, error: str, now: datetime) -> None:
    """Count a failed attempt; the row waits out its backoff, or is given up."""
    attempts = session.scalar(
        select(_JOURNAL.c.attempts).where(_JOURNAL.c.id == row_id).with_for_update()
    )
    if attempts is None:  # filed or released meanwhile
        return
    attempts += 1
    given_up = attempts >= MAX_FILING_ATTEMPTS
    session.execute(
        update(_JOURNAL)
        .where(_JOURNAL.c.id == row_id)
        .values(
            attempts=attempts,
            last_error=error,
            next_attempt_at=None if given_up else now + retry_delay(attempts),
        )
    )
    if given_up:
        log.error(
            "a journalled message was given up; see `stemme journal list`",
            extra={"journal_id": row_id, "attempts": attempts, "error": error},
        )
