"""receive(): encrypted-only storage, dedupe (also concurrent), threading into conversations."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from stemme.db import transaction
from stemme.errors import ConflictError
from stemme.inbox import service
from stemme.inbox.models import Conversation, Message
from stemme.inbox.types import ReceiveResult
from stemme.privacy.crypto import DecryptionError, Keyring
from tests.inbox.conftest import Inbound


def _all_values(session: Session) -> list[Any]:
    values: list[Any] = []
    for table in ("messages", "conversations", "triage_labels", "audit_events"):
        for row in session.execute(text(f"SELECT * FROM {table}")):  # noqa: S608 - fixed names
            values.extend(row)
    return values


def test_receive_stores_the_original_encrypted_only(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    secret = "Fødselsnummeret mitt er 01010112345 og telefon 912 34 567"
    with transaction(sessions) as session:
        result = service.receive(session, keyring, inbound(secret))
    assert not result.duplicate
    with sessions() as session:
        values = _all_values(session)
        for value in values:
            if isinstance(value, bytes | bytearray | memoryview):
                raw = bytes(value)
                assert secret.encode() not in raw
                assert b"01010112345" not in raw
            else:
                assert "01010112345" not in str(value)
                assert "912 34 567" not in str(value)
        message = session.get(Message, result.message_id)
        assert message is not None
        assert message.redacted_text is None
        assert message.analyzed_at is None
        assert len(message.uid) == 32
        assert keyring.decrypt(message.raw_encrypted, service.associated_data(message)) == secret
        # the ciphertext is bound to its row: another uid does not decrypt it
        with pytest.raises(DecryptionError):
            keyring.decrypt(message.raw_encrypted, b"message:" + b"0" * 32)
        if session.get_bind().dialect.name == "postgresql":
            as_text = session.scalar(text("SELECT string_agg(m::text, '') FROM messages m"))
            assert "01010112345" not in str(as_text)


def test_the_same_delivery_twice_stores_one_message(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    msg = inbound("Hei", mid="dup-1")
    with transaction(sessions) as session:
        first = service.receive(session, keyring, msg)
    with transaction(sessions) as session:
        second = service.receive(session, keyring, msg)
    assert second == ReceiveResult(first.message_id, first.conversation_id, duplicate=True)
    with sessions() as session:
        assert len(session.scalars(select(Message)).all()) == 1


def test_the_same_id_on_another_channel_is_another_message(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    with transaction(sessions) as session:
        a = service.receive(session, keyring, inbound("Hei", mid="x", channel="webchat"))
        b = service.receive(session, keyring, inbound("Hei", mid="x", channel="email"))
    assert not a.duplicate
    assert not b.duplicate
    assert a.conversation_id != b.conversation_id


def test_concurrent_deliveries_of_one_message_store_it_once(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    msg = inbound("Samtidig", mid="race-1")
    workers = 6
    barrier = threading.Barrier(workers)
    results: list[ReceiveResult] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            barrier.wait(timeout=10)
            with transaction(sessions) as session:
                results.append(service.receive(session, keyring, msg))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(results) == workers
    assert sum(not r.duplicate for r in results) == 1
    assert len({r.message_id for r in results}) == 1
    with sessions() as session:
        assert len(session.scalars(select(Message)).all()) == 1
        assert len(session.scalars(select(Conversation)).all()) == 1


def test_a_lost_race_on_the_unique_constraint_answers_duplicate(
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The insert itself hits the unique constraint (both lookups saw nothing yet)."""
    msg = inbound("Hei", mid="late")
    with transaction(sessions) as session:
        first = service.receive(session, keyring, msg)
    real = service._existing
    calls = {"n": 0}

    def late_lookup(*args: Any) -> ReceiveResult | None:
        calls["n"] += 1
        return None if calls["n"] <= 1 else real(*args)

    monkeypatch.setattr(service, "_existing", late_lookup)
    with transaction(sessions) as session:
        second = service.receive(session, keyring, msg)
        assert session.is_active  # ON CONFLICT DO NOTHING: nothing was rolled back
    assert second.duplicate
    assert second.message_id == first.message_id


def test_a_message_id_seen_under_another_thread_leaves_no_empty_conversation(
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with transaction(sessions) as session:
        first = service.receive(session, keyring, inbound("Hei", mid="same", thread="A"))
    real = service._existing
    calls = {"n": 0}

    def late_lookup(*args: Any) -> ReceiveResult | None:
        calls["n"] += 1
        return None if calls["n"] == 1 else real(*args)

    monkeypatch.setattr(service, "_existing", late_lookup)
    with transaction(sessions) as session:
        second = service.receive(session, keyring, inbound("Hei", mid="same", thread="B"))
    assert second.duplicate
    assert second.message_id == first.message_id
    with sessions() as session:
        assert len(session.scalars(select(Conversation)).all()) == 1


def test_a_conflict_without_a_stored_duplicate_is_refused(
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    msg = inbound("Hei", mid="odd")
    with transaction(sessions) as session:
        service.receive(session, keyring, msg)
    monkeypatch.setattr(service, "_existing", lambda *args: None)
    with sessions() as session, pytest.raises(ConflictError):
        service.receive(session, keyring, msg)


def test_messages_of_one_thread_share_a_conversation_until_it_closes(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    with transaction(sessions) as session:
        a = service.receive(session, keyring, inbound("1", thread="A"))
        b = service.receive(session, keyring, inbound("2", thread="A"))
        c = service.receive(session, keyring, inbound("3", thread="B"))
    assert a.conversation_id == b.conversation_id != c.conversation_id
    with transaction(sessions) as session:
        conversation = session.get(Conversation, a.conversation_id)
        assert conversation is not None
        assert (conversation.status, conversation.district) == ("new", "Oslo")
        conversation.status = "closed"
    with transaction(sessions) as session:
        d = service.receive(session, keyring, inbound("4", thread="A"))
    assert d.conversation_id not in (a.conversation_id, c.conversation_id)


def test_an_answer_to_a_waiting_conversation_reopens_it(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    with transaction(sessions) as session:
        a = service.receive(session, keyring, inbound("1"))
        conversation = session.get(Conversation, a.conversation_id)
        assert conversation is not None
        conversation.status = "waiting"
        before = conversation.last_message_at
    with transaction(sessions) as session:
        service.receive(session, keyring, inbound("2"))
        conversation = session.get(Conversation, a.conversation_id)
        assert conversation is not None
        assert conversation.status == "open"
        assert conversation.last_message_at >= before


def test_the_inbox_tables_are_migrated(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        inspector = inspect(session.get_bind())
        tables = set(inspector.get_table_names())
        assert {"conversations", "messages", "triage_labels"} <= tables
        uniques = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("messages")}
        assert ("channel", "channel_message_id") in uniques


def test_every_inbox_table_names_its_retention() -> None:
    from stemme.inbox.models import TriageLabel

    for model in (Conversation, Message, TriageLabel):
        assert model.retention
