"""Analysis in batches stores exactly what analysing the messages one by one would.

The reference is the per-message path (``_apply`` then ``_follow_up`` for each pending
message, oldest first), which the batch path must match for every message, conversation,
automatic answer and feedback row, whatever the batch boundaries.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Table, delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from stemme.db import transaction
from stemme.identity.access import command_line_principal
from stemme.inbox import auto, hours, outbound, service, work
from stemme.inbox.models import Conversation, DistrictHours, Feedback, Message, TriageLabel
from stemme.jobs import Worker
from stemme.privacy.crypto import Keyring
from tests.inbox import factory
from tests.inbox.conftest import QUESTION_TEXT, THANKS_TEXT, URGENT_TEXT, Inbound

CLI = command_line_principal("test")
SUNDAY_NIGHT = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # Sunday 03:00 in Oslo
CALM = "Hei, hvordan fornyer jeg passet mitt?"
BERGEN = "Hei, sykkelen min ble stjålet i Bergen i går"
CHILD = (
    "Jeg er bekymret for en jente på 13 i klassen til dattera mi, hun får meldinger fra en "
    "voksen mann som ber om bilder"
)
BROKEN = "FEIL: denne meldingen får analysen til å krasje"
TABLES: tuple[Table, ...] = (
    Conversation.__table__,  # type: ignore[assignment]
    Message.__table__,  # type: ignore[assignment]
    Feedback.__table__,  # type: ignore[assignment]
    TriageLabel.__table__,  # type: ignore[assignment]
)


def _arrange(sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound) -> None:
    """Pending messages in conversations that exercise every rule, some already analysed."""

    def receive(text: str, **kwargs: Any) -> int:
        at = kwargs.pop("at", None)
        msg = inbound(text, **kwargs)
        return factory.receive(sessions, keyring, msg, at=at, analyse=False).message_id

    with transaction(sessions) as session:
        session.add(DistrictHours(district="Øst", hours={"0": ["08:00", "16:00"]}))
    # feedback: a closed conversation asked for feedback; its answer is in the batch
    closed = factory.receive(sessions, keyring, inbound(QUESTION_TEXT, thread="fb"))
    with transaction(sessions) as session:
        work.reply(session, CLI, keyring, closed.conversation_id, "Svar.")
        work.set_status(session, CLI, keyring, closed.conversation_id, "closed", "answered")
    # a conversation corrected by an operator earlier keeps its category
    corrected = factory.receive(sessions, keyring, inbound(QUESTION_TEXT, thread="corr"))
    with transaction(sessions) as session:
        service.correct_triage(session, CLI, corrected.message_id, "tip", urgent=False)
    # an older message analysed late (after a failure) is not the latest analysed one
    late = receive(URGENT_TEXT, thread="late")
    with transaction(sessions) as session:
        session.execute(update(Message).where(Message.id == late).values(analysis_attempts=1))
    newer = receive(THANKS_TEXT, thread="late")
    with transaction(sessions) as session:
        service.analyze_message(session, keyring, newer)
        message = session.get(Message, newer)
        assert message is not None
        message.conversation.district = None  # (by hand) it falls back to the channel's

    receive(QUESTION_TEXT, thread="a")
    receive(URGENT_TEXT, thread="a")
    receive(THANKS_TEXT, thread="a")
    receive(CHILD, thread="a")
    receive("Hei", thread="b", district=None)
    receive(BERGEN, thread="b", district=None)
    receive("Takk", thread="b", district=None)
    receive("5 - veldig bra", thread="fb")  # the feedback answer
    receive("Og en ting til", thread="fb")
    receive("Hallo?", thread="corr")
    labelled = receive(QUESTION_TEXT, thread="corr")
    with transaction(sessions) as session:  # a correction before the analysis is stored
        session.add(TriageLabel(message_id=labelled, category="crime_report", urgent=True))
    receive(CALM, thread="night", district="Øst", at=SUNDAY_NIGHT)
    receive("Er dere der?", thread="night", district="Øst", at=SUNDAY_NIGHT)
    receive(URGENT_TEXT, thread="night-urgent", district="Øst", at=SUNDAY_NIGHT)
    receive(CALM, thread="night-urgent", district="Øst", at=SUNDAY_NIGHT)
    receive("Hi, how do I renew my passport?", thread="night-en", district="Øst", at=SUNDAY_NIGHT)
    shut = receive(CALM, thread="shut", district="Øst", at=SUNDAY_NIGHT)
    with transaction(sessions) as session:  # closed by an operator before the analysis
        message = session.get(Message, shut)
        assert message is not None
        message.conversation.status = "closed"
    broken = receive(BROKEN, thread="c")
    with transaction(sessions) as session:  # its last try: attempted once in every run
        session.execute(
            update(Message)
            .where(Message.id == broken)
            .values(analysis_attempts=service.MAX_ANALYSIS_ATTEMPTS - 1)
        )
    receive(THANKS_TEXT, thread="c")


def _snapshot(sessions: sessionmaker[Session]) -> dict[str, list[dict[str, Any]]]:
    with sessions() as session:
        return {
            table.name: [
                dict(row._mapping) for row in session.execute(select(table).order_by(table.c.id))
            ]
            for table in TABLES
        }


def _restore(sessions: sessionmaker[Session], saved: dict[str, list[dict[str, Any]]]) -> None:
    with transaction(sessions) as session:
        for table in reversed(TABLES):
            keep = [row["id"] for row in saved[table.name]]
            session.execute(delete(table).where(table.c.id.not_in(keep)))
        for table in TABLES:
            for row in saved[table.name]:
                session.execute(update(table).where(table.c.id == row["id"]).values(**row))


def _outcome(sessions: sessionmaker[Session], keyring: Keyring) -> dict[str, Any]:
    """Everything analysis decides, comparable between runs (outbound ids and uids differ)."""
    volatile = {"uid", "raw_encrypted", "created_at", "analyzed_at", "sent_at"}
    with sessions() as session:
        messages = session.scalars(select(Message).order_by(Message.id)).all()
        inbound = [
            {k: v for k, v in row.items() if k not in volatile} | {"analysed": bool(m.analyzed_at)}
            for m, row in ((m, _columns(m)) for m in messages if m.direction == "in")
        ]
        answers = [
            (m.conversation_id, m.kind, m.lang, m.delivery, m.redacted_text, _text(keyring, m))
            for m in messages
            if m.direction == "out" and m.kind in ("emergency", "out_of_hours")
        ]
        conversations = [
            {k: v for k, v in _columns(c).items() if k not in ("closed_at", "last_message_at")}
            for c in session.scalars(select(Conversation).order_by(Conversation.id))
        ]
        feedback = [
            (f.conversation_id, f.rating, f.comment)
            for f in session.scalars(select(Feedback).order_by(Feedback.id))
        ]
    return {
        "inbound": inbound,
        "answers": answers,
        "conversations": conversations,
        "feedback": feedback,
    }


def _columns(row: Any) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}


def _text(keyring: Keyring, message: Message) -> str:
    return factory.original(keyring, message)


def _one_by_one(session: Session, keyring: Keyring) -> int:
    """The reference: what analyze_pending did before batches, one message at a time."""
    ids = session.scalars(
        select(Message.id)
        .where(
            Message.analyzed_at.is_(None),
            Message.analysis_attempts < service.MAX_ANALYSIS_ATTEMPTS,
        )
        .order_by(Message.id)
    ).all()
    done = 0
    for message_id in ids:
        message = session.get(Message, message_id)
        assert message is not None
        try:
            analysis = service._analysis_of(keyring, message)
        except Exception:
            message.analysis_attempts += 1
            continue
        service._apply(session, message, analysis)
        service._follow_up(session, keyring, message)
        done += 1
    session.flush()
    return done


def _in_batches(size: int) -> Callable[[sessionmaker[Session], Keyring], int]:
    def run(sessions: sessionmaker[Session], keyring: Keyring) -> int:
        done = 0
        while True:
            with transaction(sessions) as session:
                batch = service.analyze_pending(session, keyring, limit=size)
            if not batch and not _pending_ids(sessions):
                return done
            done += batch

    return run


def _pending_ids(sessions: sessionmaker[Session]) -> list[int]:
    with sessions() as session:
        return list(
            session.scalars(
                select(Message.id).where(
                    Message.analyzed_at.is_(None),
                    Message.analysis_attempts < service.MAX_ANALYSIS_ATTEMPTS,
                )
            )
        )


def _worker(sessions: sessionmaker[Session], keyring: Keyring) -> int:
    return Worker(sessions, keyring, batch=100).drain()


@pytest.fixture
def failing_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pipeline fails on texts that start with "FEIL" (and so on any batch with one)."""
    real, real_many = service.analyze, service.analyze_many

    def analyze(text: str, *args: Any, **kwargs: Any) -> Any:
        if text.startswith("FEIL"):
            raise RuntimeError("the pipeline failed on this one")
        return real(text, *args, **kwargs)

    def analyze_many(texts: list[str], *args: Any, **kwargs: Any) -> Any:
        if any(text.startswith("FEIL") for text in texts):
            raise RuntimeError("the pipeline failed on one of these")
        return real_many(texts, *args, **kwargs)

    monkeypatch.setattr(service, "analyze", analyze)
    monkeypatch.setattr(service, "analyze_many", analyze_many)


@pytest.mark.usefixtures("failing_pipeline")
def test_batches_store_what_one_by_one_analysis_stores(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    _arrange(sessions, keyring, inbound)
    saved = _snapshot(sessions)
    with transaction(sessions) as session:
        assert _one_by_one(session, keyring) == 19
    expected = _outcome(sessions, keyring)
    # the arrangement does exercise the rules
    kinds = [a[1] for a in expected["answers"]]
    assert kinds.count("emergency") == 4
    assert kinds.count("out_of_hours") == 3
    assert [f[1] for f in expected["feedback"]] == [5]
    assert [m["analysis_attempts"] for m in expected["inbound"] if not m["analysed"]] == [
        service.MAX_ANALYSIS_ATTEMPTS
    ]

    runs: dict[str, Callable[[sessionmaker[Session], Keyring], int]] = {
        "one batch": _in_batches(100),
        "batches of 3": _in_batches(3),
        "batches of 1": _in_batches(1),
        "the worker": _worker,
    }
    for name, run in runs.items():
        _restore(sessions, saved)
        assert _snapshot(sessions) == saved
        run(sessions, keyring)
        assert _outcome(sessions, keyring) == expected, name


def test_a_correction_made_while_the_pipeline_ran_wins(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    result = factory.receive(sessions, keyring, inbound(URGENT_TEXT), analyse=False)
    with sessions() as session:  # claimed and analysed as the SQLite worker does it
        pending = service.claim_pending(session)
    analysed = service.analyze_claimed(keyring, pending)
    assert analysed[0].analysis is not None
    assert analysed[0].analysis.urgent
    with transaction(sessions) as session:
        service.correct_triage(session, CLI, result.message_id, "question", urgent=False)
    with transaction(sessions) as session:
        assert service.store_analyses(session, keyring, analysed) == 1
    with sessions() as session:
        message = session.get(Message, result.message_id)
        assert message is not None
        assert message.analyzed_at is not None
        assert (message.category, message.urgent) == ("question", False)
        conversation = message.conversation
        assert (conversation.category, conversation.urgent) == ("question", False)
        assert not conversation.emergency_replied
        assert factory.outbound_of(session, conversation.id) == []


def test_a_correction_waiting_for_a_running_analysis_lands_on_top_of_it(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    """PostgreSQL: the worker holds the claimed row while it analyses; a correction sent
    meanwhile waits, then sees the analysis and overrides it (conversation included)."""
    if sessions.kw["bind"].dialect.name == "sqlite":
        pytest.skip("SQLite serialises writing transactions from their start")
    result = factory.receive(sessions, keyring, inbound(URGENT_TEXT), analyse=False)
    corrected = threading.Event()

    def correct() -> None:
        with transaction(sessions) as session:
            service.correct_triage(session, CLI, result.message_id, "tip", urgent=False)
        corrected.set()

    with transaction(sessions) as session:  # as the PostgreSQL worker: claim, analyse, store
        analysed = service.analyze_claimed(keyring, service.claim_pending(session))
        operator = threading.Thread(target=correct)
        operator.start()
        assert not corrected.wait(0.5)  # it waits for the claimed row
        assert service.store_analyses(session, keyring, analysed) == 1
    operator.join(10)
    assert corrected.is_set()
    with sessions() as session:
        message = session.get(Message, result.message_id)
        assert message is not None
        assert (message.category, message.urgent) == ("tip", False)
        conversation = message.conversation
        assert (conversation.category, conversation.urgent) == ("tip", False)


def test_a_transfer_made_while_the_message_is_analysed_sticks(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    """PostgreSQL: a transfer committed while the worker analyses is read by the worker when
    it takes the conversation; one still open is waited for."""
    if sessions.kw["bind"].dialect.name == "sqlite":
        pytest.skip("SQLite serialises writing transactions from their start")
    result = factory.receive(sessions, keyring, inbound("Sykkelen min ble stjålet i Bergen"))
    later = factory.receive(
        sessions, keyring, inbound("Nå står den i Tromsø sentrum"), analyse=False
    )
    transferred = threading.Event()

    def transfer() -> None:
        with transaction(sessions) as session:
            work.transfer(session, CLI, result.conversation_id, "Oslo")
            transferred.set()
            threading.Event().wait(0.3)  # still open when the worker wants the conversation

    with transaction(sessions) as session:
        analysed = service.analyze_claimed(keyring, service.claim_pending(session))
        operator = threading.Thread(target=transfer)
        operator.start()
        assert transferred.wait(5)
        assert service.store_analyses(session, keyring, analysed) == 1
    operator.join(10)
    with sessions() as session:
        conversation = session.get(Conversation, later.conversation_id)
        assert conversation is not None
        assert conversation.district == "Oslo"


def test_a_message_analysed_since_it_was_claimed_is_skipped(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    result = factory.receive(sessions, keyring, inbound(URGENT_TEXT), analyse=False)
    with sessions() as session:
        pending = service.claim_pending(session)
    analysed = service.analyze_claimed(keyring, pending)
    factory.analyse_all(sessions, keyring)  # someone else was quicker
    with transaction(sessions) as session:
        assert service.store_analyses(session, keyring, analysed) == 0
        assert service.store_analyses(session, keyring, []) == 0
    with sessions() as session:
        assert len(factory.outbound_of(session, result.conversation_id)) == 1  # one 112 answer
        message = session.get(Message, result.message_id)
        assert message is not None
        assert message.analysis_attempts == 1


def test_objects_already_loaded_in_the_session_see_the_analysis(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    result = factory.receive(sessions, keyring, inbound(URGENT_TEXT), analyse=False)
    with transaction(sessions) as session:
        message = session.get(Message, result.message_id)
        assert message is not None
        conversation = message.conversation
        assert (message.redacted_text, conversation.urgent) == (None, False)
        assert service.analyze_pending(session, keyring) == 1
        assert message.redacted_text is not None
        assert (message.category, message.urgent, message.analysis_attempts) == (
            "emergency",
            True,
            1,
        )
        assert (conversation.urgent, conversation.category, conversation.lang) == (
            True,
            "emergency",
            "nb",
        )
        assert conversation.emergency_replied


def test_an_answer_planned_in_a_batch_is_stored_like_any_queued_message(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    result = factory.receive(sessions, keyring, inbound(URGENT_TEXT))
    with transaction(sessions) as session:
        conversation = session.get(Conversation, result.conversation_id)
        assert conversation is not None
        [planned] = factory.outbound_of(session, conversation.id)
        text = factory.original(keyring, planned)
        queued = outbound.queue_outbound(session, keyring, conversation, text, "emergency")
        differ = {"id", "uid", "raw_encrypted", "created_at", "analyzed_at"}
        assert {k: v for k, v in _columns(planned).items() if k not in differ} == {
            k: v for k, v in _columns(queued).items() if k not in differ
        }


def test_the_answer_takes_the_conversations_language_of_its_moment() -> None:
    class Facts:
        def __init__(self, **values: Any) -> None:
            self.__dict__.update(values)

    conversation = Facts(
        id=1,
        channel="webchat",
        district=None,
        status="new",
        lang=None,
        emergency_replied=False,
        out_of_hours_replied=False,
    )
    first = Facts(
        direction="in",
        kind="citizen",
        lang=None,
        urgent=True,
        category="emergency",
        created_at=SUNDAY_NIGHT,
    )
    answer = auto.plan_answer(first, conversation, lambda district: None)  # type: ignore[arg-type]
    assert answer == auto.Answer(1, "webchat", "emergency", auto.EMERGENCY["nb"], None)
    second = Facts(
        direction="in",
        kind="citizen",
        lang="en",
        urgent=True,
        category="emergency",
        created_at=SUNDAY_NIGHT,
    )
    assert auto.plan_answer(second, conversation, lambda district: None) is None  # type: ignore[arg-type]
    assert (conversation.lang, conversation.emergency_replied) == ("en", True)  # type: ignore[attr-defined]


def test_schedules_read_every_districts_hours_once(db: Session) -> None:
    db.add(DistrictHours(district="Oslo", hours={"0": ["08:00", "16:00"]}))
    db.add(DistrictHours(district="Vest", hours={}))
    db.flush()
    statements: list[str] = []
    from sqlalchemy import event

    engine = db.get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        schedules = hours.Schedules(db)
        assert schedules(None) is None
        assert statements == []
        oslo = schedules("Oslo")
        assert oslo is not None
        assert oslo.describe("nb") == "man. 08:00–16:00"
        assert schedules("Oslo") is oslo
        assert schedules("Vest") is None  # empty: always open
        assert schedules("Agder") is None  # none stored
        assert len(statements) == 1
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def test_has_pending(sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound) -> None:
    with sessions() as session:
        assert not service.has_pending(session)
    factory.receive(sessions, keyring, inbound(THANKS_TEXT), analyse=False)
    with sessions() as session:
        assert service.has_pending(session)
    factory.analyse_all(sessions, keyring)
    with sessions() as session:
        assert not service.has_pending(session)


def test_claimed_messages_go_through_the_pipeline_as_one_batch(
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dataclasses

    for text in (QUESTION_TEXT, URGENT_TEXT, THANKS_TEXT):
        factory.receive(sessions, keyring, inbound(text), analyse=False)
    with sessions() as session:
        pending = service.claim_pending(session)
    unreadable = dataclasses.replace(pending[1], raw_encrypted=b"not a ciphertext")
    batches: list[list[str]] = []
    real = service.analyze_many

    def analyze_many(texts: list[str], *args: Any, **kwargs: Any) -> Any:
        batches.append(list(texts))
        return real(texts, *args, **kwargs)

    def one_by_one(*args: object, **kwargs: object) -> None:
        raise AssertionError("a batch that works is not analysed again one by one")

    monkeypatch.setattr(service, "analyze_many", analyze_many)
    monkeypatch.setattr(service, "analyze", one_by_one)
    analysed = service.analyze_claimed(keyring, [pending[0], unreadable, pending[2]])
    assert batches == [[QUESTION_TEXT, THANKS_TEXT]]
    assert [a.message_id for a in analysed] == [m.id for m in pending]
    assert [a.analysis is None for a in analysed] == [False, True, False]
