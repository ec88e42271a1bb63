"""The outbound queue: stored encrypted, claimed with a lease, sent outside transactions, the
results recorded (sent, retrying with exponential backoff, failed), requeued by operators."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from stemme.db import utcnow
from stemme.inbox import outbound
from stemme.inbox.models import Conversation, Message
from stemme.inbox.outbound import (
    FIRST_RETRY_SECONDS,
    LEASE_SECONDS,
    MAX_DELIVERY_ATTEMPTS,
    Delivery,
    DeliveryResult,
)
from stemme.privacy.crypto import Keyring
from tests.inbox import factory
from tests.inbox.conftest import Inbound

TEXT = "Ring oss på 912 34 567 hvis det skjer igjen"
NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


class Recording:
    """A Sender that answers from a script (ok when it runs out) and records deliveries."""

    def __init__(self, *results: DeliveryResult | Exception) -> None:
        self.script = list(results)
        self.sent: list[Delivery] = []

    def send(self, delivery: Delivery) -> DeliveryResult:
        self.sent.append(delivery)
        result = self.script.pop(0) if self.script else DeliveryResult(True, external_id="x-1")
        if isinstance(result, Exception):
            raise result
        return result


@pytest.fixture
def conversation(
    db: Session, sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound
) -> Conversation:
    result = factory.receive(
        sessions, keyring, inbound("Hei", thread="PAGE:PSID", mid="mid.1"), analyse=False
    )
    found = db.get(Conversation, result.conversation_id)
    assert found is not None
    found.lang = "nn"
    return found


def test_queue_outbound_stores_the_original_encrypted_and_a_redacted_copy(
    db: Session, keyring: Keyring, conversation: Conversation
) -> None:
    message = outbound.queue_outbound(db, keyring, conversation, TEXT, "reply", author_id=None)
    db.commit()
    assert (message.direction, message.kind, message.channel) == ("out", "reply", "webchat")
    assert (message.delivery, message.delivery_attempts, message.next_attempt_at) == (
        "queued",
        0,
        None,
    )
    assert message.redacted_text == "Ring oss på <PHONE> hvis det skjer igjen"
    assert TEXT.encode() not in message.raw_encrypted
    assert factory.original(keyring, message) == TEXT
    assert message.lang == "nn"
    assert message.analyzed_at is not None  # never waits for analysis
    assert (message.urgent, message.entity_types, message.reasons) == (False, [], [])
    assert message.conversation_id == conversation.id


def test_claim_due_hands_out_what_the_channel_needs_and_takes_a_lease(
    db: Session, keyring: Keyring, conversation: Conversation
) -> None:
    message = outbound.queue_outbound(db, keyring, conversation, TEXT, "emergency")
    [incoming] = [m for m in conversation.messages if m.direction == "in"]
    before = utcnow()
    [delivery] = outbound.claim_due(db, keyring)
    assert delivery == Delivery(
        message_uid=message.uid,
        conversation_id=conversation.id,
        channel="webchat",
        thread_key="PAGE:PSID",
        text=TEXT,
        kind="emergency",
        lang="nn",
        last_inbound_at=incoming.sent_at,
        last_inbound_id="mid.1",
    )
    assert message.next_attempt_at is not None
    lease = message.next_attempt_at - before
    assert timedelta(seconds=LEASE_SECONDS - 5) <= lease <= timedelta(seconds=LEASE_SECONDS + 5)
    assert message.delivery == "queued"  # a claim is not a result
    # claimed: not handed out again while the lease runs
    assert outbound.claim_due(db, keyring) == []
    # the worker died mid-send: when the lease has run out it is claimed again
    message.next_attempt_at = utcnow() - timedelta(seconds=1)
    assert [d.message_uid for d in outbound.claim_due(db, keyring)] == [message.uid]


def test_claim_due_takes_queued_and_due_retries_oldest_first_up_to_the_limit(
    db: Session, keyring: Keyring, conversation: Conversation
) -> None:
    made = [
        outbound.queue_outbound(db, keyring, conversation, f"Svar {i}", "reply") for i in range(6)
    ]
    made[1].delivery = "sent"
    made[2].delivery = "failed"
    made[3].delivery = "retrying"
    made[3].next_attempt_at = utcnow() - timedelta(seconds=1)  # due
    made[4].delivery = "retrying"
    made[4].next_attempt_at = utcnow() + timedelta(minutes=5)  # not yet
    db.flush()
    first = outbound.claim_due(db, keyring, limit=1)
    assert [d.text for d in first] == ["Svar 0"]
    rest = outbound.claim_due(db, keyring)
    assert [d.text for d in rest] == ["Svar 3", "Svar 5"]


def test_a_conversation_without_citizen_messages_has_no_last_inbound(
    db: Session, keyring: Keyring
) -> None:
    started = factory.conversation(db, channel="messenger", thread_key="PAGE:PSID")
    outbound.queue_outbound(db, keyring, started, "Hei fra politiet", "reply")
    [delivery] = outbound.claim_due(db, keyring)
    assert (delivery.last_inbound_at, delivery.last_inbound_id, delivery.lang) == (
        None,
        None,
        None,
    )


def test_send_all_calls_the_channel_sender_and_never_raises() -> None:
    def delivery(uid: str, channel: str) -> Delivery:
        return Delivery(uid, 1, channel, "t", "Svar", "reply", "nb", None, None)

    ok = Recording(DeliveryResult(True, external_id="m.1"))
    broken = Recording(RuntimeError("boom"))
    results = outbound.send_all(
        {"webchat": ok, "messenger": broken},
        [delivery("a", "webchat"), delivery("b", "messenger"), delivery("c", "email")],
    )
    assert results == [
        ("a", DeliveryResult(True, external_id="m.1")),
        ("b", DeliveryResult(False, "network", retryable=True)),
        ("c", DeliveryResult(False, "no_sender")),
    ]
    assert [d.message_uid for d in ok.sent] == ["a"]
    assert outbound.send_all({}, []) == []


def test_a_sent_message_keeps_the_channels_id(
    db: Session, keyring: Keyring, conversation: Conversation
) -> None:
    message = outbound.queue_outbound(db, keyring, conversation, TEXT, "reply")
    sender = Recording(DeliveryResult(True, external_id="m_abc"))
    assert outbound.deliver_pending(db, keyring, {"webchat": sender}) == 1
    assert (message.delivery, message.external_id, message.delivery_error) == (
        "sent",
        "m_abc",
        None,
    )
    assert message.delivery_attempts == 1
    assert message.sent_at is not None
    assert message.next_attempt_at is None
    assert [d.text for d in sender.sent] == [TEXT]
    assert outbound.deliver_pending(db, keyring, {"webchat": sender}) == 0


@pytest.mark.parametrize(
    ("result", "state", "error"),
    [
        (DeliveryResult(False, "rejected"), "failed", "rejected"),
        (DeliveryResult(False, "outside_24h_window"), "failed", "outside_24h_window"),
        (DeliveryResult(False, "timeout", retryable=True), "retrying", "timeout"),
        (DeliveryResult(False, "rate_limited", retryable=True), "retrying", "rate_limited"),
        (RuntimeError("the channel broke"), "retrying", "network"),
    ],
)
def test_a_failed_attempt_is_final_or_retried(
    db: Session,
    keyring: Keyring,
    conversation: Conversation,
    result: DeliveryResult | Exception,
    state: str,
    error: str,
) -> None:
    message = outbound.queue_outbound(db, keyring, conversation, TEXT, "reply")
    outbound.deliver_pending(db, keyring, {"webchat": Recording(result)})
    assert (message.delivery, message.delivery_error, message.delivery_attempts) == (
        state,
        error,
        1,
    )
    assert message.sent_at is None
    assert (message.next_attempt_at is None) == (state == "failed")


def test_without_a_sender_the_message_fails_as_no_sender(
    db: Session, keyring: Keyring, conversation: Conversation
) -> None:
    message = outbound.queue_outbound(db, keyring, conversation, TEXT, "reply")
    assert outbound.deliver_pending(db, keyring, {"messenger": Recording()}) == 1
    assert (message.delivery, message.delivery_error, message.next_attempt_at) == (
        "failed",
        "no_sender",
        None,
    )


def test_retries_back_off_exponentially_until_the_last_attempt(
    db: Session, keyring: Keyring, conversation: Conversation
) -> None:
    message = outbound.queue_outbound(db, keyring, conversation, TEXT, "reply")
    retryable = DeliveryResult(False, "server_error", retryable=True)
    delays = []
    for attempt in range(1, MAX_DELIVERY_ATTEMPTS):
        outbound.record_result(message, retryable, now=NOW)
        assert (message.delivery, message.delivery_attempts) == ("retrying", attempt)
        assert message.next_attempt_at is not None
        delays.append((message.next_attempt_at - NOW).total_seconds())
    assert delays == [FIRST_RETRY_SECONDS * 2**n for n in range(MAX_DELIVERY_ATTEMPTS - 1)]
    assert delays[:3] == [2.0, 4.0, 8.0]
    outbound.record_result(message, retryable, now=NOW)
    assert (message.delivery, message.delivery_attempts, message.next_attempt_at) == (
        "failed",
        MAX_DELIVERY_ATTEMPTS,
        None,
    )
    assert message.delivery_error == "server_error"


def test_the_backoff_is_capped(
    db: Session, keyring: Keyring, conversation: Conversation, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbound, "MAX_DELIVERY_ATTEMPTS", 30)
    message = outbound.queue_outbound(db, keyring, conversation, TEXT, "reply")
    message.delivery_attempts = 15
    outbound.record_result(message, DeliveryResult(False, "timeout", retryable=True), now=NOW)
    assert message.next_attempt_at == NOW + timedelta(seconds=outbound.MAX_RETRY_SECONDS)


def test_a_retry_is_claimed_again_only_when_due(
    db: Session, keyring: Keyring, conversation: Conversation
) -> None:
    message = outbound.queue_outbound(db, keyring, conversation, TEXT, "reply")
    sender = Recording(DeliveryResult(False, "timeout", retryable=True))
    outbound.deliver_pending(db, keyring, {"webchat": sender})
    assert message.delivery == "retrying"
    assert outbound.deliver_pending(db, keyring, {"webchat": sender}) == 0  # not yet due
    message.next_attempt_at = utcnow() - timedelta(seconds=1)
    assert outbound.deliver_pending(db, keyring, {"webchat": sender}) == 1
    assert (message.delivery, message.delivery_attempts, message.delivery_error) == (
        "sent",
        2,
        None,
    )
    assert len(sender.sent) == 2


def test_record_results_ignores_unknown_messages(db: Session) -> None:
    outbound.record_results(db, [("0" * 32, DeliveryResult(True))])


def test_requeue_makes_a_failed_message_due_again(
    db: Session, keyring: Keyring, conversation: Conversation
) -> None:
    message = outbound.queue_outbound(db, keyring, conversation, TEXT, "reply")
    outbound.deliver_pending(db, keyring, {"webchat": Recording(DeliveryResult(False, "rejected"))})
    assert message.delivery == "failed"
    outbound.requeue(message)
    assert (message.delivery, message.delivery_error, message.next_attempt_at) == (
        "queued",
        None,
        None,
    )
    assert outbound.deliver_pending(db, keyring, {"webchat": Recording()}) == 1
    assert (message.delivery, message.delivery_attempts) == ("sent", 2)


def test_every_delivery_error_has_an_explanation() -> None:
    used = {"outside_24h_window", "unknown_page", "no_sender", "timeout", "network"}
    used |= {"server_error", "rate_limited", "rejected", "no_address"}
    assert used <= set(outbound.DELIVERY_ERRORS)
    assert all(text.strip() for text in outbound.DELIVERY_ERRORS.values())


def test_inbound_messages_are_never_claimed(
    db: Session, keyring: Keyring, conversation: Conversation
) -> None:
    [incoming] = conversation.messages
    incoming.delivery = "queued"  # even if a column said so
    assert outbound.claim_due(db, keyring) == []
    assert isinstance(incoming, Message)
