"""Analysis (the database is the queue), the district-scoped list, originals, corrections."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, update
from sqlalchemy.orm import Session, sessionmaker

from stemme.db import reader, transaction, utcnow
from stemme.errors import (
    ConfigurationError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from stemme.identity.access import Principal, Role
from stemme.identity.models import AuditEvent
from stemme.identity.service import principal_of
from stemme.inbox import service
from stemme.inbox.models import Conversation, Message, TriageLabel
from stemme.inbox.service import ConversationFilter
from stemme.privacy.crypto import Keyring
from tests.inbox.conftest import QUESTION_TEXT, THANKS_TEXT, URGENT_TEXT, Inbound

NATIONAL = Principal(None, "national", Role.OPERATOR, None)
OSLO = Principal(7, "oslo", Role.OPERATOR, frozenset({"Oslo"}))
ANALYST = Principal(8, "analyst", Role.ANALYST, None)
OWNER = Principal(9, "owner", Role.INITIATIVE_OWNER, None)

Receive = Callable[..., int]


@pytest.fixture
def receive(sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound) -> Receive:
    """receive(text, **inbound kwargs) -> message id (committed)."""

    def _receive(text: str = THANKS_TEXT, **kwargs: object) -> int:
        with transaction(sessions) as session:
            return service.receive(session, keyring, inbound(text, **kwargs)).message_id

    return _receive


def _conversation_of(session: Session, message_id: int) -> Conversation:
    message = session.get(Message, message_id)
    assert message is not None
    return message.conversation


# --- analysis ------------------------------------------------------------------------------


def test_analyze_pending_runs_the_pipeline_oldest_first(
    sessions: sessionmaker[Session], keyring: Keyring, receive: Receive
) -> None:
    urgent = receive(URGENT_TEXT, thread="a")
    question = receive(QUESTION_TEXT, thread="b", district=None)
    with transaction(sessions) as session:
        assert service.pending_count(session) == 2
        assert service.analyze_pending(session, keyring, limit=1) == 1
        assert service.pending_count(session) == 1
        assert service.analyze_pending(session, keyring) == 1
        assert service.analyze_pending(session, keyring) == 0
    with sessions() as session:
        message = session.get(Message, urgent)
        assert message is not None
        assert message.analyzed_at is not None
        assert message.redacted_text is not None
        assert "912 34 567" not in message.redacted_text
        assert "Kari Nordmann" not in message.redacted_text
        assert "<PHONE>" in message.redacted_text
        assert (message.category, message.urgent, message.lang) == ("emergency", True, "nb")
        assert message.district == "Oslo"  # the channel's district
        assert {"type": "PHONE", "start": 54, "end": 64} in message.entity_types
        assert all(set(e) == {"type", "start", "end"} for e in message.entity_types)
        assert message.reasons
        conversation = message.conversation
        assert (conversation.urgent, conversation.category, conversation.district) == (
            True,
            "emergency",
            "Oslo",
        )
        other = _conversation_of(session, question)
        assert (other.category, other.district, other.urgent) == ("question", "Troms", False)


def test_a_later_calm_message_keeps_the_conversation_urgent_and_its_district(
    sessions: sessionmaker[Session], keyring: Keyring, receive: Receive
) -> None:
    receive(URGENT_TEXT, district=None)
    later = receive("Hei igjen", district=None)
    with transaction(sessions) as session:
        assert service.analyze_pending(session, keyring) == 2
    with sessions() as session:
        conversation = _conversation_of(session, later)
        assert conversation.urgent
        assert conversation.district is None
        kinds = [m.kind for m in conversation.messages]
        assert kinds == ["citizen", "citizen", "emergency"]  # one 112 answer, not one per message


def test_analyze_message_reanalyses_one_message(
    sessions: sessionmaker[Session], keyring: Keyring, receive: Receive
) -> None:
    first = receive(QUESTION_TEXT)
    second = receive(THANKS_TEXT)
    with transaction(sessions) as session:
        service.analyze_message(session, keyring, second)
        service.analyze_message(session, keyring, first)  # older: not the latest analysed
        conversation = _conversation_of(session, first)
        assert conversation.category == "feedback"
        with pytest.raises(NotFoundError):
            service.analyze_message(session, keyring, 999_999)


def test_failed_analyses_are_retried_then_left_alone(
    sessions: sessionmaker[Session],
    keyring: Keyring,
    receive: Receive,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receive()

    def broken(*args: object) -> None:
        raise RuntimeError("model exploded")

    monkeypatch.setattr(service, "analyze", broken)
    monkeypatch.setattr(service, "analyze_many", broken)
    for _ in range(service.MAX_ANALYSIS_ATTEMPTS):
        with transaction(sessions) as session:
            assert service.analyze_pending(session, keyring) == 0
    with transaction(sessions) as session:
        assert service.pending_count(session) == 0
        [message] = session.scalars(select(Message)).all()
        assert message.analysis_attempts == service.MAX_ANALYSIS_ATTEMPTS
        assert message.analyzed_at is None


def test_a_configuration_error_stops_the_batch_without_using_attempts(
    sessions: sessionmaker[Session],
    keyring: Keyring,
    receive: Receive,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receive()

    def unconfigured(*args: object) -> None:
        raise ConfigurationError("privacy missing")

    monkeypatch.setattr(service, "analyze", unconfigured)
    monkeypatch.setattr(service, "analyze_many", unconfigured)
    with transaction(sessions) as session, pytest.raises(ConfigurationError):
        service.analyze_pending(session, keyring)
    with sessions() as session:
        assert service.pending_count(session) == 1


# --- the list, district-scoped ----------------------------------------------------------------


def _arrange_queue(sessions: sessionmaker[Session], receive: Receive) -> dict[str, int]:
    ids = {
        "oslo_old": receive("a", thread="o1"),
        "oslo_new": receive("b", thread="o2"),
        "vest": receive("c", thread="v1", district="Vest"),
        "nowhere": receive("d", thread="n1", district=None),
        "oslo_urgent": receive("e", thread="o3"),
    }
    with transaction(sessions) as session:
        base = utcnow() - timedelta(hours=1)
        for minutes, key in enumerate(ids):
            conversation = _conversation_of(session, ids[key])
            conversation.last_message_at = base + timedelta(minutes=minutes)
        _conversation_of(session, ids["oslo_urgent"]).urgent = True
        _conversation_of(session, ids["vest"]).category = "tip"
        _conversation_of(session, ids["oslo_new"]).status = "open"
    return ids


def _channels(items: list[service.ConversationView]) -> list[str | None]:
    return [c.district for c in items]


def test_urgent_first_then_the_longest_waiting(
    sessions: sessionmaker[Session], receive: Receive
) -> None:
    _arrange_queue(sessions, receive)
    with sessions() as session:
        total, items = service.list_conversations(session, NATIONAL, ConversationFilter())
    assert total == 5
    assert items[0].urgent
    assert [c.messages[0].text for c in items] == [None] * 5  # not analysed yet
    assert [c.last_message_at for c in items[1:]] == sorted(c.last_message_at for c in items[1:])


def test_an_oslo_operator_sees_oslo_only_and_null_district_is_national(
    sessions: sessionmaker[Session], receive: Receive
) -> None:
    ids = _arrange_queue(sessions, receive)
    with sessions() as session:
        total, items = service.list_conversations(session, OSLO, ConversationFilter())
        assert total == 3
        assert set(_channels(items)) == {"Oslo"}
        _, national = service.list_conversations(session, NATIONAL, ConversationFilter())
        assert None in _channels(national)
        assert service.list_conversations(session, OSLO, ConversationFilter(district="Vest")) == (
            0,
            [],
        )
        nowhere = _conversation_of(session, ids["nowhere"]).id
        vest = _conversation_of(session, ids["vest"]).id
        for hidden in (nowhere, vest, 999_999):
            with pytest.raises(NotFoundError):
                service.get_conversation(session, OSLO, hidden)
        assert service.get_conversation(session, NATIONAL, nowhere).district is None


def test_filters_and_pages(sessions: sessionmaker[Session], receive: Receive) -> None:
    _arrange_queue(sessions, receive)
    with sessions() as session:

        def total(**kwargs: object) -> int:
            return service.list_conversations(session, NATIONAL, ConversationFilter(**kwargs))[0]  # type: ignore[arg-type]

        assert total(channel="webchat") == 5
        assert total(channel="email") == 0
        assert total(district="Vest") == 1
        assert total(status="open") == 1
        assert total(category="tip") == 1
        assert total(urgent=True) == 1
        assert total(urgent=False) == 4
        count, page2 = service.list_conversations(
            session, NATIONAL, ConversationFilter(page=2, per_page=2)
        )
        assert (count, len(page2)) == (5, 2)
        with pytest.raises(InvalidInputError):
            service.list_conversations(session, NATIONAL, ConversationFilter(status="lost"))


@contextmanager
def _analysed_after_the_conversation_is_read(engine: Engine, message_id: int) -> Iterator[None]:
    """While it runs: as soon as a statement has read a conversation's queue columns, the
    message is "analysed" in another transaction and committed (the worker, racing a read)."""
    done = False

    def analyse(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        nonlocal done
        if done or "conversations.last_message_at" not in statement:
            return
        done = True
        with engine.begin() as other:
            other.execute(
                update(Message)
                .where(Message.id == message_id)
                .values(redacted_text=Message.redacted_text + " (later)")
            )

    event.listen(engine, "after_cursor_execute", analyse)
    try:
        yield
    finally:
        event.remove(engine, "after_cursor_execute", analyse)
    assert done


def test_a_conversation_and_its_messages_are_read_in_one_snapshot(
    engine: Engine, sessions: sessionmaker[Session], keyring: Keyring, receive: Receive
) -> None:
    """Read as one statement, a conversation never shows a message the worker analysed
    after the conversation was read (on PostgreSQL a second statement would see it: the
    API once listed an emergency's redacted text on a conversation not yet urgent)."""
    message_id = receive(URGENT_TEXT)
    with transaction(sessions) as session:
        service.analyze_pending(session, keyring)
        conversation_id = _conversation_of(session, message_id).id
    for earlier_changes, read in enumerate(
        (
            lambda s: service.list_conversations(s, NATIONAL, ConversationFilter())[1][0],
            lambda s: service.get_conversation(s, NATIONAL, conversation_id),
        )
    ):
        with (
            reader(sessions) as session,
            _analysed_after_the_conversation_is_read(engine, message_id),
        ):
            view = read(session)
        text = view.messages[0].text
        assert text is not None
        assert text.count("(later)") == earlier_changes  # not this read's own change
        assert view.urgent


def test_initiative_owners_have_no_inbox(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, pytest.raises(PermissionDeniedError):
        service.list_conversations(session, OWNER, ConversationFilter())


# --- originals and corrections -----------------------------------------------------------------


def test_reading_an_original_is_audited_and_scoped(
    sessions: sessionmaker[Session], keyring: Keyring, receive: Receive
) -> None:
    oslo = receive(URGENT_TEXT)
    vest = receive("Vest", thread="v", district="Vest")
    with transaction(sessions) as session:
        assert service.read_original(session, OSLO, keyring, oslo) == URGENT_TEXT
        with pytest.raises(NotFoundError):
            service.read_original(session, OSLO, keyring, vest)
        with pytest.raises(PermissionDeniedError):
            service.read_original(session, ANALYST, keyring, oslo)
    with sessions() as session:
        [event] = session.scalars(select(AuditEvent)).all()
        assert (event.action, event.object_type, event.object_id, event.district) == (
            "personal_data.read",
            "message",
            str(oslo),
            "Oslo",
        )
        assert "912" not in str(event.details)


def test_a_correction_is_stored_as_a_label_applied_and_audited(
    sessions: sessionmaker[Session], keyring: Keyring, receive: Receive, make_user: Any
) -> None:
    operator = principal_of(make_user("operator", ["Oslo"]))
    message_id = receive(URGENT_TEXT)
    with transaction(sessions) as session:
        service.analyze_pending(session, keyring)
        label = service.correct_triage(session, operator, message_id, "tip", urgent=False)
        assert (label.category, label.urgent, label.user_id) == ("tip", False, operator.user_id)
    with transaction(sessions) as session:
        conversation = _conversation_of(session, message_id)
        assert (conversation.category, conversation.urgent) == ("tip", False)
        assert conversation.triage_corrected
        # a later analysed message does not overwrite the operator's category
        service.analyze_pending(session, keyring)
    receive(QUESTION_TEXT)
    with transaction(sessions) as session:
        service.analyze_pending(session, keyring)
        assert _conversation_of(session, message_id).category == "tip"
        [stored] = session.scalars(select(TriageLabel)).all()
        assert stored.message_id == message_id
        [event] = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "triage.correct")
        ).all()
        assert event.details["to"] == {"category": "tip", "urgent": False}
        assert event.details["from"] == {"category": "emergency", "urgent": True}


def test_corrections_need_the_right_role_a_known_category_and_scope(
    sessions: sessionmaker[Session], receive: Receive
) -> None:
    vest = receive("Vest", district="Vest")
    with transaction(sessions) as session:
        with pytest.raises(PermissionDeniedError):
            service.correct_triage(session, ANALYST, vest, "tip", urgent=False)
        with pytest.raises(InvalidInputError):
            service.correct_triage(session, NATIONAL, vest, "gossip", urgent=False)
        with pytest.raises(NotFoundError):
            service.correct_triage(session, OSLO, vest, "tip", urgent=False)
