"""The inbox JSON API on a live server: the exact contract, scope, corrections, originals."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from stemme.db import transaction
from stemme.identity import service as identity
from stemme.identity.models import AuditEvent
from stemme.inbox import service
from stemme.inbox.models import Message, TriageLabel
from stemme.privacy.crypto import Keyring
from stemme.understanding.pipeline import analyze
from tests.conftest import LiveServer
from tests.helpers import api_headers
from tests.inbox.conftest import URGENT_TEXT, Inbound


def _token(sessions: sessionmaker[Session], user: Any) -> str:
    with transaction(sessions) as session:
        user = session.merge(user)
        return identity.create_token(session, identity.principal_of(user), user, "api")[1]


@pytest.fixture
def api(live_server: LiveServer) -> Any:
    def _call(method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
        with httpx.Client(base_url=live_server.url, timeout=30) as http:
            return http.request(method, "/api/v1" + path, headers=api_headers(token), **kwargs)

    return _call


def _receive(sessions: sessionmaker[Session], keyring: Keyring, msg: Any) -> int:
    with transaction(sessions) as session:
        return service.receive(session, keyring, msg).message_id


def _wait_analysed(sessions: sessionmaker[Session], message_id: int, seconds: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        with sessions() as session:
            message = session.get(Message, message_id)
            if message is not None and message.analyzed_at is not None:
                return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"message {message_id} not analysed within {seconds} s")


def test_the_conversation_list_contract(
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
    make_user: Any,
    api: Any,
) -> None:
    token = _token(sessions, make_user("operator", ["Oslo"]))
    message_id = _receive(sessions, keyring, inbound(URGENT_TEXT))
    _receive(sessions, keyring, inbound("Vest", thread="v", district="Vest"))
    _wait_analysed(sessions, message_id, 30)
    response = api("GET", "/conversations", token)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"total", "items"}
    assert body["total"] == 1
    [item] = body["items"]
    assert set(item) == {"id", "channel", "district", "category", "urgent", "status", "messages"}
    assert (item["channel"], item["district"], item["category"], item["urgent"]) == (
        "webchat",
        "Oslo",
        "emergency",
        True,
    )
    assert item["status"] == "new"
    message, emergency_answer = item["messages"]
    assert set(message) == {"id", "direction", "text", "created_at"}
    assert (message["id"], message["direction"]) == (message_id, "in")
    assert emergency_answer["direction"] == "out"
    assert "112" in emergency_answer["text"]
    assert "<PHONE>" in message["text"]
    assert "912 34 567" not in response.text
    assert "Kari Nordmann" not in response.text

    detail = api("GET", f"/conversations/{item['id']}", token)
    assert detail.status_code == 200
    assert {k: v for k, v in detail.json().items() if k in item and k != "messages"} == {
        k: v for k, v in item.items() if k != "messages"
    }
    assert [m["kind"] for m in detail.json()["messages"]] == ["citizen", "emergency"]

    filtered = api("GET", "/conversations?urgent=false&channel=webchat&page=1&per_page=5", token)
    assert filtered.json() == {"total": 0, "items": []}
    bad = api("GET", "/conversations?per_page=1000", token)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")


def test_hidden_conversations_are_404_problems(
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
    make_user: Any,
    api: Any,
) -> None:
    token = _token(sessions, make_user("operator", ["Oslo"]))
    vest = _receive(sessions, keyring, inbound("Vest", district="Vest"))
    with sessions() as session:
        message = session.get(Message, vest)
        assert message is not None
        conversation_id = message.conversation_id
    for path in (f"/conversations/{conversation_id}", f"/messages/{vest}/original"):
        response = api("GET", path, token)
        assert response.status_code == 404
        assert response.json()["status"] == 404


def test_correction_and_audited_original_over_the_api(
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
    make_user: Any,
    api: Any,
) -> None:
    operator = make_user("operator", ["Oslo"])
    token = _token(sessions, operator)
    analyst_token = _token(sessions, make_user("analyst", ["Oslo"]))
    message_id = _receive(sessions, keyring, inbound(URGENT_TEXT))

    corrected = api(
        "POST", f"/messages/{message_id}/triage", token, json={"category": "tip", "urgent": False}
    )
    assert corrected.status_code == 200, corrected.text
    assert (corrected.json()["category"], corrected.json()["urgent"]) == ("tip", False)
    invalid = api(
        "POST", f"/messages/{message_id}/triage", token, json={"category": "x", "urgent": False}
    )
    assert invalid.status_code == 422

    original = api("GET", f"/messages/{message_id}/original", token)
    assert original.status_code == 200
    assert original.json() == {"id": message_id, "text": URGENT_TEXT}
    assert original.headers["cache-control"] == "no-store"

    denied = api("GET", f"/messages/{message_id}/original", analyst_token)
    assert denied.status_code == 403
    assert denied.headers["content-type"].startswith("application/problem+json")
    assert api("GET", "/conversations", analyst_token).status_code == 200

    with sessions() as session:
        [label] = session.scalars(select(TriageLabel)).all()
        assert (label.message_id, label.category, label.user_id) == (message_id, "tip", operator.id)
        reads = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "personal_data.read")
        ).all()
        assert [(e.object_id, e.actor_user_id) for e in reads] == [(str(message_id), operator.id)]


def test_the_in_process_worker_analyses_a_received_message_within_2_s(
    sessions: sessionmaker[Session], keyring: Keyring, inbound: Inbound, live_server: LiveServer
) -> None:
    from stemme import jobs

    analyze("Varm opp modellene")  # first use loads models; the 2 s are for the queue
    message_id = _receive(sessions, keyring, inbound("Noen har stjålet sykkelen min"))
    jobs.notify()
    assert _wait_analysed(sessions, message_id, 2.0) < 2.0
