"""The JSON API of operator work on a live server: replies, notes, assignment, transfer,
status, retries, canned replies and the figures; problem+json errors in Norwegian."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from stemme.config import Settings
from stemme.db import transaction, utcnow
from stemme.identity import service as identity
from stemme.identity.access import command_line_principal
from stemme.identity.models import User
from stemme.inbox import auto, outbound, work
from stemme.inbox.models import Feedback
from stemme.privacy.crypto import Keyring
from tests.inbox import factory
from tests.inbox.conftest import Call, Inbound

CLI = command_line_principal("test")
QUESTION = "Hei, hvordan fornyer jeg passet mitt? Ring meg på 912 34 567"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Without the in-process worker: delivery states stay where the tests put them."""
    return settings.model_copy(update={"run_jobs_in_process": False})


@dataclass
class World:
    conversation: int  # Oslo web chat, one analysed question
    vest: int  # a Vest conversation
    operator: User  # Oslo operator
    token: str  # the Oslo operator's
    vest_operator: User
    analyst_token: str
    national: User


def _token(sessions: sessionmaker[Session], user: User) -> str:
    with transaction(sessions) as session:
        owner = session.merge(user)
        return identity.create_token(session, identity.principal_of(owner), owner, "api")[1]


@pytest.fixture
def world(
    sessions: sessionmaker[Session],
    keyring: Keyring,
    inbound: Inbound,
    make_user: Callable[..., User],
) -> World:
    operator = make_user("operator", ["Oslo"])
    vest_operator = make_user("operator", ["Vest"])
    analyst = make_user("analyst", ["Oslo"])
    national = make_user("operator")
    conversation = factory.receive(sessions, keyring, inbound(QUESTION)).conversation_id
    vest = factory.receive(sessions, keyring, inbound("Hei", thread="v", district="Vest"))
    return World(
        conversation,
        vest.conversation_id,
        operator,
        _token(sessions, operator),
        vest_operator,
        _token(sessions, analyst),
        national,
    )


def _problem(response: httpx.Response, status: int, detail: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    if detail is not None:
        assert body["detail"] == detail
    return body


# --- replies and notes -------------------------------------------------------------------------


def test_post_a_reply(call: Call, world: World, keyring: Keyring) -> None:
    response = call(
        "POST",
        f"/conversations/{world.conversation}/replies",
        world.token,
        json={"text": "Ring oss på 02800 eller 912 34 567"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {
        "id",
        "channel",
        "district",
        "category",
        "urgent",
        "status",
        "outcome",
        "lang",
        "assignee_id",
        "created_at",
        "first_response_at",
        "messages",
        "notes",
    }
    assert (body["id"], body["status"], body["assignee_id"]) == (
        world.conversation,
        "waiting",
        world.operator.id,
    )
    assert body["first_response_at"] is not None
    incoming, reply = body["messages"]
    assert (incoming["direction"], incoming["kind"], incoming["category"]) == (
        "in",
        "citizen",
        "question",
    )
    assert incoming["text"] == "Hei, hvordan fornyer jeg passet mitt? Ring meg på <PHONE>"
    assert incoming["reasons"]
    assert (reply["direction"], reply["kind"], reply["delivery"], reply["author_id"]) == (
        "out",
        "reply",
        "queued",
        world.operator.id,
    )
    assert reply["delivery_error"] is None
    assert "912 34 567" not in reply["text"]


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        ({"text": "   "}, "Teksten kan ikke være tom."),
        ({"text": "x" * 2001}, "Teksten er for lang (høyst 2000 tegn)."),
        ({"text": ""}, "Forespørselen har ugyldige felt."),  # the schema's own check
        ({}, "Forespørselen har ugyldige felt."),
    ],
)
def test_a_refused_reply_is_a_422_problem(
    call: Call, world: World, payload: dict[str, Any], detail: str
) -> None:
    response = call(
        "POST", f"/conversations/{world.conversation}/replies", world.token, json=payload
    )
    _problem(response, 422, detail)


def test_a_closed_conversation_refuses_replies(call: Call, world: World) -> None:
    closed = call(
        "PUT",
        f"/conversations/{world.conversation}/status",
        world.token,
        json={"status": "closed", "outcome": "answered"},
    )
    assert closed.status_code == 200
    response = call(
        "POST", f"/conversations/{world.conversation}/replies", world.token, json={"text": "Hei"}
    )
    _problem(response, 422, "Samtalen er avsluttet; den kan ikke besvares.")


def test_post_a_note(call: Call, world: World) -> None:
    response = call(
        "POST",
        f"/conversations/{world.conversation}/notes",
        world.token,
        json={"text": "Innbyggeren har nummer 912 34 567"},
    )
    assert response.status_code == 201, response.text
    [note] = response.json()["notes"]
    assert set(note) == {"id", "author", "text", "created_at"}
    assert note["text"] == "Innbyggeren har nummer <PHONE>"
    assert note["author"] == world.operator.display_name
    assert [m["direction"] for m in response.json()["messages"]] == ["in"]  # never sent
    detail = call("GET", f"/conversations/{world.conversation}", world.token).json()
    assert detail["notes"] == [note]


# --- assignment, transfer, status --------------------------------------------------------------


def test_put_assignment(call: Call, world: World) -> None:
    path = f"/conversations/{world.conversation}/assignment"
    response = call("PUT", path, world.token, json={"user_id": world.national.id})
    assert response.status_code == 200, response.text
    assert (response.json()["assignee_id"], response.json()["status"]) == (
        world.national.id,
        "open",
    )
    response = call("PUT", path, world.token, json={"user_id": None})
    assert response.json()["assignee_id"] is None
    refused = call("PUT", path, world.token, json={"user_id": world.vest_operator.id})
    _problem(refused, 422, "Brukeren kan ikke få tildelt denne samtalen.")
    _problem(call("PUT", path, world.token, json={}), 422, "Forespørselen har ugyldige felt.")


def test_post_transfer(call: Call, world: World) -> None:
    path = f"/conversations/{world.conversation}/transfer"
    _problem(
        call("POST", path, world.token, json={"district": "Atlantis"}),
        422,
        "Ukjent politidistrikt: Atlantis",
    )
    same = call("POST", path, world.token, json={"district": "Oslo"})
    assert same.status_code == 204
    moved = call("POST", path, world.token, json={"district": "Vest"})
    assert moved.status_code == 204
    assert moved.content == b""
    # now outside the caller's scope: not found
    body = _problem(call("GET", f"/conversations/{world.conversation}", world.token), 404)
    assert body["detail"] == f"Fant ingen samtale med id {world.conversation}."
    _problem(call("POST", path, world.token, json={"district": "Oslo"}), 404)


def test_put_status(call: Call, world: World, keyring: Keyring) -> None:
    path = f"/conversations/{world.conversation}/status"
    _problem(
        call("PUT", path, world.token, json={"status": "closed"}),
        422,
        "Velg et utfall før samtalen avsluttes.",
    )
    _problem(call("PUT", path, world.token, json={"status": "done"}), 422, "Ukjent status: done")
    response = call("PUT", path, world.token, json={"status": "closed", "outcome": "answered"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["outcome"], body["lang"]) == ("closed", "answered", "nb")
    [question] = [m for m in body["messages"] if m["direction"] == "out"]
    assert (question["kind"], question["delivery"]) == ("feedback_question", "queued")
    assert question["text"] == auto.FEEDBACK["nb"]
    reopened = call("PUT", path, world.token, json={"status": "open"})
    assert (reopened.json()["status"], reopened.json()["outcome"]) == ("open", None)


# --- retries -----------------------------------------------------------------------------------


def test_post_retry(
    call: Call, world: World, sessions: sessionmaker[Session], keyring: Keyring
) -> None:
    with transaction(sessions) as session:
        failed = work.reply(session, CLI, keyring, world.conversation, "Svar")
        outbound.record_result(failed, outbound.DeliveryResult(False, "rejected"))
        failed_id = failed.id
        incoming_id = failed.conversation.messages[0].id
    before = call("GET", f"/conversations/{world.conversation}", world.token).json()
    [shown] = [m for m in before["messages"] if m["id"] == failed_id]
    assert (shown["delivery"], shown["delivery_error"]) == ("failed", "rejected")
    response = call("POST", f"/messages/{failed_id}/retry", world.token)
    assert response.status_code == 200, response.text
    [again] = [m for m in response.json()["messages"] if m["id"] == failed_id]
    assert (again["delivery"], again["delivery_error"]) == ("queued", None)
    _problem(
        call("POST", f"/messages/{incoming_id}/retry", world.token),
        422,
        "Bare svar som ikke ble levert kan sendes på nytt.",
    )
    _problem(call("POST", "/messages/999999/retry", world.token), 404)


# --- canned replies and figures ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "lang", "greeting"),
    [
        ("", "nb", "Hilsen"),
        ("?lang=en", "en", "Greeting"),
        ("?lang=nn", "nn", "Helsing"),
        ("?lang=sv", "sv", "Hälsning"),
        ("?lang=da", "nb", "Hilsen"),
    ],
)
def test_get_canned_replies(call: Call, world: World, query: str, lang: str, greeting: str) -> None:
    response = call("GET", f"/canned-replies{query}", world.analyst_token)
    assert response.status_code == 200, response.text
    replies = response.json()
    assert len(replies) == 5
    assert {r["lang"] for r in replies} == {lang}
    assert {r["key"]: r["title"] for r in replies}["greeting"] == greeting
    assert set(replies[0]) == {"key", "lang", "title", "body"}
    assert "{district}" in {r["key"]: r["body"] for r in replies}["greeting"]  # not filled here


def test_get_sla(call: Call, world: World, sessions: sessionmaker[Session]) -> None:
    start = utcnow() - timedelta(days=3)
    with transaction(sessions) as session:
        for minutes in (5, 10, 60):
            factory.conversation(
                session, created_at=start, first_response_at=start + timedelta(minutes=minutes)
            )
        factory.conversation(session, district="Vest", created_at=start)
        factory.conversation(session, created_at=utcnow() - timedelta(days=100))
    response = call("GET", "/inbox/sla?days=30", world.token)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"since", "until", "total", "groups"}
    # Oslo only: the world's question (unanswered) and the three answered ones
    assert body["total"] == {
        "conversations": 4,
        "answered": 3,
        "median_minutes": 10.0,
        "p90_minutes": 60.0,
        "within_target": 0.667,
        "urgent": 0,
    }
    [group] = body["groups"]
    assert (group["district"], group["channel"], group["conversations"]) == ("Oslo", "webchat", 4)
    everything = call("GET", "/inbox/sla?days=365", world.token).json()
    assert everything["total"]["conversations"] == 5
    _problem(call("GET", "/inbox/sla?days=0", world.token), 422)
    _problem(call("GET", "/inbox/sla?days=731", world.token), 422)


def test_get_feedback(call: Call, world: World, sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        for district, ratings in (("Oslo", [5, 4, 3, 4, 4]), ("Vest", [1])):
            for rating in ratings:
                conversation = factory.conversation(session, district=district, status="closed")
                session.add(
                    Feedback(
                        conversation_id=conversation.id,
                        channel="webchat",
                        district=district,
                        rating=rating,
                        created_at=utcnow(),
                    )
                )
    token = _token(sessions, world.national)
    response = call("GET", "/inbox/feedback", token)
    assert response.status_code == 200, response.text
    assert response.json() == [
        {
            "district": "Oslo",
            "answers": 5,
            "average": 4.0,
            "distribution": {"1": 0, "2": 0, "3": 1, "4": 3, "5": 1},
        },
        {"district": "Vest", "answers": 1, "average": None, "distribution": None},
    ]
    oslo_only = call("GET", "/inbox/feedback?days=7", world.token).json()
    assert [r["district"] for r in oslo_only] == ["Oslo"]


# --- who may ---------------------------------------------------------------------------------


def test_an_analyst_gets_403_for_every_change(call: Call, world: World) -> None:
    base = f"/conversations/{world.conversation}"
    changes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", f"{base}/replies", {"text": "Hei"}),
        ("POST", f"{base}/notes", {"text": "Notat"}),
        ("PUT", f"{base}/assignment", {"user_id": None}),
        ("POST", f"{base}/transfer", {"district": "Vest"}),
        ("PUT", f"{base}/status", {"status": "open"}),
    ]
    for method, path, payload in changes:
        _problem(call(method, path, world.analyst_token, json=payload), 403)
    detail = call("GET", base, world.analyst_token)
    assert detail.status_code == 200
    assert (detail.json()["status"], detail.json()["notes"]) == ("new", [])
    assert call("GET", "/inbox/sla", world.analyst_token).status_code == 200


def test_a_conversation_outside_the_scope_is_a_404_problem(call: Call, world: World) -> None:
    base = f"/conversations/{world.vest}"
    changes: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", f"{base}/replies", {"text": "Hei"}),
        ("POST", f"{base}/notes", {"text": "Notat"}),
        ("PUT", f"{base}/assignment", {"user_id": None}),
        ("POST", f"{base}/transfer", {"district": "Oslo"}),
        ("PUT", f"{base}/status", {"status": "open"}),
    ]
    for method, path, payload in changes:
        body = _problem(call(method, path, world.token, json=payload), 404)
        assert body["detail"] == f"Fant ingen samtale med id {world.vest}."
