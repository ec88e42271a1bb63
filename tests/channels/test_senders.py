"""The outbound side of the channels: Messenger/Instagram through the Send API (one attempt,
the queue retries) against the fake Graph API, and the web chat's stored delivery."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from stemme.channels.senders import MetaChannelSender, StoredSender, build_senders
from stemme.db import utcnow
from stemme.inbox.outbound import Delivery, DeliveryResult
from tests.channels import fake_graph as g
from tests.channels.conftest import IG_ACCOUNT_ID, IG_TOKEN, PAGE_ID, PAGE_TOKEN, make_settings
from tests.channels.meta_payloads import IGSID, PSID

TEXT = "Takk for meldingen. Vi ser på saken."


def _delivery(
    thread_key: str, *, last_inbound: timedelta | None = timedelta(minutes=5)
) -> Delivery:
    return Delivery(
        message_uid="a" * 32,
        conversation_id=1,
        channel="messenger",
        thread_key=thread_key,
        text=TEXT,
        kind="reply",
        lang="nb",
        last_inbound_at=utcnow() - last_inbound if last_inbound is not None else None,
        last_inbound_id="mid.1",
    )


@pytest.fixture
def graph(fake_graph: tuple[g.FakeGraph, str]) -> g.FakeGraph:
    return fake_graph[0]


@pytest.fixture
def sender(fake_graph: tuple[g.FakeGraph, str]) -> Iterator[MetaChannelSender]:
    made = MetaChannelSender(make_settings(meta_graph_url=fake_graph[1]))
    yield made
    made.close()


def test_a_messenger_reply_goes_to_the_page_and_psid_of_the_thread_key(
    graph: g.FakeGraph, sender: MetaChannelSender
) -> None:
    graph.answer(g.ok("m_sent_1"))
    result = sender.send(_delivery(f"{PAGE_ID}:{PSID}"))
    assert result == DeliveryResult(True, None, False, "m_sent_1")
    [request] = graph.requests
    assert request.path == f"/v21.0/{PAGE_ID}/messages"
    assert request.query == {"access_token": PAGE_TOKEN}
    assert request.body == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": TEXT},
    }


def test_an_instagram_reply_uses_the_accounts_token(
    graph: g.FakeGraph, sender: MetaChannelSender
) -> None:
    assert sender.send(_delivery(f"{IG_ACCOUNT_ID}:{IGSID}")).ok
    [request] = graph.requests
    assert request.path == f"/v21.0/{IG_ACCOUNT_ID}/messages"
    assert request.query == {"access_token": IG_TOKEN}
    assert request.body["recipient"] == {"id": IGSID}


@pytest.mark.parametrize(
    ("thread_key", "last_inbound"),
    [
        (PAGE_ID, timedelta(minutes=5)),  # no PSID
        (f"{PAGE_ID}:", timedelta(minutes=5)),  # empty PSID
        ("", timedelta(minutes=5)),
        (f"{PAGE_ID}:{PSID}", None),  # the citizen never wrote: nothing to answer
    ],
)
def test_without_an_address_nothing_is_sent(
    graph: g.FakeGraph,
    sender: MetaChannelSender,
    thread_key: str,
    last_inbound: timedelta | None,
) -> None:
    result = sender.send(_delivery(thread_key, last_inbound=last_inbound))
    assert result == DeliveryResult(False, "no_address")
    assert graph.requests == []


@pytest.mark.parametrize(
    ("script", "expected", "requests"),
    [
        # one attempt only, even for a retryable failure: the queue retries
        ([g.error(500, code=2)], DeliveryResult(False, "server_error", True, None), 1),
        ([g.error(429, code=613)], DeliveryResult(False, "rate_limited", True, None), 1),
        ([g.error(400, code=100)], DeliveryResult(False, "rejected", False, None), 1),
    ],
    ids=["server-error", "rate-limited", "rejected"],
)
def test_send_api_failures_map_to_delivery_results(
    graph: g.FakeGraph,
    sender: MetaChannelSender,
    script: list[g.Reply],
    expected: DeliveryResult,
    requests: int,
) -> None:
    graph.answer(*script)
    assert sender.send(_delivery(f"{PAGE_ID}:{PSID}")) == expected
    assert len(graph.requests) == requests


def test_an_unknown_page_and_an_old_thread_are_refused_without_a_request(
    graph: g.FakeGraph, sender: MetaChannelSender
) -> None:
    unknown = sender.send(_delivery(f"999:{PSID}"))
    assert unknown == DeliveryResult(False, "unknown_page", False, None)
    old = sender.send(_delivery(f"{PAGE_ID}:{PSID}", last_inbound=timedelta(hours=25)))
    assert old == DeliveryResult(False, "outside_24h_window", False, None)
    assert graph.requests == []


def test_the_stored_sender_delivers_by_storing() -> None:
    delivery = _delivery("webchat-thread")
    assert StoredSender().send(delivery) == DeliveryResult(True, external_id=delivery.message_uid)


def test_build_senders_covers_the_chat_channels() -> None:
    senders = build_senders(make_settings())
    try:
        assert {"messenger", "instagram", "webchat"} <= set(senders)
        assert senders["messenger"] is senders["instagram"]
        assert isinstance(senders["messenger"], MetaChannelSender)
        assert isinstance(senders["webchat"], StoredSender)
        assert "email" not in senders  # no mail server configured
    finally:
        meta = senders["messenger"]
        assert isinstance(meta, MetaChannelSender)
        meta.close()


def test_build_senders_adds_email_when_a_mail_server_is_configured() -> None:
    from stemme.channels.email import EmailSender

    settings = make_settings(
        smtp_url="smtp://127.0.0.1:2525",
        email_address="nettpatrulje@politiet.test",
        encryption_keys="test:Ztc1TX2LLjfVXM31MtQGee1G8lRf3TaOfBt3eH0ZOrw=",  # tests only
    )
    senders = build_senders(settings)
    try:
        assert isinstance(senders["email"], EmailSender)
    finally:
        for sender in {id(s): s for s in senders.values()}.values():
            close = getattr(sender, "close", None)
            if close is not None:
                close()
