"""The web chat: its units, then the whole channel over real HTTP on loopback."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from stemme.channels import ratelimit, webchat, webchat_routes
from stemme.channels.senders import StoredSender
from stemme.config import Settings
from stemme.db import transaction
from stemme.errors import InvalidInputError
from stemme.identity import service
from stemme.identity.access import command_line_principal
from stemme.inbox.models import Conversation, Feedback, Message, WebchatSession
from stemme.inbox.outbound import deliver_pending, queue_outbound
from stemme.privacy.crypto import Keyring
from tests.conftest import LiveServer
from tests.helpers import api_headers

PHONE_TEXT = "Hei! Jeg så en bil kjøre på en sykkel ved Jernbanetorget. Ring meg på 91234567"

# --- units: the rate limiter ------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_allows_a_burst_then_refills() -> None:
    clock = Clock()
    limiter = ratelimit.RateLimiter(per_minute=6, clock=clock)  # one token per 10 s
    assert [limiter.take("a") for _ in range(6)] == [0.0] * 6
    wait = limiter.take("a")
    assert wait == pytest.approx(10.0)
    assert limiter.take("b") == 0.0  # another client has its own bucket
    clock.now += 5
    assert limiter.take("a") == pytest.approx(5.0)
    clock.now += 5.01
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0


def test_rate_limiter_check_raises_with_retry_after() -> None:
    clock = Clock()
    limiter = ratelimit.RateLimiter(per_minute=1, capacity=1, clock=clock)
    limiter.check("chat", "address")
    with pytest.raises(ratelimit.RateLimitedError) as caught:
        limiter.check("chat", "address")
    assert caught.value.status == 429
    assert caught.value.retry_after == 60


def test_rate_limiter_forgets_full_buckets() -> None:
    clock = Clock()
    limiter = ratelimit.RateLimiter(per_minute=60, clock=clock, max_keys=10)
    for key in range(10):
        limiter.take(key)
    clock.now += 120  # every bucket is full again
    limiter.take("new")
    assert len(limiter._buckets) == 1


# --- units: input -------------------------------------------------------------------------------


def test_parse_message_cleans_text() -> None:
    parsed = webchat.parse_message({"client_id": "abc-12345", "text": "  Hei\r\nder\x00\x07 \t"})
    assert parsed.text == "Hei\nder"
    assert parsed.client_id == "abc-12345"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"client_id": "abc-12345", "text": "   "}, "tom"),
        ({"client_id": "abc-12345", "text": "x" * 2001}, "høyst 2000 tegn"),
        ({"client_id": "abc-12345", "text": 5}, "tekst"),
        ({"client_id": "kort", "text": "Hei"}, "meldings-id"),
        ({"client_id": "abc/12345", "text": "Hei"}, "meldings-id"),
        ({"client_id": "abc-12345", "text": "Hei", "name": "Ola"}, "Ukjente felt: name"),
    ],
)
def test_parse_message_refuses(body: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        webchat.parse_message(body)
    assert fragment in caught.value.render()


def test_parse_message_needs_an_object() -> None:
    with pytest.raises(webchat.MalformedRequestError):
        webchat.parse_message(["Hei"])


def test_parse_start() -> None:
    assert webchat.parse_start({}) == webchat.StartInput("nb", None)
    assert webchat.parse_start({"lang": "nn", "district": "Oslo"}) == webchat.StartInput(
        "nn", "Oslo"
    )
    assert webchat.parse_start({"district": ""}).district is None
    with pytest.raises(InvalidInputError):
        webchat.parse_start({"lang": "de"})
    with pytest.raises(InvalidInputError):
        webchat.parse_start({"district": "Atlantis"})


def test_parse_feedback() -> None:
    assert webchat.parse_feedback({"message_id": 3, "rating": 5}) == webchat.FeedbackInput(
        3, 5, None
    )
    assert webchat.parse_feedback({"message_id": 3, "comment": " Bra "}).comment == "Bra"
    for bad in (
        {"message_id": 3},
        {"message_id": 3, "rating": 6},
        {"message_id": 3, "rating": True},
        {"message_id": "3", "rating": 4},
        {"message_id": 3, "rating": None, "comment": "  "},
    ):
        with pytest.raises(InvalidInputError):
            webchat.parse_feedback(bad)


def test_only_the_token_hash_is_stored(db: Session) -> None:
    token, chat = webchat.start_session(db, webchat.StartInput("en", "Vest"))
    db.commit()
    stored = db.scalars(select(WebchatSession)).one()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() != token
    assert stored.thread_key.startswith("webchat:")
    assert token not in stored.thread_key
    assert (stored.lang, stored.district) == ("en", "Vest")
    assert webchat.authenticate(db, token).id == chat.id
    for wrong in (None, "", token + "x", "x" * 300):
        with pytest.raises(webchat.AuthenticationError):
            webchat.authenticate(db, wrong)


def test_an_address_guessing_tokens_is_slowed_down(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    chats = webchat.Webchat(sessions, Keyring.from_setting(settings.encryption_keys), 20)
    for _ in range(60):
        with pytest.raises(webchat.AuthenticationError):
            chats.check_token("192.0.2.1", "guess")
    with pytest.raises(ratelimit.RateLimitedError):
        chats.check_token("192.0.2.1", "guess")
    with pytest.raises(webchat.AuthenticationError):  # another address is not affected
        chats.check_token("192.0.2.2", "guess")
    token, _ = chats.start("192.0.2.1", {})
    chats.check_token("192.0.2.1", token)  # a valid token is never slowed down


# --- over HTTP ----------------------------------------------------------------------------------


@pytest.fixture
def fast_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webchat_routes, "POLL_SECONDS", 0.1)
    monkeypatch.setattr(webchat_routes, "STREAM_SECONDS", 8.0)


@pytest.fixture
def keyring(settings: Settings) -> Keyring:
    return Keyring.from_setting(settings.encryption_keys)


@pytest.fixture
def http(live_server: LiveServer, fast_streams: None) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=20) as client:
        yield client


def start(http: httpx.Client, **body: Any) -> str:
    response = http.post("/chat/api/sessions", json={"lang": "nb", "district": "Oslo", **body})
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def send(http: httpx.Client, token: str, text: str, client_id: str | None = None) -> httpx.Response:
    body = {"client_id": client_id or webchat.new_client_id(), "text": text}
    return http.post("/chat/api/messages", json=body, headers=bearer(token))


def assert_problem(response: httpx.Response, status: int, fragment: str = "") -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert fragment in body["detail"], body
    return body


def admin_token(make_user: Any, sessions: sessionmaker[Session]) -> str:
    admin = make_user("admin")
    with sessions() as session, session.begin():
        user = session.merge(admin)
        return service.create_token(session, command_line_principal(), user, "e2e")[1]


def the_conversation(sessions: sessionmaker[Session]) -> Conversation:
    with sessions() as session:
        return session.scalars(select(Conversation).where(Conversation.channel == "webchat")).one()


def reply(sessions: sessionmaker[Session], keyring: Keyring, text: str, kind: str = "reply") -> int:
    """An operator's reply (or an automatic message), queued and delivered as the worker would."""
    with transaction(sessions) as session:
        conversation = session.scalars(
            select(Conversation)
            .where(Conversation.channel == "webchat")
            .order_by(Conversation.id.desc())
        ).first()
        assert conversation is not None
        if kind == "feedback_question":
            conversation.status = "closed"
        message_id = queue_outbound(session, keyring, conversation, text, kind).id
    with transaction(sessions) as session:
        deliver_pending(session, keyring, {"webchat": StoredSender()})
    wait_until_sent(sessions, message_id)
    return message_id


def wait_until_sent(sessions: sessionmaker[Session], message_id: int) -> None:
    """The server's own worker may have claimed the message first: then it sends it."""
    deadline = time.monotonic() + 20
    while True:
        with sessions() as session:
            delivery = session.scalar(select(Message.delivery).where(Message.id == message_id))
        if delivery == "sent":
            return
        assert time.monotonic() < deadline, f"message {message_id} is still {delivery}"
        time.sleep(0.05)


def test_chat_end_to_end(
    http: httpx.Client,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    make_user: Any,
) -> None:
    page = http.get("/chat?district=Oslo")
    assert page.status_code == 200
    assert "Haster det?" in page.text
    assert "116 111" in page.text
    assert 'role="log"' in page.text
    assert 'aria-live="polite"' in page.text
    assert "set-cookie" not in page.headers

    token = start(http)
    client_id = webchat.new_client_id()
    first = send(http, token, PHONE_TEXT, client_id)
    assert first.status_code == 201, first.text
    message = first.json()["message"]
    assert message["text"] == PHONE_TEXT
    assert message["direction"] == "in"
    again = send(http, token, PHONE_TEXT, client_id)  # the browser retried
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["message"]["id"] == message["id"]
    assert "set-cookie" not in first.headers

    with sessions() as session:
        stored = session.scalars(
            select(Message).where(Message.channel == "webchat", Message.direction == "in")
        ).all()
        chat = session.scalars(select(WebchatSession)).one()
    assert len(stored) == 1
    assert PHONE_TEXT.encode() not in stored[0].raw_encrypted
    assert b"91234567" not in stored[0].raw_encrypted
    assert chat.token_hash == hashlib.sha256(token.encode()).hexdigest()

    # the worker analyses it: operators see it redacted, in Oslo
    api = api_headers(admin_token(make_user, sessions))
    deadline = time.monotonic() + 30
    while True:
        listing = http.get("/api/v1/conversations?channel=webchat", headers=api).json()
        texts = [
            m["text"] for c in listing["items"] for m in c["messages"] if m["direction"] == "in"
        ]
        if (texts and texts[0] is not None) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert listing["total"] == 1
    assert listing["items"][0]["district"] == "Oslo"
    assert "91234567" not in texts[0]
    assert "<PHONE" in texts[0]
    assert the_conversation(sessions).lang == "nb"

    # an operator answers; the citizen's browser gets it in the stream and in the history
    last = message["id"]
    with http.stream("GET", f"/chat/api/stream?after={last}", headers=bearer(token)) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        reply_id = reply(sessions, keyring, "Takk, vi ser på det. Ring 02800 om noe haster.")
        event = next_event(stream.iter_lines(), "message", lambda d: d["id"] == reply_id)
    assert event["direction"] == "out"
    assert event["kind"] == "reply"
    assert event["text"] == "Takk, vi ser på det. Ring 02800 om noe haster."

    # "reload": a new client with the same token sees the whole chat again
    with httpx.Client(base_url=http.base_url, timeout=20) as reloaded:
        history = reloaded.get("/chat/api/messages", headers=bearer(token))
    assert history.status_code == 200
    items = history.json()["messages"]
    assert [m["id"] for m in items] == sorted(m["id"] for m in items)
    assert items[0]["text"] == PHONE_TEXT  # the citizen's own words, not redacted
    assert reply_id in [m["id"] for m in items]
    after = http.get(f"/chat/api/messages?after={reply_id}", headers=bearer(token)).json()
    assert after == {"messages": [], "closed": False}


def next_event(lines: Iterator[str], kind: str, match: Any = None) -> dict[str, Any]:
    event = ""
    for line in lines:
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and event == kind:
            data: dict[str, Any] = json.loads(line.split(":", 1)[1])
            if match is None or match(data):
                return data
        elif not line:
            event = ""
    raise AssertionError(f"the stream ended without a {kind} event")


def test_stream_keeps_alive_and_ends(http: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webchat_routes, "STREAM_SECONDS", 1.0)
    monkeypatch.setattr(webchat_routes, "KEEPALIVE_SECONDS", 0.2)
    token = start(http)
    started = time.monotonic()
    with http.stream("GET", "/chat/api/stream", headers=bearer(token)) as stream:
        lines = list(stream.iter_lines())
    assert time.monotonic() - started < 10
    assert lines[0] == "retry: 2000"
    assert ": keep-alive" in lines
    assert_problem(http.get("/chat/api/stream", headers=bearer("wrong")), 401)
    assert_problem(http.get("/chat/api/stream?after=-1", headers=bearer(token)), 400, "after")


def test_stream_ends_when_the_chat_is_ended(http: httpx.Client) -> None:
    token = start(http)
    with http.stream("GET", "/chat/api/stream", headers=bearer(token)) as stream:
        lines = stream.iter_lines()
        assert next(lines) == "retry: 2000"
        assert http.delete("/chat/api/session", headers=bearer(token)).status_code == 204
        assert next_event(lines, "ended") == {}


def test_wrong_or_missing_token_is_401(http: httpx.Client) -> None:
    token = start(http)
    assert send(http, token, "Hei").status_code == 201
    for headers in ({}, bearer("not-a-token"), {"authorization": f"Basic {token}"}):
        for response in (
            http.get("/chat/api/messages", headers=headers),
            http.post(
                "/chat/api/messages",
                json={"client_id": webchat.new_client_id(), "text": "Hei"},
                headers=headers,
            ),
            http.post("/chat/api/feedback", json={"message_id": 1, "rating": 3}, headers=headers),
            http.delete("/chat/api/session", headers=headers),
        ):
            body = assert_problem(response, 401, "Fant ikke samtalen")
            assert response.headers["www-authenticate"] == "Bearer"
            assert body["title"] == "Ikke innlogget"


def test_bad_requests_are_problems_in_norwegian(http: httpx.Client) -> None:
    token = start(http)
    assert_problem(send(http, token, "   "), 422, "Meldingen er tom")
    assert_problem(send(http, token, "å" * 2001), 422, "høyst 2000 tegn")
    assert send(http, token, "å" * 2000).status_code == 201  # the limit itself is fine
    huge = json.dumps({"client_id": webchat.new_client_id(), "text": "x" * 20_000})
    headers = {**bearer(token), "content-type": "application/json"}
    assert_problem(http.post("/chat/api/messages", content=huge, headers=headers), 413, "16 KiB")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the size is counted while reading
        yield huge.encode()

    assert_problem(http.post("/chat/api/messages", content=chunks(), headers=headers), 413)
    assert_problem(
        http.post("/chat/api/messages", content=b"{not json", headers=headers), 400, "JSON"
    )
    assert_problem(
        http.post("/chat/api/messages", content=b"[]", headers=headers), 400, "JSON-objekt"
    )
    assert_problem(
        http.post("/chat/api/messages", data={"text": "Hei"}, headers=bearer(token)), 415
    )
    assert_problem(http.get("/chat/api/messages?after=abc", headers=bearer(token)), 400)
    assert_problem(
        http.post("/chat/api/sessions", json={"district": "Gotham"}), 422, "politidistrikt"
    )
    english = http.post(
        "/chat/api/sessions", json={"lang": "xx"}, headers={"accept-language": "en"}
    )
    assert_problem(english, 422)


def test_rate_limit_is_429_with_retry_after(settings: Settings, fast_streams: None) -> None:
    limited = settings.model_copy(update={"webchat_messages_per_minute": 3})
    with LiveServer(limited) as server, httpx.Client(base_url=server.url, timeout=20) as http:
        token = start(http)
        for _ in range(3):
            assert send(http, token, "Hei igjen").status_code == 201
        refused = send(http, token, "Hei igjen")
        assert_problem(refused, 429, "Vent litt")
        assert 1 <= int(refused.headers["retry-after"]) <= 20
        other = start(http)  # another chat from the same address still gets through
        assert send(http, other, "Hei").status_code == 201
        for _ in range(12):
            response = http.post("/chat/api/sessions", json={})
        assert_problem(response, 429)


def test_without_encryption_keys_the_chat_is_closed(settings: Settings) -> None:
    closed = settings.model_copy(update={"encryption_keys": ""})
    with LiveServer(closed) as server, httpx.Client(base_url=server.url, timeout=20) as http:
        page = http.get("/chat")
        assert page.status_code == 503
        assert "Haster det?" in page.text
        assert "02800" in page.text
        assert "chat.js" not in page.text
        for response in (
            http.post("/chat/api/sessions", json={}),
            http.get("/chat/api/messages", headers=bearer("x")),
            http.post("/chat/api/messages", json={}, headers=bearer("x")),
        ):
            assert_problem(response, 503, "112")
        assert http.get("/chat/widget.js").status_code == 200


def test_feedback_after_the_conversation_closes(
    http: httpx.Client, sessions: sessionmaker[Session], keyring: Keyring
) -> None:
    token = start(http)
    assert send(http, token, "Når åpner passkontoret?").status_code == 201
    question = reply(
        sessions, keyring, "Samtalen er avsluttet. Hvordan var hjelpen?", "feedback_question"
    )
    history = http.get("/chat/api/messages", headers=bearer(token)).json()
    assert history["closed"] is True
    asked = next(m for m in history["messages"] if m["id"] == question)
    assert asked["kind"] == "feedback_question"
    assert asked["feedback"] == "open"

    other = start(http)  # someone else cannot answer it
    foreign = {"message_id": question, "rating": 1}
    assert_problem(http.post("/chat/api/feedback", json=foreign, headers=bearer(other)), 404)

    body = {"message_id": question, "rating": 4, "comment": "Bra svar. Ring meg på 91234567"}
    answered = http.post("/chat/api/feedback", json=body, headers=bearer(token))
    assert answered.status_code == 201, answered.text
    with sessions() as session:
        feedback = session.scalars(select(Feedback)).one()
    assert feedback.rating == 4
    assert feedback.comment is not None
    assert "91234567" not in feedback.comment
    assert_problem(http.post("/chat/api/feedback", json=body, headers=bearer(token)), 409)
    assert_problem(
        http.post("/chat/api/feedback", json={"message_id": question}, headers=bearer(token)),
        422,
        "vurdering",
    )
    history = http.get("/chat/api/messages", headers=bearer(token)).json()
    assert [m["feedback"] for m in history["messages"] if m["id"] == question] == ["answered"]

    # writing again after the close reaches the police in the same thread
    assert send(http, token, "En ting til: hvor lenge er passet gyldig?").status_code == 201
    history = http.get("/chat/api/messages", headers=bearer(token)).json()
    assert history["messages"][-1]["text"] == "En ting til: hvor lenge er passet gyldig?"


def test_ending_the_chat_forgets_the_token(
    http: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    token = start(http)
    assert send(http, token, "Hei").status_code == 201
    assert http.delete("/chat/api/session", headers=bearer(token)).status_code == 204
    assert_problem(http.get("/chat/api/messages", headers=bearer(token)), 401)
    with sessions() as session:
        assert session.scalars(select(WebchatSession)).all() == []
        kept = session.scalars(select(Message).where(Message.direction == "in")).all()
        assert len(kept) == 1  # the police still have it


def test_page_headers_languages_and_framing(settings: Settings) -> None:
    host = "http://127.0.0.1:9"
    embeddable = settings.model_copy(
        update={"webchat_embed_origins": [host, "https://x.example; script-src *"]}
    )
    with LiveServer(embeddable) as server, httpx.Client(base_url=server.url, timeout=20) as http:
        plain = http.get("/chat")
        assert "frame-ancestors 'none'" in plain.headers["content-security-policy"]
        assert plain.headers["x-frame-options"] == "DENY"
        embed = http.get("/chat?embed=1&lang=en&district=Vest")
        policy = embed.headers["content-security-policy"]
        assert f"frame-ancestors 'self' {host};" in policy
        assert "script-src *" not in policy  # a malformed origin is ignored
        assert "x-frame-options" not in embed.headers
        assert "set-cookie" not in embed.headers
        assert '<html lang="en"' in embed.text
        assert 'data-district="Vest"' in embed.text
        assert 'data-embed="1"' in embed.text
        for lang in ("nb", "nn", "en"):
            page = http.get(f"/chat?lang={lang}")
            assert f'<html lang="{lang}"' in page.text
            assert page.headers["content-language"] == lang
        odd = http.get("/chat?lang=de&district=Gotham&embed=yes")
        assert odd.status_code == 200
        assert 'data-district=""' in odd.text
        assert "frame-ancestors 'none'" in odd.headers["content-security-policy"]
        assert http.get("/login").headers["x-frame-options"] == "DENY"
        assert "stemme_csrf" in http.get("/login").headers.get("set-cookie", "")

        script = http.get("/chat/widget.js")
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("text/javascript")
        assert "__STEMME_CHAT_TEXTS__" not in script.text
        assert '"nb": {"open": "Chat med politiet"' in script.text
        assert '"nn"' in script.text
        assert '"en"' in script.text
        assert "set-cookie" not in script.headers
