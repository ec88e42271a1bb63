"""The intake journal of the webhook channels: journal_messages, file_journal, has_waiting,
the worker that files it, and the intake that writes it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, event, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from stemme import jobs
from stemme.db import reader, transaction, utcnow
from stemme.errors import NotFoundError, PermissionDeniedError
from stemme.identity.access import Principal, Role, command_line_principal
from stemme.identity.models import AuditEvent
from stemme.inbox import intake, journal, service, stuck
from stemme.inbox.journal import (
    MAX_FILING_ATTEMPTS,
    file_journal,
    has_waiting,
    journal_messages,
    retry_delay,
)
from stemme.inbox.models import (
    Conversation,
    Feedback,
    InboundDelivery,
    Message,
    associated_data,
    message_associated_data,
)
from stemme.inbox.stuck import STUCK_AFTER
from stemme.inbox.types import InboundMessage, ReceiveResult
from stemme.privacy.crypto import Keyring
from tests.conftest import LiveServer
from tests.helpers import WebClient
from tests.inbox.conftest import QUESTION_TEXT, Inbound

WEBHOOK = "messenger"  # a channel whose intake is the journal


def _journal(sessions: sessionmaker[Session]) -> list[InboundDelivery]:
    """The waiting rows, oldest first (read in a fresh session: committed data only)."""
    with sessions() as session:
        return list(session.scalars(select(InboundDelivery).order_by(InboundDelivery.id)))


def _messages(sessions: sessionmaker[Session]) -> list[Message]:
    with sessions() as session:
        return list(session.scalars(select(Message).order_by(Message.id)))


def _waiting(sessions: sessionmaker[Session], now: datetime | None = None) -> bool:
    with reader(sessions) as session:
        return has_waiting(session, now)


def _fail_filing_of(monkeypatch: pytest.MonkeyPatch, broken: set[str]) -> Callable[[], list[str]]:
    """Make filing raise for the channel_message_ids in ``broken`` (mutable: clear it to heal
    them), in a batch and alone; returns a function giving the ids filed alone, in order."""
    real = service.file_message  # what journal calls (monkeypatched there, by name)
    real_row = service.inbound_message_row  # what a batch builds each message with
    calls: list[str] = []

    def flaky(session: Session, envelope: Any, *args: Any) -> ReceiveResult:
        calls.append(envelope.channel_message_id)
        if envelope.channel_message_id in broken:
            raise RuntimeError("this one cannot be filed")
        return real(session, envelope, *args)

    def flaky_row(envelope: Any, *args: Any) -> dict[str, Any]:
        if envelope.channel_message_id in broken:
            raise RuntimeError("this one cannot be filed")
        return real_row(envelope, *args)

    monkeypatch.setattr(journal, "file_message", flaky)
    monkeypatch.setattr(journal, "inbound_message_row", flaky_row)
    return lambda: list(calls)


# --- journal_messages ----------------------------------------------------------------------


def test_the_journal_stores_the_text_encrypted_for_the_future_message(
    engine: Engine, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    secret = "Fødselsnummeret mitt er 01010112345, ring 912 34 567"
    msg = inbound(secret, channel=WEBHOOK, thread="PAGE:PSID", mid="mid.1")
    journal_messages(engine, keyring, [msg])
    [row] = _journal(sessions)  # committed: visible to another session at once
    assert (row.channel, row.thread_key, row.channel_message_id) == (WEBHOOK, "PAGE:PSID", "mid.1")
    assert (row.channel_district, row.sent_at, row.attempts) == ("Oslo", msg.sent_at, 0)
    assert len(row.uid) == 32
    assert secret.encode() not in row.raw_encrypted
    assert b"01010112345" not in row.raw_encrypted
    # bound to the uid the message will have, so filing moves it without re-encrypting
    assert keyring.decrypt(row.raw_encrypted, message_associated_data(row.uid)) == secret
    if engine.dialect.name == "postgresql":
        with sessions() as session:
            as_text = session.scalar(
                text("SELECT string_agg(d::text, '') FROM inbound_deliveries d")
            )
        assert "01010112345" not in str(as_text)


@pytest.mark.parametrize(
    ("deliveries", "expected"),
    [
        pytest.param([[(WEBHOOK, "m1")]], [(WEBHOOK, "m1")], id="one message"),
        pytest.param(
            [[(WEBHOOK, "m1")], [(WEBHOOK, "m1")]],
            [(WEBHOOK, "m1")],
            id="a retry of a waiting message is dropped",
        ),
        pytest.param(
            [[(WEBHOOK, "m1"), (WEBHOOK, "m1")]],
            [(WEBHOOK, "m1")],
            id="the same message twice in one delivery is kept once",
        ),
        pytest.param(
            [[(WEBHOOK, "m1")], [("instagram", "m1")]],
            [(WEBHOOK, "m1"), ("instagram", "m1")],
            id="the same id on another channel is another message",
        ),
        pytest.param(
            [[(WEBHOOK, "m1"), (WEBHOOK, "m2")], [(WEBHOOK, "m2"), (WEBHOOK, "m3")]],
            [(WEBHOOK, "m1"), (WEBHOOK, "m2"), (WEBHOOK, "m3")],
            id="a retry beside a new message keeps the new one",
        ),
        pytest.param([[]], [], id="an empty delivery writes nothing"),
    ],
)
def test_journal_messages_keeps_one_row_per_channel_message(
    engine: Engine,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
    deliveries: list[list[tuple[str, str]]],
    expected: list[tuple[str, str]],
) -> None:
    for delivery in deliveries:
        messages = [inbound("Hei", channel=channel, mid=mid) for channel, mid in delivery]
        journal_messages(engine, keyring, messages)
    assert [(r.channel, r.channel_message_id) for r in _journal(sessions)] == expected


def test_journalling_leaves_pooled_connections_transactional(
    engine: Engine, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    """On PostgreSQL the append runs in autocommit: the connection it borrowed must go back
    to the pool in its normal mode, or a later transaction could not roll back."""
    journal_messages(engine, keyring, [inbound(channel=WEBHOOK)])

    def write_then_fail() -> None:
        with transaction(sessions) as session:
            session.execute(update(InboundDelivery).values(attempts=3))
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError, match="roll back"):
        write_then_fail()
    assert [row.attempts for row in _journal(sessions)] == [0]


# --- file_journal --------------------------------------------------------------------------


def test_filing_keeps_each_thread_in_one_conversation_in_order(
    engine: Engine, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    texts = {"a1": "første", "a2": "andre", "b1": "en annen tråd"}
    journal_messages(engine, keyring, [inbound(texts["a1"], channel=WEBHOOK, thread="A", mid="a1")])
    journal_messages(
        engine,
        keyring,
        [
            inbound(texts["a2"], channel=WEBHOOK, thread="A", mid="a2"),
            inbound(texts["b1"], channel=WEBHOOK, thread="B", mid="b1", district="Bergen"),
        ],
    )
    waiting = _journal(sessions)
    assert file_journal(sessions) == 3
    assert _journal(sessions) == []
    assert not _waiting(sessions)
    messages = _messages(sessions)
    assert [m.channel_message_id for m in messages] == ["a1", "a2", "b1"]
    for message, row in zip(messages, waiting, strict=True):
        # moved as journalled: same uid and ciphertext, arrival time as its creation time
        assert message.uid == row.uid
        assert message.raw_encrypted == row.raw_encrypted
        assert message.created_at == row.received_at
        assert message.sent_at == row.sent_at
        assert (message.direction, message.kind, message.analyzed_at) == ("in", "citizen", None)
        assert (
            keyring.decrypt(message.raw_encrypted, associated_data(message))
            == texts[message.channel_message_id or ""]
        )
    a1, a2, b1 = messages
    assert a1.conversation_id == a2.conversation_id != b1.conversation_id
    with sessions() as session:
        thread_a = session.get(Conversation, a1.conversation_id)
        thread_b = session.get(Conversation, b1.conversation_id)
        assert thread_a is not None
        assert thread_b is not None
        assert (thread_a.channel, thread_a.thread_key, thread_a.district) == (WEBHOOK, "A", "Oslo")
        assert (thread_a.status, thread_a.created_at) == ("new", waiting[0].received_at)
        assert thread_a.last_message_at == waiting[1].received_at
        assert (thread_b.thread_key, thread_b.district) == ("B", "Bergen")


@pytest.mark.parametrize(
    ("journalled", "limit", "taken"),
    [
        pytest.param(3, 2, [2, 1, 0], id="a batch smaller than the journal"),
        pytest.param(3, 3, [3, 0], id="a batch as large as the journal"),
        pytest.param(2, 100, [2, 0], id="a batch larger than the journal"),
        pytest.param(0, 5, [0], id="an empty journal"),
    ],
)
def test_file_journal_takes_at_most_limit_rows_oldest_first(
    engine: Engine,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
    journalled: int,
    limit: int,
    taken: list[int],
) -> None:
    mids = [f"m{n}" for n in range(journalled)]
    journal_messages(engine, keyring, [inbound(channel=WEBHOOK, mid=mid) for mid in mids])
    filed = 0
    for expected in taken:
        assert file_journal(sessions, limit=limit) == expected
        filed += expected
        # the oldest went first: what is filed is a prefix, what waits is the rest
        assert [m.channel_message_id for m in _messages(sessions)] == mids[:filed]
        assert [r.channel_message_id for r in _journal(sessions)] == mids[filed:]


@pytest.mark.parametrize("first_filed_by", ["receive", "journal"])
def test_a_message_filed_already_is_dropped_when_journalled_again(
    engine: Engine,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
    first_filed_by: str,
) -> None:
    """The journal's unique key only sees waiting rows: a retry arriving after the first copy
    was filed gets in, and filing must drop it against ``messages``."""
    msg = inbound("Hei igjen", channel=WEBHOOK, mid="mid.retry")
    if first_filed_by == "receive":
        with transaction(sessions) as session:
            service.receive(session, keyring, msg)
    else:
        journal_messages(engine, keyring, [msg])
        assert file_journal(sessions) == 1
    [first] = _messages(sessions)
    journal_messages(engine, keyring, [msg])  # the channel retried
    assert len(_journal(sessions)) == 1
    assert file_journal(sessions) == 1
    assert _journal(sessions) == []
    [message] = _messages(sessions)
    assert (message.id, message.uid) == (first.id, first.uid)
    with sessions() as session:
        assert len(session.scalars(select(Conversation)).all()) == 1


@pytest.mark.parametrize("bad", ["m0", "m1", "m2"], ids=["first", "middle", "last"])
def test_one_bad_row_does_not_block_the_others(
    engine: Engine,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    bad: str,
) -> None:
    mids = ["m0", "m1", "m2"]
    journal_messages(
        engine, keyring, [inbound(channel=WEBHOOK, thread=mid, mid=mid) for mid in mids]
    )
    _fail_filing_of(monkeypatch, {bad})
    now = utcnow()
    assert file_journal(sessions, now=now) == 3  # rows taken, the failed one included
    good = [mid for mid in mids if mid != bad]
    # filed once each: the batch that failed was rolled back before they were filed alone
    assert [m.channel_message_id for m in _messages(sessions)] == good
    [left] = _journal(sessions)
    assert (left.channel_message_id, left.attempts) == (bad, 1)
    assert (left.last_error, left.next_attempt_at) == ("RuntimeError", now + retry_delay(1))
    assert not _waiting(sessions, now)  # it waits out its backoff
    assert _waiting(sessions, now + retry_delay(1))
    assert "could not be filed" in caplog.text


@pytest.mark.parametrize(
    "failures",
    [1, MAX_FILING_ATTEMPTS - 1, MAX_FILING_ATTEMPTS],
    ids=["once", "all but the last attempt", "every attempt"],
)
def test_a_row_that_fails_is_retried_until_the_last_attempt(
    engine: Engine,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
    monkeypatch: pytest.MonkeyPatch,
    failures: int,
) -> None:
    journal_messages(engine, keyring, [inbound(channel=WEBHOOK, mid="bad")])
    broken = {"bad"}
    asked = _fail_filing_of(monkeypatch, broken)
    now = utcnow()
    for attempt in range(1, failures + 1):
        assert file_journal(sessions, now=now) == 1
        assert [row.attempts for row in _journal(sessions)] == [attempt]
        now += retry_delay(attempt)  # the clock moves on to its next attempt
    broken.clear()  # whatever was wrong is fixed now
    calls_before = len(asked())
    if failures < MAX_FILING_ATTEMPTS:
        assert _waiting(sessions, now)
        assert file_journal(sessions, now=now) == 1
        assert [m.channel_message_id for m in _messages(sessions)] == ["bad"]
        assert _journal(sessions) == []
    else:
        # given up: not offered again, but kept (acknowledged, so never silently deleted)
        later = now + timedelta(days=1)
        assert not _waiting(sessions, later)
        assert file_journal(sessions, now=later) == 0
        assert len(asked()) == calls_before
        assert _messages(sessions) == []
        [row] = _journal(sessions)
        assert (row.attempts, row.next_attempt_at) == (MAX_FILING_ATTEMPTS, None)
        assert row.last_error == "RuntimeError"


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [(0, 2), (1, 2), (2, 8), (3, 32), (4, 128), (5, 512), (6, 600), (20, 600)],
)
def test_the_backoff_grows_fourfold_up_to_its_cap(attempts: int, seconds: float) -> None:
    assert retry_delay(attempts) == timedelta(seconds=seconds)
    assert journal.MAX_RETRY_SECONDS == 600


def test_a_failed_row_is_not_retried_before_its_time(
    engine: Engine,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A short outage must not use up the attempts: after each failure the row waits 2 s,
    8 s, 32 s, 128 s (a given clock, no sleeping), and filing leaves it alone meanwhile."""
    journal_messages(engine, keyring, [inbound(channel=WEBHOOK, mid="bad")])
    asked = _fail_filing_of(monkeypatch, {"bad"})
    start = utcnow()
    now = start
    for attempt in range(1, MAX_FILING_ATTEMPTS):
        assert file_journal(sessions, now=now) == 1
        calls = len(asked())
        due = now + retry_delay(attempt)
        [row] = _journal(sessions)
        assert (row.attempts, row.next_attempt_at) == (attempt, due)
        just_before = due - timedelta(milliseconds=1)
        assert not _waiting(sessions, just_before)
        assert file_journal(sessions, now=just_before) == 0
        assert len(asked()) == calls  # not even tried
        assert _waiting(sessions, due)
        now = due
    assert now - start == timedelta(seconds=2 + 8 + 32 + 128)


def test_a_row_waiting_out_its_backoff_does_not_hold_up_the_others(
    engine: Engine,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    journal_messages(engine, keyring, [inbound(channel=WEBHOOK, thread="a", mid="bad")])
    _fail_filing_of(monkeypatch, {"bad"})
    now = utcnow()
    assert file_journal(sessions, now=now) == 1
    journal_messages(engine, keyring, [inbound(channel=WEBHOOK, thread="b", mid="good")])
    assert _waiting(sessions, now)
    assert file_journal(sessions, now=now, limit=1) == 1  # the row behind it, in a batch
    assert [m.channel_message_id for m in _messages(sessions)] == ["good"]
    assert [r.channel_message_id for r in _journal(sessions)] == ["bad"]


def test_the_last_error_is_the_type_name_only(
    engine: Engine,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "Fødselsnummeret mitt er 01010112345"

    class CitizenQuotingError(Exception):
        pass

    def fail(*_args: Any) -> Any:
        raise CitizenQuotingError(secret)

    journal_messages(engine, keyring, [inbound(secret, channel=WEBHOOK)])
    monkeypatch.setattr(journal, "file_message", fail)
    monkeypatch.setattr(journal, "inbound_message_row", fail)
    file_journal(sessions)
    [row] = _journal(sessions)
    assert row.last_error == "CitizenQuotingError"


def test_a_worker_does_not_spin_on_rows_waiting_or_given_up(
    engine: Engine,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
) -> None:
    journal_messages(engine, keyring, [inbound(channel=WEBHOOK, mid="waiting")])
    journal_messages(engine, keyring, [inbound(channel=WEBHOOK, mid="given up")])
    later = utcnow() + timedelta(minutes=1)
    with transaction(sessions) as session:
        session.execute(
            update(InboundDelivery)
            .where(InboundDelivery.channel_message_id == "waiting")
            .values(attempts=1, next_attempt_at=later)
        )
        session.execute(
            update(InboundDelivery)
            .where(InboundDelivery.channel_message_id == "given up")
            .values(attempts=MAX_FILING_ATTEMPTS)
        )
    worker = jobs.Worker(sessions, keyring)
    assert not worker.has_work()
    assert worker.run_once() == 0
    assert len(_journal(sessions)) == 2
    assert _waiting(sessions, later)  # due once its time has come


def test_rows_given_up_do_not_hide_the_rows_behind_them(
    engine: Engine,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
) -> None:
    journal_messages(engine, keyring, [inbound(channel=WEBHOOK, mid="old")])
    with transaction(sessions) as session:
        session.execute(update(InboundDelivery).values(attempts=MAX_FILING_ATTEMPTS))
    journal_messages(engine, keyring, [inbound(channel=WEBHOOK, mid="new")])
    assert file_journal(sessions, limit=1) == 1
    assert [m.channel_message_id for m in _messages(sessions)] == ["new"]


def test_concurrent_filers_file_every_row_once(
    engine: Engine, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    """Several workers (PostgreSQL) share the journal: SKIP LOCKED splits it between them;
    threads interleaved across their batches must not lose or duplicate a message."""
    mids = [f"m{n:02}" for n in range(24)]
    journal_messages(
        engine,
        keyring,
        [inbound(channel=WEBHOOK, thread=f"t{n % 3}", mid=mid) for n, mid in enumerate(mids)],
    )
    workers = 4
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait(timeout=10)
            while file_journal(sessions, limit=3):
                pass
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sorted(m.channel_message_id or "" for m in _messages(sessions)) == mids
    assert _journal(sessions) == []
    with sessions() as session:
        assert len(session.scalars(select(Conversation)).all()) == 3


def test_two_workers_keep_the_order_of_one_thread(
    engine: Engine,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("one worker on SQLite (its write lock serialises filing)")
    journal_messages(engine, keyring, [inbound("1", channel=WEBHOOK, mid="first")])
    journal_messages(engine, keyring, [inbound("2", channel=WEBHOOK, mid="second")])
    real = journal._file_batch
    claimed, release = threading.Event(), threading.Event()

    def slow_first(session: Session, batch: Any) -> None:
        if batch[0].channel_message_id == "first":  # worker A has claimed it, not filed it
            claimed.set()
            release.wait(10)
        real(session, batch)

    monkeypatch.setattr(journal, "_file_batch", slow_first)
    worker_a = threading.Thread(target=file_journal, args=(sessions,), kwargs={"limit": 1})
    worker_a.start()
    try:
        assert claimed.wait(10)
        assert file_journal(sessions, limit=1) == 0  # worker B: A is filing, B waits its turn
    finally:
        release.set()
        worker_a.join(timeout=30)
    assert file_journal(sessions, limit=1) == 1  # now B's turn: the second message
    assert [m.channel_message_id for m in _messages(sessions)] == ["first", "second"]


# --- the batch files as file_message does, row by row --------------------------------------
#
# A scenario: the state of three threads before filing, and the messages journalled across
# them. Filing it with ``file_journal`` (the batch) must give what filing the same rows one at
# a time with ``file_message``, in id order, gives (the reference). Both run on the same
# database, one after the other: the scenario is rebuilt in between, with the same arrival
# and sending times, and ids are compared normalised.

_THREADS = ((WEBHOOK, "A"), (WEBHOOK, "B"), ("instagram", "A"))  # (channel, thread_key)
_STATES = (
    "none",  # no conversation yet
    "new",
    "open",
    "waiting",  # waiting for the citizen
    "closed awaiting feedback",  # asked for feedback recently, no answer yet
    "closed and answered",  # asked recently, answered
    "closed long ago",  # asked too long ago to take an answer
)
Journalled = tuple[int, str, str | None]  # (index in _THREADS, channel_message_id, district)


def _arrange(
    sessions: sessionmaker[Session],
    engine: Engine,
    keyring: Keyring,
    states: Sequence[str],
    journalled: Sequence[Journalled],
    base: datetime,
) -> dict[str, str]:
    """Build a scenario: each thread's conversation in its state, with one message filed
    before (channel_message_id ``old-<thread>``), then the journal, arriving a minute apart
    from ``base`` on. Returns the journal's uids, named after their rows (to compare runs)."""
    with transaction(sessions) as session:
        for n, ((channel, thread), state) in enumerate(zip(_THREADS, states, strict=True)):
            if state == "none":
                continue
            closed = state.startswith("closed")
            asked = base - timedelta(days=30 if state == "closed long ago" else 0, hours=1)
            conversation = Conversation(
                channel=channel,
                thread_key=thread,
                channel_district="Oslo",
                district="Oslo",
                status=state.split()[0],
                created_at=base - timedelta(days=40),
                last_message_at=base - timedelta(days=35),
                closed_at=asked if closed else None,
                feedback_requested_at=asked if closed else None,
            )
            session.add(conversation)
            session.flush()
            session.add(
                Message(
                    uid=f"old{n}".ljust(32, "0"),
                    conversation_id=conversation.id,
                    channel=channel,
                    channel_message_id=f"old-{n}",
                    raw_encrypted=b"filed before",
                    created_at=conversation.last_message_at,
                )
            )
            if state == "closed and answered":
                session.add(Feedback(conversation_id=conversation.id, channel=channel, rating=4))
    messages = [
        InboundMessage(
            channel=_THREADS[thread][0],
            thread_key=_THREADS[thread][1],
            channel_message_id=mid,
            text=f"Melding {mid}",
            sent_at=base - timedelta(hours=1, minutes=position),
            channel_district=district,
        )
        for position, (thread, mid, district) in enumerate(journalled)
    ]
    journal_messages(engine, keyring, messages)
    rows = _journal(sessions)
    with transaction(sessions) as session:  # journal_messages gives one delivery one time
        for position, row in enumerate(rows):
            arrival = base + timedelta(minutes=position)
            session.execute(
                update(InboundDelivery)
                .where(InboundDelivery.id == row.id)
                .values(received_at=arrival)
            )
    return {row.uid: f"journalled {row.channel}:{row.channel_message_id}" for row in rows}


def _wipe(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        for model in (Feedback, Message, Conversation, InboundDelivery):
            session.execute(delete(model))


def _file_everything(
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    *,
    batched: bool,
    limit: int = 100,
) -> list[int]:
    """Drain the journal; ``batched=False`` files each claimed row alone with file_message
    (the reference). A batch must not fall back to row by row (that is the reference too)."""
    real = journal._file_batch
    failures: list[BaseException] = []

    def one_by_one(session: Session, batch: list[Any]) -> None:
        for row in batch:  # claimed in id order
            journal._file(session, row)

    def batch_or_fail(session: Session, batch: list[Any]) -> None:
        try:
            real(session, batch)
        except BaseException as exc:
            failures.append(exc)
            raise

    taken: list[int] = []
    with monkeypatch.context() as patch:
        patch.setattr(journal, "_file_batch", batch_or_fail if batched else one_by_one)
        while filed := file_journal(sessions, limit=limit):
            taken.append(filed)
    assert not failures, f"the batch fell back to filing row by row: {failures!r}"
    return taken


def _conversations(sessions: sessionmaker[Session], names: dict[str, str]) -> dict[Any, Any]:
    """Every conversation, keyed by (channel, thread_key, its place in the thread), with its
    messages in order; the ids of neither (they differ between runs)."""
    with sessions() as session:
        conversations = session.scalars(select(Conversation).order_by(Conversation.id)).all()
        messages = session.scalars(select(Message).order_by(Message.id)).all()
    of_conversation: dict[int, list[tuple[Any, ...]]] = {}
    for m in messages:
        of_conversation.setdefault(m.conversation_id, []).append(
            (m.channel_message_id, m.kind, names.get(m.uid, m.uid), m.created_at, m.sent_at)
        )
    result: dict[Any, Any] = {}
    places: dict[tuple[str, str], int] = {}
    for c in conversations:
        place = places[(c.channel, c.thread_key)] = places.get((c.channel, c.thread_key), -1) + 1
        result[(c.channel, c.thread_key, place)] = {
            "status": c.status,
            "created_at": c.created_at,
            "last_message_at": c.last_message_at,
            "district": c.district,
            "messages": of_conversation.pop(c.id, []),
        }
    assert not of_conversation  # every message has its conversation
    return result


def _batch_and_reference(
    sessions: sessionmaker[Session],
    engine: Engine,
    keyring: Keyring,
    monkeypatch: pytest.MonkeyPatch,
    states: Sequence[str],
    journalled: Sequence[Journalled],
    limit: int,
) -> None:
    base = utcnow()
    runs = []
    for batched in (False, True):
        _wipe(sessions)
        names = _arrange(sessions, engine, keyring, states, journalled, base)
        taken = _file_everything(sessions, monkeypatch, batched=batched, limit=limit)
        runs.append((taken, _conversations(sessions, names), _journal(sessions)))
    reference, batch = runs
    assert reference[2] == []  # the reference filed everything
    assert batch == reference


@pytest.mark.parametrize("limit", [100, 2], ids=["one batch", "batches of two"])
@pytest.mark.parametrize(
    ("states", "journalled"),
    [
        pytest.param(
            ("none", "none", "none"),
            [(0, "a1", "Oslo"), (1, "b1", None), (0, "a2", "Bergen"), (2, "i1", "Bergen")],
            id="new threads",
        ),
        pytest.param(
            ("new", "open", "waiting"),
            [(2, "i1", "Bergen"), (0, "a1", "Oslo"), (1, "b1", None), (2, "i2", None)],
            id="continued conversations",
        ),
        pytest.param(
            ("closed awaiting feedback", "none", "waiting"),
            [(1, "b1", "Oslo"), (0, "a1", "Oslo"), (2, "i1", None), (0, "a2", "Oslo")],
            id="a feedback answer beside other threads",
        ),
        pytest.param(
            ("closed long ago", "closed and answered", "open"),
            [(0, "a1", "Bergen"), (1, "b1", None), (2, "i1", None), (0, "a2", "Oslo")],
            id="closed conversations start new ones",
        ),
        pytest.param(
            ("waiting", "closed awaiting feedback", "none"),
            [
                (0, "old-0", "Oslo"),  # a retry of the message filed before
                (1, "old-0", "Oslo"),  # its id under another thread
                (1, "b1", "Oslo"),
                (2, "old-0", None),  # the same id on another channel is another message
                (0, "a1", "Oslo"),
            ],
            id="messages filed before are dropped",
        ),
        pytest.param(
            ("open", "waiting", "closed awaiting feedback"),
            [(0, "old-0", "Oslo"), (1, "old-1", "Oslo"), (2, "old-2", None)],
            id="only messages filed before",
        ),
    ],
)
def test_a_batch_files_as_file_message_does_row_by_row(
    engine: Engine,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    monkeypatch: pytest.MonkeyPatch,
    states: tuple[str, str, str],
    journalled: list[Journalled],
    limit: int,
) -> None:
    _batch_and_reference(sessions, engine, keyring, monkeypatch, states, journalled, limit)


@st.composite
def _journalled(draw: st.DrawFn) -> list[Journalled]:
    """Messages across the threads: new ones, and now and then one filed before."""
    messages: list[Journalled] = []
    for n in range(draw(st.integers(0, 8))):
        thread = draw(st.integers(0, len(_THREADS) - 1))
        filed_before = draw(st.none() | st.integers(0, len(_THREADS) - 1))
        mid = f"j{n}" if filed_before is None else f"old-{filed_before}"
        messages.append((thread, mid, draw(st.sampled_from(["Oslo", "Bergen", None]))))
    return messages


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # each example wipes it
)
@given(
    states=st.tuples(*[st.sampled_from(_STATES)] * len(_THREADS)),
    journalled=_journalled(),
    limit=st.sampled_from([1, 2, 3, 100]),
)
def test_any_batch_files_as_file_message_does_row_by_row(
    engine: Engine,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    monkeypatch: pytest.MonkeyPatch,
    states: tuple[str, ...],
    journalled: list[Journalled],
    limit: int,
) -> None:
    _batch_and_reference(sessions, engine, keyring, monkeypatch, states, journalled, limit)


def _conversation_of(sessions: sessionmaker[Session], thread: int) -> list[Conversation]:
    channel, thread_key = _THREADS[thread]
    with sessions() as session:
        query = select(Conversation).where(
            Conversation.channel == channel, Conversation.thread_key == thread_key
        )
        return list(session.scalars(query.order_by(Conversation.id)))


def _kinds(sessions: sessionmaker[Session]) -> dict[str | None, str]:
    return {m.channel_message_id: m.kind for m in _messages(sessions)}


def test_a_reply_in_a_batch_puts_a_waiting_conversation_back_in_the_queue(
    engine: Engine,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = utcnow()
    journalled: list[Journalled] = [(0, "a1", "Oslo"), (1, "b1", "Oslo"), (0, "a2", "Oslo")]
    _arrange(sessions, engine, keyring, ("waiting", "open", "none"), journalled, base)
    assert _file_everything(sessions, monkeypatch, batched=True) == [3]
    [conversation] = _conversation_of(sessions, 0)
    assert conversation.status == "open"
    assert conversation.last_message_at == base + timedelta(minutes=2)  # a2 arrived last
    assert conversation.created_at == base - timedelta(days=40)  # the same conversation
    [other] = _conversation_of(sessions, 1)
    assert (other.status, other.last_message_at) == ("open", base + timedelta(minutes=1))


def test_a_new_thread_of_two_messages_in_one_batch_starts_one_conversation(
    engine: Engine,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = utcnow()
    journalled: list[Journalled] = [(0, "a1", "Bergen"), (1, "b1", "Oslo"), (0, "a2", "Oslo")]
    _arrange(sessions, engine, keyring, ("none", "none", "none"), journalled, base)
    assert _file_everything(sessions, monkeypatch, batched=True) == [3]
    [conversation] = _conversation_of(sessions, 0)
    assert (conversation.status, conversation.district) == ("new", "Bergen")  # the first's
    assert conversation.created_at == base  # a1 arrived first
    assert conversation.last_message_at == base + timedelta(minutes=2)  # a2 last
    with sessions() as session:
        messages = session.scalars(
            select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id)
        ).all()
        assert [m.channel_message_id for m in messages] == ["a1", "a2"]
    [other] = _conversation_of(sessions, 1)
    assert other.created_at == other.last_message_at == base + timedelta(minutes=1)


def test_a_feedback_answer_in_a_batch_with_other_threads_is_filed_as_one(
    engine: Engine,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = utcnow()
    journalled: list[Journalled] = [
        (1, "b1", "Oslo"),
        (0, "a1", "Oslo"),  # the answer to "Hva var bra?"
        (2, "i1", None),
        (1, "b2", "Oslo"),
    ]
    states = ("closed awaiting feedback", "waiting", "none")
    _arrange(sessions, engine, keyring, states, journalled, base)
    assert _file_everything(sessions, monkeypatch, batched=True) == [4]
    [closed] = _conversation_of(sessions, 0)  # no new conversation: the answer is its own
    assert closed.status == "closed"
    assert closed.last_message_at == base - timedelta(days=35)  # an answer does not reopen it
    kinds = _kinds(sessions)
    assert kinds == {
        "old-0": "citizen",
        "old-1": "citizen",
        "a1": "feedback_answer",
        "b1": "citizen",
        "b2": "citizen",
        "i1": "citizen",
    }
    with sessions() as session:
        answer = session.scalars(select(Message).where(Message.channel_message_id == "a1")).one()
        assert answer.conversation_id == closed.id
    assert [c.status for c in _conversation_of(sessions, 1)] == ["open"]
    assert [c.status for c in _conversation_of(sessions, 2)] == ["new"]


# --- the batch is a batch ------------------------------------------------------------------


def _statements_filing(engine: Engine, sessions: sessionmaker[Session]) -> list[str]:
    """The statements sent to the database while the journal is filed in one batch."""
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        file_journal(sessions)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return sent


def test_a_batch_files_with_a_handful_of_statements_however_many_rows_it_has(
    engine: Engine,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def file_new_threads(threads: int) -> list[str]:
        messages = [inbound(channel=WEBHOOK, thread=f"t{threads}-{n}") for n in range(threads)]
        journal_messages(engine, keyring, messages)
        sent = _statements_filing(engine, sessions)
        assert _journal(sessions) == []
        assert len(_messages(sessions)) == len(messages)
        _wipe(sessions)
        return sent

    def alone(*_args: Any) -> None:
        raise AssertionError("a new thread's message was filed alone")

    monkeypatch.setattr(journal, "file_message", alone)
    few, many = file_new_threads(2), file_new_threads(50)
    assert len(many) <= 12, many
    assert len(many) == len(few), (few, many)  # not one more for 48 more rows


# --- has_waiting -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempts", "waiting"),
    [
        pytest.param(None, False, id="an empty journal"),
        pytest.param(0, True, id="a new row"),
        pytest.param(MAX_FILING_ATTEMPTS - 1, True, id="a row with one attempt left"),
        pytest.param(MAX_FILING_ATTEMPTS, False, id="a row given up"),
        pytest.param((1, -1), True, id="a row whose backoff ran out"),
        pytest.param((1, 0), True, id="a row due this moment"),
        pytest.param((1, 1), False, id="a row waiting out its backoff"),
        pytest.param((MAX_FILING_ATTEMPTS, -1), False, id="a row given up, its time past"),
    ],
)
def test_has_waiting(
    engine: Engine,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
    attempts: int | tuple[int, int] | None,
    waiting: bool,
) -> None:
    """``attempts`` alone, or with the next attempt this many seconds from now."""
    now = utcnow()
    if attempts is not None:
        tried, due_in = attempts if isinstance(attempts, tuple) else (attempts, None)
        due = None if due_in is None else now + timedelta(seconds=due_in)
        journal_messages(engine, keyring, [inbound(channel=WEBHOOK)])
        with transaction(sessions) as session:
            session.execute(update(InboundDelivery).values(attempts=tried, next_attempt_at=due))
    assert _waiting(sessions, now) is waiting


def test_nothing_waits_once_the_journal_is_filed(
    engine: Engine, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    journal_messages(engine, keyring, [inbound(channel=WEBHOOK)])
    assert _waiting(sessions)
    file_journal(sessions)
    assert not _waiting(sessions)


# --- the worker and the intake -------------------------------------------------------------


def test_the_worker_files_and_analyses_a_journalled_message(
    engine: Engine, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    journal_messages(engine, keyring, [inbound(QUESTION_TEXT, channel=WEBHOOK)])
    worker = jobs.Worker(sessions, keyring)
    assert worker.has_work()  # the journal alone is work
    assert worker.run_once() == 2  # filed, then analysed in the same iteration
    assert _journal(sessions) == []
    [message] = _messages(sessions)
    assert message.analyzed_at is not None
    assert message.redacted_text
    assert not worker.has_work()
    assert worker.run_once() == 0


def test_the_worker_drains_a_journal_larger_than_its_batch(
    engine: Engine, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    messages = [inbound(f"Melding {n}", channel=WEBHOOK, thread=str(n)) for n in range(3)]
    journal_messages(engine, keyring, messages)
    assert jobs.Worker(sessions, keyring, batch=2).drain() == 6  # 3 filed + 3 analysed
    assert _journal(sessions) == []
    with sessions() as session:
        assert service.pending_count(session) == 0


def test_the_intake_journals_before_it_wakes_the_worker(
    engine: Engine,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen_by_notify: list[bool] = []

    def notify() -> None:
        seen_by_notify.append(_waiting(sessions))  # committed before the worker is woken
        jobs.notify()

    monkeypatch.setattr(intake, "notify", notify)
    deliver = intake.make_intake(engine, keyring)
    batch: list[InboundMessage] = [inbound(channel=WEBHOOK), inbound(channel=WEBHOOK)]
    deliver(batch)
    assert seen_by_notify == [True]
    journalled = [r.channel_message_id for r in _journal(sessions)]
    assert journalled == [m.channel_message_id for m in batch]
    assert _messages(sessions) == []  # acknowledged without filing: the worker files it


def test_a_running_worker_woken_by_the_intake_files_and_analyses(
    engine: Engine, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    worker = jobs.Worker(sessions, keyring, idle_seconds=30)  # only notify() wakes it
    worker.start()
    try:
        intake.make_intake(engine, keyring)([inbound(QUESTION_TEXT, channel=WEBHOOK)])
        deadline = time.monotonic() + 60  # the first iteration loads the models
        while time.monotonic() < deadline:
            messages = _messages(sessions)
            if messages and messages[0].analyzed_at is not None:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the journalled message was not filed and analysed after notify()")
    finally:
        worker.stop()
    assert _journal(sessions) == []


# --- stuck rows: listed for an administrator and released --------------------------------------

NATIONAL = command_line_principal("test")
OSLO_LEADER = Principal(
    user_id=None, label="leder", role=Role.LEADER, districts=frozenset({"Oslo"})
)


def _stuck_journal(
    engine: Engine, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> tuple[datetime, dict[str, InboundDelivery]]:
    """One row of each kind, by channel_message_id: new, backing off, late (waiting longer
    than STUCK_AFTER), given up, and given up on a national page (no district)."""
    now = utcnow()
    journal_messages(
        engine,
        keyring,
        [
            inbound(channel=WEBHOOK, mid="new"),
            inbound(channel=WEBHOOK, mid="backing off"),
            inbound(channel=WEBHOOK, mid="late"),
            inbound(channel=WEBHOOK, mid="given up"),
            inbound(channel="instagram", mid="national", district=None),
        ],
    )
    changes: dict[str, dict[str, Any]] = {
        "backing off": {"attempts": 2, "next_attempt_at": now + timedelta(seconds=8)},
        "late": {"received_at": now - STUCK_AFTER - timedelta(seconds=1)},
        "given up": {
            "attempts": MAX_FILING_ATTEMPTS,
            "last_error": "IntegrityError",
            "received_at": now - timedelta(minutes=1),
        },
        "national": {"attempts": MAX_FILING_ATTEMPTS, "last_error": "RuntimeError"},
    }
    with transaction(sessions) as session:
        for mid, values in changes.items():
            session.execute(
                update(InboundDelivery)
                .where(InboundDelivery.channel_message_id == mid)
                .values(**values)
            )
    return now, {row.channel_message_id: row for row in _journal(sessions)}


def _audit(sessions: sessionmaker[Session]) -> list[AuditEvent]:
    with sessions() as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def test_stuck_rows_are_listed_without_their_message(
    engine: Engine, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    now, rows = _stuck_journal(engine, sessions, keyring, inbound)
    with reader(sessions) as session:
        listed = stuck.list_stuck(session, NATIONAL, now=now)
        summary = stuck.stuck_summary(session, NATIONAL, now=now)
        only_one = stuck.list_stuck(session, NATIONAL, now=now, limit=1)
    late, given_up, national = rows["late"], rows["given up"], rows["national"]
    assert listed == [
        stuck.StuckDelivery(late.id, WEBHOOK, late.received_at, 0, None, None),
        stuck.StuckDelivery(
            given_up.id, WEBHOOK, given_up.received_at, MAX_FILING_ATTEMPTS, "IntegrityError", None
        ),
        stuck.StuckDelivery(
            national.id,
            "instagram",
            national.received_at,
            MAX_FILING_ATTEMPTS,
            "RuntimeError",
            None,
        ),
    ]
    assert [row.given_up for row in listed] == [False, True, True]
    assert only_one == listed[:1]
    assert summary == stuck.StuckSummary(3, 2, late.received_at)
    assert not {"text", "raw_encrypted", "thread_key", "uid"} & set(stuck.StuckDelivery.__slots__)


def test_stuck_rows_of_a_district_for_its_leader_only(
    engine: Engine, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    now, rows = _stuck_journal(engine, sessions, keyring, inbound)
    bergen = Principal(None, "leder", Role.LEADER, frozenset({"Bergen"}))
    operator = Principal(None, "operatør", Role.OPERATOR, None)
    with transaction(sessions) as session:
        oslo = stuck.list_stuck(session, OSLO_LEADER, now=now)
        assert [row.id for row in oslo] == [rows["late"].id, rows["given up"].id]
        assert stuck.stuck_summary(session, bergen, now=now) == stuck.StuckSummary(0, 0, None)
        for call in (
            lambda: stuck.list_stuck(session, operator),
            lambda: stuck.stuck_summary(session, operator),
            lambda: stuck.retry_given_up(session, operator),
            lambda: stuck.retry_one(session, operator, rows["late"].id),
            lambda: stuck.retry_one(session, OSLO_LEADER, rows["national"].id),
        ):
            with pytest.raises(PermissionDeniedError):
                call()
        assert stuck.retry_given_up(session, OSLO_LEADER) == 1  # not the national row
    assert {r.channel_message_id: r.attempts for r in _journal(sessions)}["national"] == (
        MAX_FILING_ATTEMPTS
    )


def test_an_empty_journal_has_nothing_stuck(sessions: sessionmaker[Session]) -> None:
    with reader(sessions) as session:
        assert stuck.list_stuck(session, NATIONAL) == []
        assert stuck.stuck_summary(session, NATIONAL) == stuck.StuckSummary(0, 0, None)


def test_retrying_the_given_up_rows_files_them(
    engine: Engine, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    now, _ = _stuck_journal(engine, sessions, keyring, inbound)
    before = len(_audit(sessions))
    with transaction(sessions) as session:
        assert stuck.retry_given_up(session, NATIONAL) == 2
    after = {r.channel_message_id: r for r in _journal(sessions)}
    for mid in ("given up", "national"):
        assert (after[mid].attempts, after[mid].next_attempt_at) == (0, None)
    assert after["backing off"].attempts == 2  # not given up: left to its backoff
    [event] = _audit(sessions)[before:]
    assert (event.actor, event.action, event.object_type) == (
        "test",
        "journal.retry_given_up",
        "inbound_delivery",
    )
    assert event.details == {"released": 2}
    assert _waiting(sessions, now)
    assert file_journal(sessions, now=now) == 4  # all but the one backing off
    assert [r.channel_message_id for r in _journal(sessions)] == ["backing off"]
    with reader(sessions) as session:
        assert stuck.stuck_summary(session, NATIONAL, now=now).count == 0


def test_retrying_one_row(
    engine: Engine, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    _, rows = _stuck_journal(engine, sessions, keyring, inbound)
    backing_off = rows["backing off"]
    with transaction(sessions) as session:
        stuck.retry_one(session, OSLO_LEADER, backing_off.id)  # any row, given up or not
    [released] = [r for r in _journal(sessions) if r.id == backing_off.id]
    assert (released.attempts, released.next_attempt_at) == (0, None)
    [event] = _audit(sessions)[-1:]
    assert (event.actor, event.action, event.object_id) == (
        "leder",
        "journal.retry",
        str(backing_off.id),
    )
    assert event.district == "Oslo"
    missing = max(r.id for r in rows.values()) + 1
    with transaction(sessions) as session, pytest.raises(NotFoundError) as info:
        stuck.retry_one(session, NATIONAL, missing)
    assert str(info.value) == f"Fant ingen melding nr. {missing} i mottaksjournalen."


# --- /admin/inbox: the section "Mottak som står fast" ----------------------------------------


def test_the_admin_page_shows_stuck_rows_and_retries_those_given_up(
    engine: Engine,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
    live_server: LiveServer,
    make_user: Any,
) -> None:
    # the server's worker runs: only rows it leaves alone (given up, backing off) stay
    later = utcnow() + timedelta(hours=1)
    journal_messages(
        engine,
        keyring,
        [inbound(channel=WEBHOOK, mid="given up"), inbound(channel=WEBHOOK, mid="backing off")],
    )
    with transaction(sessions) as session:
        session.execute(
            update(InboundDelivery)
            .where(InboundDelivery.channel_message_id == "given up")
            .values(attempts=MAX_FILING_ATTEMPTS, last_error="RuntimeError")
        )
        session.execute(
            update(InboundDelivery)
            .where(InboundDelivery.channel_message_id == "backing off")
            .values(
                attempts=1,
                next_attempt_at=later,
                received_at=utcnow() - timedelta(minutes=10),
            )
        )
    leader = make_user("leader", ["Oslo"])
    with WebClient(live_server.url) as web:
        web.login(leader.email)
        page = web.get("/admin/inbox")
        assert page.status_code == 200
        section = page.text[page.text.index('id="stuck-title"') :]
        assert "Mottak som står fast" in section
        assert "<dt>Står fast</dt><dd>2</dd>" in section
        assert "<dt>Gitt opp</dt><dd>1</dd>" in section
        assert "Eldste mottatt" in section
        assert 'action="/admin/inbox/journal/retry"' in section
        assert web.post("/admin/inbox/journal/retry", csrf=False).status_code == 403

        retried = web.post("/admin/inbox/journal/retry")
        assert retried.status_code == 303
        assert retried.headers["location"] == "/admin/inbox"
        assert "prøves igjen nå" in web.follow(retried).text

        deadline = time.monotonic() + 60
        while [r.channel_message_id for r in _journal(sessions)] != ["backing off"]:
            assert time.monotonic() < deadline, "the released row was not filed"
            time.sleep(0.05)
        assert [m.channel_message_id for m in _messages(sessions)] == ["given up"]
        [event] = [e for e in _audit(sessions) if e.action == "journal.retry_given_up"]
        assert (event.actor_user_id, event.details) == (leader.id, {"released": 1})

        page = web.get("/admin/inbox")
        section = page.text[page.text.index('id="stuck-title"') :]
        assert "<dt>Står fast</dt><dd>1</dd>" in section  # waiting more than five minutes
        assert 'action="/admin/inbox/journal/retry"' not in section  # nothing given up


def test_the_admin_page_without_stuck_rows(live_server: LiveServer, make_user: Any) -> None:
    admin = make_user("admin")
    with WebClient(live_server.url) as web:
        web.login(admin.email)
        page = web.get("/admin/inbox")
        section = page.text[page.text.index('id="stuck-title"') :]
        assert "Ingen meldinger står fast." in section
        assert "/admin/inbox/journal/retry" not in section


def test_an_operator_may_not_retry_the_journal(
    live_server: LiveServer, make_user: Any, sessions: sessionmaker[Session]
) -> None:
    operator = make_user("operator", ["Oslo"])
    with WebClient(live_server.url) as web:
        web.login(operator.email)
        assert web.post("/admin/inbox/journal/retry").status_code == 403
    assert not [e for e in _audit(sessions) if e.action.startswith("journal.")]
