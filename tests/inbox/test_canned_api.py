"""The canned-reply admin API on a live server: POST, PUT and DELETE for national admins and
leaders, problem+json with every invalid field, and GET's contract unchanged."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from stemme.identity import service
from stemme.identity.models import AuditEvent, User
from tests.inbox.conftest import Call

TokenFor = Callable[..., str]


@dataclass
class Tokens:
    admin: str
    national_leader: str
    oslo_leader: str
    operator: str


@pytest.fixture
def tokens(make_user: Callable[..., User], token_for: TokenFor) -> Tokens:
    return Tokens(
        admin=token_for(make_user("admin")),
        national_leader=token_for(make_user("leader")),
        oslo_leader=token_for(make_user("leader", ["Oslo"])),
        operator=token_for(make_user("operator", ["Oslo"])),
    )


@pytest.fixture
def token_for(sessions: sessionmaker[Session]) -> TokenFor:
    def _make(user: User) -> str:
        with sessions() as session, session.begin():
            owner = session.get(User, user.id)
            assert owner is not None
            return service.create_token(session, service.principal_of(owner), owner, "api")[1]

    return _make


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


NEW = {"key": "pass", "lang": "nb", "title": "Pass", "body": "Pass i {district}, hilsen {operator}"}


def test_create_update_and_delete_a_language_version(
    call: Call, tokens: Tokens, sessions: sessionmaker[Session]
) -> None:
    created = call("POST", "/canned-replies", tokens.admin, json=NEW)
    assert created.status_code == 201, created.text
    assert created.json() == NEW

    english = {**NEW, "lang": "en", "title": "Passport", "body": "Passport in {district}"}
    assert call("POST", "/canned-replies", tokens.national_leader, json=english).status_code == 201
    listed = call("GET", "/canned-replies?lang=en", tokens.operator).json()
    assert {r["key"]: r["title"] for r in listed}["pass"] == "Passport"

    put = call(
        "PUT", "/canned-replies/pass/en", tokens.admin, json={"title": "Pass", "body": "New"}
    )
    assert put.status_code == 200, put.text
    assert put.json() == {"key": "pass", "lang": "en", "title": "Pass", "body": "New"}

    deleted = call("DELETE", "/canned-replies/pass/en", tokens.admin)
    assert deleted.status_code == 204
    assert deleted.content == b""
    listed = call("GET", "/canned-replies?lang=en", tokens.operator).json()
    assert {r["key"]: r["lang"] for r in listed}["pass"] == "nb"  # bokmål as the fallback

    with sessions() as session:
        actions = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "canned_reply")
            .order_by(AuditEvent.seq)
        ).all()
    assert actions == [
        "canned_reply.create",
        "canned_reply.create",
        "canned_reply.update",
        "canned_reply.delete",
    ]


def test_invalid_fields_are_problem_json_listing_each(call: Call, tokens: Tokens) -> None:
    bad = {"key": "Ny nøkkel", "lang": "de", "title": "", "body": "Hei {navn}"}
    body = _problem(call("POST", "/canned-replies", tokens.admin, json=bad), 422)
    assert body["title"] == "Ugyldige data"
    assert body["detail"].startswith("Nøkkelen kan bare ha små bokstaver")
    assert [e["loc"] for e in body["errors"]] == [
        ["body", "key"],
        ["body", "lang"],
        ["body", "title"],
        ["body", "body"],
    ]
    assert "{navn}" in body["errors"][3]["msg"]

    put = call("PUT", "/canned-replies/greeting/nb", tokens.admin, json={"title": "", "body": "x"})
    assert _problem(put, 422)["errors"] == [
        {"loc": ["body", "title"], "msg": "Skriv inn en tittel."}
    ]
    missing_field = call("POST", "/canned-replies", tokens.admin, json={"key": "x"})
    assert _problem(missing_field, 422)["detail"] == "Forespørselen har ugyldige felt."


def test_conflicts_and_missing_versions(call: Call, tokens: Tokens) -> None:
    duplicate = {**NEW, "key": "greeting"}
    body = _problem(call("POST", "/canned-replies", tokens.admin, json=duplicate), 409)
    assert body["detail"] == "Den ferdige teksten greeting finnes allerede på språket nb."
    assert "errors" not in body

    bokmal = _problem(call("DELETE", "/canned-replies/greeting/nb", tokens.admin), 409)
    assert bokmal["detail"].startswith("Bokmålsversjonen brukes når et språk mangler")

    text = {"title": "T", "body": "Tekst"}
    _problem(call("PUT", "/canned-replies/greeting/da", tokens.admin, json=text), 404)
    _problem(call("DELETE", "/canned-replies/nope/nb", tokens.admin), 404)


@pytest.mark.parametrize("who", ["oslo_leader", "operator"])
def test_district_leaders_and_operators_may_not_change_them(
    call: Call, tokens: Tokens, who: str
) -> None:
    token = getattr(tokens, who)
    text = {"title": "T", "body": "Tekst"}
    for response in (
        call("POST", "/canned-replies", token, json=NEW),
        call("PUT", "/canned-replies/greeting/nb", token, json=text),
        call("DELETE", "/canned-replies/greeting/en", token),
    ):
        _problem(response, 403)
    assert len(call("GET", "/canned-replies?lang=en", token).json()) == 5  # reading still works


def test_openapi_documents_the_limits(call: Call, tokens: Tokens) -> None:
    schema = call("GET", "/openapi.json", tokens.admin).json()
    canned = schema["components"]["schemas"]["CannedIn"]["properties"]
    assert "at most 40 characters" in canned["key"]["description"]
    assert "{district}, {operator}" in canned["body"]["description"]
    paths = schema["paths"]
    assert {"put", "delete"} <= set(paths["/canned-replies/{key}/{lang}"])
    assert {"get", "post"} <= set(paths["/canned-replies"])
