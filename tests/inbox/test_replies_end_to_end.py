"""Replies over real HTTP: the automatic 112 answer and an operator's reply reach the fake
Graph API as Send API documents; a failing Graph API leaves the reply stored and retrying."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from stemme.channels.meta import sign
from stemme.config import Settings
from stemme.identity import service
from stemme.identity.access import command_line_principal
from tests.channels.conftest import Served
from tests.channels.fake_graph import FakeGraph, error
from tests.conftest import LiveServer
from tests.helpers import api_headers
from tests.inbox.test_meta_end_to_end import PAGE, SECRET, delivery

PSID = "7000000000001"


@pytest.fixture
def graph() -> Iterator[tuple[FakeGraph, str]]:
    fake = FakeGraph()
    with Served(fake.app) as served:
        yield fake, f"{served.url}/v21.0"


@pytest.fixture
def token(make_user: Callable[..., Any], sessions: Any) -> str:
    admin = make_user("admin")
    with sessions() as session, session.begin():
        user = session.merge(admin)
        return service.create_token(session, command_line_principal(), user, "e2e")[1]


def _wait(check: Callable[[], Any], seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out")


def _post(http: httpx.Client, mid: str, text: str) -> None:
    body = delivery(mid, text)
    headers = {"x-hub-signature-256": sign(SECRET, body), "content-type": "application/json"}
    assert http.post("/channels/meta/webhook", content=body, headers=headers).status_code == 200


def test_emergency_answer_and_operator_reply_are_sent_as_meta_documents(
    settings: Settings, graph: tuple[FakeGraph, str], token: str
) -> None:
    fake, base = graph
    configured = settings.model_copy(
        update={
            "meta_app_secret": SECRET,
            "meta_page_tokens": {PAGE: "page-token"},
            "meta_graph_url": base,
        }
    )
    with LiveServer(configured) as server, httpx.Client(base_url=server.url) as http:
        _post(http, "m_reply_1", "Hjelp! Han står utenfor døra mi med kniv nå!")
        emergency = _wait(lambda: [r for r in fake.requests if r.method == "POST"])
        [sent] = emergency
        assert sent.path == f"/v21.0/{PAGE}/messages"
        assert sent.query["access_token"] == "page-token"
        assert sent.body["recipient"] == {"id": PSID}
        assert sent.body["messaging_type"] == "RESPONSE"
        assert "112" in sent.body["message"]["text"]

        listing = http.get("/api/v1/conversations", headers=api_headers(token)).json()
        conversation_id = listing["items"][0]["id"]
        reply = http.post(
            f"/api/v1/conversations/{conversation_id}/replies",
            json={"text": "Vi har varslet patrulje. Ring 112 nå hvis du kan."},
            headers=api_headers(token),
        )
        assert reply.status_code == 201, reply.text
        _wait(lambda: len([r for r in fake.requests if r.method == "POST"]) == 2)
        assert fake.requests[-1].body["message"]["text"].startswith("Vi har varslet patrulje")

        def delivered() -> Any:
            detail = http.get(
                f"/api/v1/conversations/{conversation_id}", headers=api_headers(token)
            ).json()
            states = [m["delivery"] for m in detail["messages"] if m["direction"] == "out"]
            return detail if states == ["sent", "sent"] else None

        detail = _wait(delivered)
        assert detail["status"] == "waiting"
        assert detail["first_response_at"] is not None


def test_a_failing_graph_api_keeps_the_reply_and_shows_it_retrying(
    settings: Settings, graph: tuple[FakeGraph, str], token: str
) -> None:
    fake, base = graph
    fake.answer(*[error(500, code=2)] * 3)
    configured = settings.model_copy(
        update={
            "meta_app_secret": SECRET,
            "meta_page_tokens": {PAGE: "page-token"},
            "meta_graph_url": base,
        }
    )
    with LiveServer(configured) as server, httpx.Client(base_url=server.url) as http:
        _post(http, "m_reply_2", "Hei, hvordan fornyer jeg passet?")

        def listed() -> Any:
            items = http.get("/api/v1/conversations", headers=api_headers(token)).json()["items"]
            return items if items and items[0]["messages"][0]["text"] else None

        conversation_id = _wait(listed)[0]["id"]
        answer = http.post(
            f"/api/v1/conversations/{conversation_id}/replies",
            json={"text": "Du fornyer passet på politiet.no."},
            headers=api_headers(token),
        )
        assert answer.status_code == 201

        def retrying() -> Any:
            detail = http.get(
                f"/api/v1/conversations/{conversation_id}", headers=api_headers(token)
            ).json()
            [out] = [m for m in detail["messages"] if m["direction"] == "out"]
            return out if out["delivery"] == "retrying" else None

        out = _wait(retrying)
        assert out["delivery_error"] == "server_error"
        assert out["text"] == "Du fornyer passet på politiet.no."
