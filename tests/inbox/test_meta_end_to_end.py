"""A signed Messenger delivery over real HTTP ends up redacted, triaged and in the queue."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from stemme.channels.meta import sign
from stemme.config import Settings
from stemme.identity import service
from stemme.identity.access import command_line_principal
from tests.conftest import LiveServer
from tests.helpers import api_headers

SECRET = "e2e-app-secret"
PAGE = "100200300400500"


def delivery(mid: str, text: str) -> bytes:
    event = {
        "sender": {"id": "7000000000001"},
        "recipient": {"id": PAGE},
        "timestamp": int(time.time() * 1000),
        "message": {"mid": mid, "text": text},
    }
    payload = {"object": "page", "entry": [{"id": PAGE, "time": 1, "messaging": [event]}]}
    return json.dumps(payload).encode()


@pytest.fixture
def meta_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"meta_app_secret": SECRET, "meta_page_tokens": {PAGE: "page-token"}}
    )


def test_signed_delivery_is_stored_once_and_triaged(
    meta_settings: Settings, make_user, sessions
) -> None:  # type: ignore[no-untyped-def]
    admin = make_user("admin")
    with sessions() as session, session.begin():
        user = session.merge(admin)
        _, token = service.create_token(session, command_line_principal(), user, "e2e")
    body = delivery("m_e2e_1", "Hjelp! Det er en mann med kniv utenfor døra mi nå. Ring 91745302")
    headers = {"x-hub-signature-256": sign(SECRET, body), "content-type": "application/json"}
    with LiveServer(meta_settings) as server, httpx.Client(base_url=server.url) as http:
        for _ in range(2):  # Meta retries: the same delivery twice stores one message
            answer = http.post("/channels/meta/webhook", content=body, headers=headers)
            assert answer.status_code == 200, answer.text
        unsigned = http.post("/channels/meta/webhook", content=body)
        assert unsigned.status_code == 401
        deadline = time.monotonic() + 20
        while True:
            listing = http.get("/api/v1/conversations", headers=api_headers(token)).json()
            messages = listing["items"][0]["messages"] if listing["items"] else []
            if (messages and messages[0]["text"] is not None) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    assert listing["total"] == 1
    item = listing["items"][0]
    assert item["channel"] == "messenger"
    assert item["urgent"] is True
    assert item["category"] == "emergency"
    assert [m["direction"] for m in item["messages"]] == ["in", "out"]  # the 112 answer
    assert "91745302" not in item["messages"][0]["text"]
    assert "<PHONE>" in item["messages"][0]["text"]
