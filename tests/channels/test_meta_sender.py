"""The Send API client against a fake Graph API on loopback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from stemme.channels.meta import MetaSender, SendResult
from tests.channels import fake_graph as g
from tests.channels.conftest import IG_ACCOUNT_ID, IG_TOKEN, PAGE_ID, PAGE_TOKEN, make_settings
from tests.channels.meta_payloads import IGSID, PSID

NOW = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
RECENT = NOW - timedelta(hours=2)
REPLY = "Takk for at du tok kontakt. Vi sender en patrulje til Storgata i kveld."
WINDOW_MESSAGE = "Mer enn 24 timer siden innbyggeren skrev sist; Meta tillater ikke svar nå."


class Sender:
    """A MetaSender pointed at the fake, with recorded (not slept) backoff waits."""

    def __init__(self, base_url: str, **options: Any) -> None:
        self.waits: list[float] = []
        settings = make_settings(meta_graph_url=base_url)
        options.setdefault("timeout", 0.3)
        options.setdefault("max_attempts", 4)
        options.setdefault("backoff", 0.01)
        self.sender = MetaSender(settings, sleep=self.waits.append, now=lambda: NOW, **options)

    def send(self, page: str = PAGE_ID, psid: str = PSID, last: datetime = RECENT) -> SendResult:
        return self.sender.send_text(page, psid, REPLY, last)


@pytest.fixture
def graph(fake_graph: tuple[g.FakeGraph, str]) -> g.FakeGraph:
    return fake_graph[0]


@pytest.fixture
def sender(fake_graph: tuple[g.FakeGraph, str]) -> Iterator[Sender]:
    made = Sender(fake_graph[1])
    yield made
    made.sender.close()


def test_sends_exactly_what_the_send_api_expects(graph: g.FakeGraph, sender: Sender) -> None:
    graph.answer(g.ok("m_1457764197618:41d102a3e1ae206a38"))
    result = sender.send()
    assert result == SendResult(
        ok=True, status=200, attempts=1, message_id="m_1457764197618:41d102a3e1ae206a38"
    )
    [request] = graph.requests
    assert request.method == "POST"
    assert request.path == f"/v21.0/{PAGE_ID}/messages"
    assert request.query == {"access_token": PAGE_TOKEN}
    assert request.headers["content-type"] == "application/json"
    assert request.body == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": REPLY},
    }


def test_instagram_uses_its_own_account_and_token(graph: g.FakeGraph, sender: Sender) -> None:
    assert sender.send(IG_ACCOUNT_ID, IGSID).ok
    [request] = graph.requests
    assert request.path == f"/v21.0/{IG_ACCOUNT_ID}/messages"
    assert request.query == {"access_token": IG_TOKEN}
    assert request.body["recipient"] == {"id": IGSID}


@pytest.mark.parametrize(
    ("name", "script", "expected", "waits"),
    [
        (
            "500 then success",
            [g.error(500, code=2), g.ok("m_ok")],
            SendResult(ok=True, status=200, attempts=2, message_id="m_ok"),
            [0.01],
        ),
        (
            "502 503 then success",
            [g.Reply(502), g.Reply(503, "Service Unavailable"), g.ok("m_ok")],
            SendResult(ok=True, status=200, attempts=3, message_id="m_ok"),
            [0.01, 0.02],
        ),
        (
            "429 without Retry-After",
            [g.error(429, code=613), g.ok("m_ok")],
            SendResult(ok=True, status=200, attempts=2, message_id="m_ok"),
            [0.01],
        ),
        (
            "429 with a small Retry-After is respected",
            [g.Reply(429, {"error": {"code": 613}}, {"Retry-After": "1"}), g.ok("m_ok")],
            SendResult(ok=True, status=200, attempts=2, message_id="m_ok"),
            [1.0],
        ),
        (
            "429 with an unreadable Retry-After falls back to backoff",
            [g.Reply(429, None, {"Retry-After": "Wed, 25 Nov 2026 15:00:00 GMT"}), g.ok("m_ok")],
            SendResult(ok=True, status=200, attempts=2, message_id="m_ok"),
            [0.01],
        ),
        (
            "timeout then success",
            [g.TIMEOUT, g.ok("m_ok")],
            SendResult(ok=True, status=200, attempts=2, message_id="m_ok"),
            [0.01],
        ),
        (
            "success without a message id",
            [g.Reply(200, "not an object")],
            SendResult(ok=True, status=200, attempts=1),
            [],
        ),
        (
            "success with an empty body",
            [g.Reply(200)],
            SendResult(ok=True, status=200, attempts=1),
            [],
        ),
    ],
)
def test_retries(
    graph: g.FakeGraph,
    sender: Sender,
    name: str,
    script: list[g.Reply],
    expected: SendResult,
    waits: list[float],
) -> None:
    graph.answer(*script)
    assert sender.send() == expected
    assert len(graph.requests) == expected.attempts
    assert sender.waits == waits
    bodies = {repr(r.body) for r in graph.requests}
    assert len(bodies) == 1  # every attempt sends the same reply


@pytest.mark.parametrize(
    ("name", "script", "error", "status", "attempts", "retryable"),
    [
        ("always 500", [g.error(500)] * 4, "server_error", 500, 4, True),
        ("always timing out", [g.TIMEOUT] * 4, "timeout", None, 4, True),
        ("always 429", [g.error(429, code=613)] * 4, "rate_limited", 429, 4, True),
        (
            "429 asking for a long pause ends at once",
            [g.Reply(429, None, {"Retry-After": "3600"})],
            "rate_limited",
            429,
            1,
            True,
        ),
        ("400 is final", [g.error(400, code=100)], "rejected", 400, 1, False),
        ("403 is final", [g.error(403, code=200)], "rejected", 403, 1, False),
        ("404 without JSON is final", [g.Reply(404)], "rejected", 404, 1, False),
        ("500 then 400", [g.error(500), g.error(400, code=551)], "rejected", 400, 2, False),
    ],
)
def test_gives_up_with_state(
    graph: g.FakeGraph,
    sender: Sender,
    name: str,
    script: list[g.Reply],
    error: str,
    status: int | None,
    attempts: int,
    retryable: bool,
) -> None:
    graph.answer(*script)
    result = sender.send()
    assert (result.ok, result.error, result.status, result.attempts, result.retryable) == (
        False,
        error,
        status,
        attempts,
        retryable,
    )
    assert result.message_id is None
    assert result.detail
    assert len(graph.requests) == attempts
    assert len(sender.waits) == attempts - 1


def test_backoff_doubles(graph: g.FakeGraph, fake_graph: tuple[g.FakeGraph, str]) -> None:
    graph.answer(*[g.Reply(500)] * 5)
    made = Sender(fake_graph[1], max_attempts=5, backoff=0.2)
    result = made.send()
    assert result.attempts == 5
    assert made.waits == [0.2, 0.4, 0.8, 1.6]


def test_rejection_names_metas_error_code(graph: g.FakeGraph, sender: Sender) -> None:
    graph.answer(g.error(400, code=10, subcode=2018278))
    result = sender.send()
    assert result.detail == "Meta avviste svaret (HTTP 400, kode 10)."
    graph.answer(g.Reply(400, {"error": {"code": "x"}}))
    assert sender.send().detail == "Meta avviste svaret (HTTP 400, kode –)."


@pytest.mark.parametrize(
    ("last", "sent"),
    [
        (NOW - timedelta(hours=24, seconds=1), False),
        (NOW - timedelta(days=3), False),
        (NOW - timedelta(hours=24), True),
        (NOW - timedelta(minutes=1), True),
        ((NOW - timedelta(hours=25)).replace(tzinfo=None), False),  # naive: read as UTC
        ((NOW - timedelta(hours=1)).replace(tzinfo=None), True),
    ],
)
def test_24_hour_window(graph: g.FakeGraph, sender: Sender, last: datetime, sent: bool) -> None:
    result = sender.send(last=last)
    assert result.ok is sent
    assert len(graph.requests) == (1 if sent else 0)
    if not sent:
        assert result == SendResult(
            ok=False,
            status=None,
            attempts=0,
            error="outside_24h_window",
            detail=WINDOW_MESSAGE,
        )


def test_unknown_page_is_not_sent(graph: g.FakeGraph, sender: Sender) -> None:
    result = sender.send(page="999999999")
    assert (result.ok, result.error, result.attempts, result.retryable) == (
        False,
        "unknown_page",
        0,
        False,
    )
    assert graph.requests == []


def test_network_error_is_retried_and_reported(graph: g.FakeGraph) -> None:
    from tests.channels.conftest import free_port

    made = Sender(f"http://127.0.0.1:{free_port()}/v21.0", max_attempts=3)
    result = made.send()
    assert (result.ok, result.error, result.attempts, result.retryable) == (
        False,
        "network",
        3,
        True,
    )
    made.sender.close()


def test_own_client_by_default_and_a_given_client_is_left_open(
    fake_graph: tuple[g.FakeGraph, str],
) -> None:
    import httpx

    settings = make_settings(meta_graph_url=fake_graph[1] + "/")
    with MetaSender(settings, now=lambda: NOW) as own:
        assert own.send_text(PAGE_ID, PSID, REPLY, RECENT).ok
    assert own.client.is_closed
    with httpx.Client() as client:
        given = MetaSender(settings, client=client, now=lambda: NOW)
        given.close()
        assert not client.is_closed
    assert fake_graph[0].requests[0].path == f"/v21.0/{PAGE_ID}/messages"
    with pytest.raises(ValueError, match="max_attempts"):
        MetaSender(settings, max_attempts=0)


def test_real_clock_is_utc() -> None:
    sender = MetaSender(make_settings())
    assert sender.now().tzinfo is UTC
    sender.close()


def test_never_logs_text_or_tokens(
    graph: g.FakeGraph, sender: Sender, caplog: pytest.LogCaptureFixture
) -> None:
    graph.answer(g.error(500), g.TIMEOUT, g.error(400, code=100))
    with caplog.at_level(logging.DEBUG):
        sender.send()
        sender.send(IG_ACCOUNT_ID, IGSID)
    logged = "\n".join(
        [r.getMessage() for r in caplog.records] + [repr(vars(r)) for r in caplog.records]
    )
    assert "meta send" in logged
    assert "access_token=***" in logged  # httpx's own request log, redacted
    for secret in (PAGE_TOKEN, IG_TOKEN, REPLY, "patrulje"):
        assert secret not in logged
