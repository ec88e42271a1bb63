"""Deliveries are claimed and recorded per batch: a few statements for many messages, each
delivery with its own conversation's last citizen message, each result on its own message."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from stemme.db import transaction
from stemme.inbox import outbound
from stemme.inbox.models import Conversation, Message
from stemme.inbox.outbound import DeliveryResult
from stemme.privacy.crypto import Keyring
from tests.inbox import factory
from tests.inbox.conftest import Inbound


def _statements(session: Session) -> list[str]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        if not args[2].startswith("BEGIN"):
            seen.append(args[2])

    event.listen(session.get_bind(), "before_cursor_execute", count)
    return seen


def test_a_batch_of_deliveries_takes_a_few_statements_and_the_right_last_inbound(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> None:
    threads = [f"PAGE:PSID-{n}" for n in range(6)]
    for thread in threads:
        for n in range(2):
            msg = inbound(f"Hei {n}", thread=thread, mid=f"{thread}/{n}")
            factory.receive(sessions, keyring, msg, analyse=False)
    with transaction(sessions) as session:
        for conversation in session.query(Conversation).order_by(Conversation.id):
            outbound.queue_outbound(session, keyring, conversation, "Svar", "reply")
    with transaction(sessions) as session:
        statements = _statements(session)
        deliveries = outbound.claim_due(session, keyring, limit=100)
        assert len(statements) <= 5  # claim, load, conversations, last inbound, lease
    assert [d.thread_key for d in deliveries] == threads
    assert [d.last_inbound_id for d in deliveries] == [f"{t}/1" for t in threads]
    assert all(d.last_inbound_at is not None for d in deliveries)

    results = [
        (d.message_uid, DeliveryResult(True, external_id=f"x-{i}") if i >= 3 else None)
        for i, d in enumerate(deliveries)
    ]
    recorded = [
        (uid, result or DeliveryResult(False, "network", retryable=True)) for uid, result in results
    ]
    with transaction(sessions) as session:
        statements = _statements(session)
        outbound.record_results(session, recorded)
        assert len(statements) <= 3  # load, and one UPDATE per kind of result
        outbound.record_results(session, [])
    with sessions() as session:
        sent = {
            m.uid: (m.delivery, m.delivery_attempts, m.external_id)
            for m in session.query(Message).where(Message.direction == "out")
        }
    assert [sent[d.message_uid] for d in deliveries] == [
        ("sent", 1, f"x-{i}") if i >= 3 else ("retrying", 1, None) for i in range(6)
    ]
