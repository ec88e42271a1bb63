"""The webhook bridge over real HTTP: signature, timestamp window, sources, limits, parsing,
deduplication, and replies as signed POSTs to a fake platform on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from stemme import jobs
from stemme.channels.bridge import (
    MAX_BODY_BYTES,
    MAX_MESSAGES,
    BridgeSender,
    sign_delivery,
)
from stemme.channels.bridge_routes import bridge_router
from stemme.channels.senders import build_senders
from stemme.config import Settings
from stemme.identity import service
from stemme.identity.access import command_line_principal
from stemme.inbox import outbound
from stemme.inbox.models import Message
from stemme.inbox.outbound import Delivery, DeliveryResult
from tests.channels.conftest import Intake, Served, free_port
from tests.channels.replies import queue_reply
from tests.conftest import LiveServer
from tests.helpers import api_headers

SOURCE = "discord"
SECRET = "test-bridge-secret-discord"
OTHER_SECRET = "test-bridge-secret-snap"
URL = f"/channels/bridge/{SOURCE}"
SENT_AT = "2025-11-25T14:03:00+01:00"
TEXT = "Noen deler nakenbilder av en jente i klassen min på serveren vår. Ring 91745302"


def message(
    mid: str = "1178062233940123",
    thread: str = "guild-42/channel-7/user-99",
    text: str = TEXT,
    **extra: Any,
) -> dict[str, Any]:
    return {"id": mid, "thread": thread, "text": text, "sent_at": SENT_AT, **extra}


def encode(*messages: Any, **extra: Any) -> bytes:
    return json.dumps({"messages": list(messages), **extra}, ensure_ascii=False).encode()


def headers(
    body: bytes, secret: str = SECRET, timestamp: int | str | None = None
) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/json",
        "X-Stemme-Timestamp": stamp,
        "X-Stemme-Signature": sign_delivery(secret, stamp, body),
    }


def assert_problem(response: httpx.Response, status: int, path: str = URL) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["instance"] == path
    assert problem["title"]
    assert problem["detail"]
    return problem


@pytest.fixture
def bridge_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "bridge_secrets": {SOURCE: SECRET, "snap": OTHER_SECRET, "email": "posing-secret"},
        }
    )


def bridge_app(settings: Settings, intake: Intake | None) -> FastAPI:
    app = FastAPI()
    app.include_router(bridge_router)
    app.state.stemme = SimpleNamespace(settings=settings)
    if intake is not None:
        app.state.stemme_intake = intake
    return app


@pytest.fixture
def webhook(bridge_settings: Settings, intake: Intake) -> Iterator[httpx.Client]:
    with (
        Served(bridge_app(bridge_settings, intake)) as served,
        httpx.Client(base_url=served.url, timeout=10) as http,
    ):
        yield http


def post(http: httpx.Client, body: bytes, **kwargs: Any) -> httpx.Response:
    return http.post(URL, content=body, headers=kwargs.pop("headers", None) or headers(body))


# --- accepted deliveries -----------------------------------------------------------------------


def test_a_signed_delivery_is_parsed(webhook: httpx.Client, intake: Intake) -> None:
    body = encode(
        message(),
        message(
            "1178062233940124",
            text="",
            district="oslo",
            attachments=[{"type": "image", "url": "https://cdn.example/a.png"}, {"type": "file"}],
        ),
    )
    response = post(webhook, body)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "received": 2}
    [first, second] = intake.messages
    assert (first.channel, first.thread_key, first.channel_message_id) == (
        SOURCE,
        "guild-42/channel-7/user-99",
        "1178062233940123",
    )
    assert first.text == TEXT
    assert first.sent_at == datetime(2025, 11, 25, 13, 3, tzinfo=UTC)
    assert first.channel_district is None
    assert second.channel_district == "Oslo"
    assert second.attachments == ("image:https://cdn.example/a.png", "file")
    assert len(intake.calls) == 1  # one call, one transaction


def test_an_empty_list_is_a_valid_ping(webhook: httpx.Client, intake: Intake) -> None:
    response = post(webhook, encode())
    assert response.json() == {"status": "ok", "received": 0}
    assert intake.calls == []


def test_unknown_fields_are_ignored(webhook: httpx.Client, intake: Intake) -> None:
    body = encode(message(author={"name": "x"}, reactions=3), version=2)
    assert post(webhook, body).status_code == 200
    assert len(intake.messages) == 1


def test_timestamp_at_the_edge_of_the_window(webhook: httpx.Client, intake: Intake) -> None:
    body = encode(message())
    for offset in (-290, 290):
        response = post(webhook, body, headers=headers(body, timestamp=int(time.time()) + offset))
        assert response.status_code == 200, response.text


# --- refused deliveries: nothing is delivered ----------------------------------------------

BODY = encode(message())


def _stamp() -> str:
    return str(int(time.time()))


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("no headers", lambda: {}),
        ("no signature", lambda: {"X-Stemme-Timestamp": _stamp()}),
        ("wrong secret", lambda: headers(BODY, secret="another-secret")),
        ("the secret of another source", lambda: headers(BODY, secret=OTHER_SECRET)),
        (
            "signature of the body alone",
            lambda: {
                "X-Stemme-Timestamp": _stamp(),
                "X-Stemme-Signature": "sha256="
                + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest(),
            },
        ),
        (
            "bare hex",
            lambda: {
                **headers(BODY),
                "X-Stemme-Signature": headers(BODY)["X-Stemme-Signature"].removeprefix("sha256="),
            },
        ),
        (
            "signed with another timestamp",
            lambda: {
                **headers(BODY, timestamp=int(time.time()) - 10),
                "X-Stemme-Timestamp": _stamp(),
            },
        ),
        ("no timestamp", lambda: {"X-Stemme-Signature": headers(BODY)["X-Stemme-Signature"]}),
        ("timestamp not a number", lambda: headers(BODY, timestamp="yesterday")),
        ("negative timestamp", lambda: headers(BODY, timestamp="-5")),
        ("milliseconds", lambda: headers(BODY, timestamp=int(time.time() * 1000))),
        ("six minutes old", lambda: headers(BODY, timestamp=int(time.time()) - 360)),
        ("six minutes ahead", lambda: headers(BODY, timestamp=int(time.time()) + 360)),
    ],
)
def test_bad_signature_or_timestamp_is_401(
    webhook: httpx.Client, intake: Intake, name: str, make: Any
) -> None:
    response = webhook.post(URL, content=BODY, headers=make())
    assert_problem(response, 401)
    assert intake.calls == []


@pytest.mark.parametrize("source", ["telegram", "Discord", "email", "a" * 33, "dis cord", "snap!"])
def test_unknown_source_is_404(webhook: httpx.Client, intake: Intake, source: str) -> None:
    path = f"/channels/bridge/{source}"
    response = webhook.post(path, content=BODY, headers=headers(BODY, secret="posing-secret"))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert intake.calls == []


@pytest.mark.parametrize(
    ("body", "status", "where"),
    [
        (b"not json", 400, None),
        (b"\xff\xfe", 400, None),
        (b"[]", 400, None),
        (b'{"messages": {}}', 422, ["messages"]),
        (b"{}", 422, ["messages"]),
        (encode(*[message(str(n)) for n in range(MAX_MESSAGES + 1)]), 422, ["messages"]),
        (encode("text"), 422, ["messages", 0]),
        (encode(message(), {"thread": "t"}), 422, ["messages", 1, "id"]),
        (encode(message(mid="")), 422, ["messages", 0, "id"]),
        (encode(message(mid=123)), 422, ["messages", 0, "id"]),
        (encode(message(mid="x" * 256)), 422, ["messages", 0, "id"]),
        (encode(message(thread="")), 422, ["messages", 0, "thread"]),
        (encode(message(thread="a\nb")), 422, ["messages", 0, "thread"]),
        (encode(message(text="")), 422, ["messages", 0, "text"]),
        (encode(message(text=5)), 422, ["messages", 0, "text"]),
        (encode(message(text="x" * 20_001)), 422, ["messages", 0, "text"]),
        (encode(message(sent_at="2025-11-25T14:03:00")), 422, ["messages", 0, "sent_at"]),
        (encode(message(sent_at="i går")), 422, ["messages", 0, "sent_at"]),
        (encode(message(sent_at=1764070000)), 422, ["messages", 0, "sent_at"]),
        (encode(message(district="Gotham")), 422, ["messages", 0, "district"]),
        (encode(message(district=3)), 422, ["messages", 0, "district"]),
        (encode(message(attachments="x")), 422, ["messages", 0, "attachments"]),
        (encode(message(attachments=[{"url": "https://x"}])), 422, ["messages", 0, "attachments"]),
        (
            encode(message(attachments=[{"type": "image", "url": "javascript:alert(1)"}])),
            422,
            ["messages", 0, "attachments"],
        ),
    ],
)
def test_malformed_deliveries(
    webhook: httpx.Client, intake: Intake, body: bytes, status: int, where: list[object] | None
) -> None:
    problem = assert_problem(post(webhook, body), status)
    if where is not None:
        assert where in [e["loc"] for e in problem["errors"]]
    assert intake.calls == []


def test_every_fault_is_listed(webhook: httpx.Client, intake: Intake) -> None:
    body = encode(message(), {"id": "", "text": "x"}, message(district="Atlantis"))
    problem = assert_problem(post(webhook, body), 422)
    assert [e["loc"] for e in problem["errors"]] == [
        ["messages", 1, "id"],
        ["messages", 1, "thread"],
        ["messages", 1, "sent_at"],
        ["messages", 2, "district"],
    ]
    assert problem["detail"] == "4 felt i meldingene mangler eller er ugyldige."
    assert intake.calls == []


def test_oversized_by_content_length(webhook: httpx.Client, intake: Intake) -> None:
    body = encode(message(text="x" * MAX_BODY_BYTES))
    assert_problem(post(webhook, body), 413)
    assert intake.calls == []


def test_oversized_streamed(webhook: httpx.Client, intake: Intake) -> None:
    body = encode(message(text="x" * MAX_BODY_BYTES))

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 16 * 1024):
            yield body[start : start + 16 * 1024]

    assert_problem(webhook.post(URL, content=chunks(), headers=headers(body)), 413)
    assert intake.calls == []


def test_a_failing_store_is_500_and_can_be_sent_again(
    webhook: httpx.Client, intake: Intake
) -> None:
    intake.fail = True
    assert_problem(post(webhook, BODY), 500)
    intake.fail = False
    assert post(webhook, BODY).status_code == 200
    assert len(intake.messages) == 1


def test_without_intake_it_is_503(bridge_settings: Settings) -> None:
    with Served(bridge_app(bridge_settings, None)) as served:
        response = httpx.post(served.url + URL, content=BODY, headers=headers(BODY))
    assert_problem(response, 503)


# --- the platform's callback ---------------------------------------------------------------


@dataclass
class Call:
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


class FakePlatform:
    """Receives replies at /replies; answers with the scripted statuses, then 200."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.script: list[int | str] = []
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Route("/replies", self._handle, methods=["POST"])])

    async def _handle(self, request: Request) -> Response:
        import asyncio

        raw = await request.body()
        with self._lock:
            self.calls.append(Call(dict(request.headers), raw))
            status = self.script.pop(0) if self.script else 200
        if status == "timeout":
            await asyncio.sleep(1.0)
            return Response(status_code=200)
        assert isinstance(status, int)
        if status == 200:
            return JSONResponse({"id": f"platform-{len(self.calls)}"})
        return Response(status_code=status)


@pytest.fixture
def platform() -> Iterator[tuple[FakePlatform, str]]:
    fake = FakePlatform()
    with Served(fake.app) as served:
        yield fake, f"{served.url}/replies"


def verify(call: Call, secret: str = SECRET) -> None:
    """What docs/bridge.md tells a platform to check."""
    stamp = call.headers["x-stemme-timestamp"]
    expected = (
        "sha256="
        + hmac.new(secret.encode(), stamp.encode() + b"." + call.raw, hashlib.sha256).hexdigest()
    )
    assert hmac.compare_digest(expected, call.headers["x-stemme-signature"])
    assert abs(time.time() - int(stamp)) < 60
    assert call.headers["content-type"] == "application/json"


def a_delivery(**changes: Any) -> Delivery:
    values: dict[str, Any] = {
        "message_uid": "0123456789abcdef0123456789abcdef",
        "conversation_id": 1,
        "channel": SOURCE,
        "thread_key": "guild-42/channel-7/user-99",
        "text": "Takk for at du sier fra. Vi ser på det nå.",
        "kind": "reply",
        "lang": "nb",
        "last_inbound_at": None,
        "last_inbound_id": "1178062233940123",
    }
    values.update(changes)
    return Delivery(**values)


def test_sender_posts_a_signed_reply(
    settings: Settings, platform: tuple[FakePlatform, str]
) -> None:
    fake, url = platform
    configured = settings.model_copy(
        update={"bridge_secrets": {SOURCE: SECRET}, "bridge_callbacks": {SOURCE: url}}
    )
    sender = BridgeSender(configured, timeout=5)
    result = sender.send(a_delivery())
    sender.close()
    assert result == DeliveryResult(True, external_id="platform-1")
    [call] = fake.calls
    verify(call)
    assert call.json == {
        "thread": "guild-42/channel-7/user-99",
        "reply_to": "1178062233940123",
        "id": "0123456789abcdef0123456789abcdef",
        "text": "Takk for at du sier fra. Vi ser på det nå.",
        "kind": "reply",
        "lang": "nb",
    }


@pytest.mark.parametrize(
    ("status", "error", "retryable"),
    [
        (500, "server_error", True),
        (503, "server_error", True),
        (429, "rate_limited", True),
        (408, "timeout", True),
        (400, "rejected", False),
        (404, "rejected", False),
        (301, "rejected", False),
        ("timeout", "timeout", True),
    ],
)
def test_sender_failures(
    settings: Settings,
    platform: tuple[FakePlatform, str],
    status: int | str,
    error: str,
    retryable: bool,
) -> None:
    fake, url = platform
    fake.script.append(status)
    configured = settings.model_copy(
        update={"bridge_secrets": {SOURCE: SECRET}, "bridge_callbacks": {SOURCE: url}}
    )
    sender = BridgeSender(configured, timeout=0.3)
    assert sender.send(a_delivery()) == DeliveryResult(False, error, retryable=retryable)
    assert error in outbound.DELIVERY_ERRORS


def test_sender_network_error_and_missing_callback(settings: Settings) -> None:
    configured = settings.model_copy(
        update={
            "bridge_secrets": {SOURCE: SECRET},
            "bridge_callbacks": {SOURCE: f"http://127.0.0.1:{free_port()}/replies"},
        }
    )
    sender = BridgeSender(configured, timeout=2)
    assert sender.send(a_delivery()) == DeliveryResult(False, "network", retryable=True)
    assert sender.send(a_delivery(channel="snap")) == DeliveryResult(False, "no_sender")


def test_senders_for_configured_sources_only(settings: Settings) -> None:
    configured = settings.model_copy(
        update={
            "bridge_secrets": {SOURCE: SECRET, "snap": OTHER_SECRET, "email": "x", "BAD": "x"},
            "bridge_callbacks": {
                SOURCE: "https://discord-bridge.example/replies",
                "snap": "ftp://snap.example",  # not http(s)
                "email": "https://posing.example",  # a built-in channel's name
                "BAD": "https://bad.example",  # not a valid source name
                "nosecret": "https://nosecret.example",
            },
        }
    )
    senders = build_senders(configured)
    assert isinstance(senders[SOURCE], BridgeSender)
    assert "snap" not in senders
    assert "nosecret" not in senders
    assert "BAD" not in senders
    assert not isinstance(senders.get("email"), BridgeSender)


# --- end to end: platform → stemme → operator → platform ------------------------------------


def admin_token(make_user: Any, sessions: sessionmaker[Session]) -> str:
    admin = make_user("admin")
    with sessions() as session, session.begin():
        user = session.merge(admin)
        return service.create_token(session, command_line_principal(), user, "bridge")[1]


def test_bridge_end_to_end(
    settings: Settings,
    make_user: Any,
    sessions: sessionmaker[Session],
    db: Session,
    platform: tuple[FakePlatform, str],
    capfd: pytest.CaptureFixture[str],
) -> None:
    fake, callback = platform
    token = admin_token(make_user, sessions)
    configured = settings.model_copy(
        update={
            "bridge_secrets": {SOURCE: SECRET},
            "bridge_callbacks": {SOURCE: callback},
            "log_level": "DEBUG",
        }
    )
    body = encode(
        message(district="Oslo"),
        message("1178062233940125", text="Han heter Ola og går i 9B.", district="Oslo"),
    )
    with (
        LiveServer(configured) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        for _ in range(2):  # the platform retries: stored once
            answer = http.post(URL, content=body, headers=headers(body))
            assert answer.json() == {"status": "ok", "received": 2}, answer.text
        unsigned = http.post(URL, content=body)
        assert unsigned.status_code == 401

        deadline = time.monotonic() + 20
        while True:
            listing = http.get("/api/v1/conversations", headers=api_headers(token)).json()
            texts = [
                m["text"]
                for c in listing["items"]
                for m in c["messages"]
                if m["direction"] == "in" and m["text"] is not None
            ]
            if len(texts) == 2 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert listing["total"] == 1
        item = listing["items"][0]
        assert item["channel"] == SOURCE
        assert item["district"] == "Oslo"
        assert "91745302" not in texts[0]
        assert "<PHONE>" in texts[0]

        reply_id, reply_uid = queue_reply(configured, item["id"], "Takk, vi tar kontakt.")
        jobs.notify()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            calls = [c for c in fake.calls if c.json["id"] == reply_uid]
            if calls:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the reply did not reach the platform")
    [call] = calls
    verify(call)
    assert call.json["thread"] == "guild-42/channel-7/user-99"
    assert call.json["reply_to"] == "1178062233940125"
    assert call.json["text"] == "Takk, vi tar kontakt."
    db.expire_all()
    sent = db.get(Message, reply_id)
    assert sent is not None
    assert sent.delivery == "sent"
    assert sent.external_id is not None
    assert sent.external_id.startswith("platform-")
    inbound = db.scalar(
        select(func.count(Message.id)).where(Message.direction == "in", Message.channel == SOURCE)
    )
    assert inbound == 2
    logged = capfd.readouterr().err  # the app's JSON log lines (level DEBUG)
    assert "bridge delivery accepted" in logged
    for secret in ("guild-42", "user-99", "1178062233940125", "nakenbilder", "Ola", SECRET):
        assert secret not in logged
