"""Every route of the app × every role → the expected outcome.

The route list comes from the app itself (``app.routes`` and the routes of the mounted
/api/v1 app), so a new route without a line in EXPECTATIONS fails
test_every_route_has_an_expectation. One database and one server serve the whole matrix.

Outcomes:
* allowed:   HTML 2xx, or 3xx to a page that is not the login redirect; API 2xx.
* denied:    HTML 403 page; API 403 problem+json.
* anonymous: HTML 303 to /login?next=…; API 401 problem+json with WWW-Authenticate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import fastapi.routing
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import URL
from starlette.routing import BaseRoute, Mount, Route

from stemme.config import Settings, load_settings
from stemme.db import make_engine, make_session_factory, utcnow
from stemme.identity import service
from stemme.identity.access import command_line_principal
from stemme.identity.models import User
from stemme.inbox import outbound
from stemme.inbox import service as inbox
from stemme.inbox.models import CannedReply, Conversation
from stemme.inbox.types import InboundMessage
from stemme.privacy.crypto import Keyring
from tests.conftest import TEST_ENCRYPTION_KEY, LiveServer, copied_database
from tests.helpers import PASSWORD, WebClient, api_headers

ROLES = ("admin", "leader", "analyst", "operator", "initiative_owner")
ANONYMOUS = "anonymous"
EVERYONE = frozenset(ROLES)
USER_ADMINS = frozenset({"admin", "leader"})
INBOX_READERS = frozenset({"admin", "leader", "operator", "analyst"})  # redacted text
INBOX_WORKERS = frozenset({"admin", "leader", "operator"})  # corrections, originals
# Canned replies are national: only admins and leaders with the whole country in scope change
# them (inbox.work.can_edit_canned), and the matrix's leader is scoped to Oslo.
NATIONAL_ADMINS = frozenset({"admin"})
CANNED = "/admin/inbox/canned"
PUBLIC = None  # allowed for anonymous callers too

# --- the expectation table -----------------------------------------------------------------

Body = Callable[["World", str], Any]


@dataclass(frozen=True)
class Expect:
    """Who may call a route, and how to call it harmlessly."""

    allowed: frozenset[str] | None  # None: public
    url: str | None = None  # the concrete URL; {user_id} and {token_id} are filled in
    form: Body | None = None  # HTML: form fields (the CSRF token is added)
    json: Body | None = None  # API: JSON body
    own_client: bool = False  # HTML: use a new client (login, logout change the session)


def _new_user_form(world: World, role: str) -> dict[str, Any]:
    return {
        "email": f"matrix-html-{role}@test.stemme.no",
        "display_name": "Matrise",
        "role": "operator",
        "districts": ["Oslo"],
        "password": PASSWORD,
        "password_repeat": PASSWORD,
    }


def _new_user_json(world: World, role: str) -> dict[str, Any]:
    return {
        "email": f"matrix-api-{role}@test.stemme.no",
        "role": "operator",
        "districts": ["Oslo"],
        "password": PASSWORD,
    }


def _edit_user(world: World, role: str) -> dict[str, Any]:
    return {"display_name": "Mål", "role": "operator", "districts": ["Oslo"]}


def _credentials(world: World, role: str) -> dict[str, Any]:
    # an anonymous visitor logs in with someone's valid credentials
    who = role if role != ANONYMOUS else "analyst"
    return {"email": world.users[who].email, "password": PASSWORD, "next": "/"}


HTML: dict[tuple[str, str], Expect] = {
    ("GET", "/login"): Expect(PUBLIC),
    ("POST", "/login"): Expect(PUBLIC, form=_credentials, own_client=True),
    ("POST", "/logout"): Expect(EVERYONE, own_client=True),
    ("GET", "/"): Expect(EVERYONE),
    ("POST", "/language"): Expect(PUBLIC, form=lambda w, r: {"language": "nb", "next": "/"}),
    ("POST", "/district"): Expect(EVERYONE, form=lambda w, r: {"district": "", "next": "/"}),
    ("GET", "/admin/users"): Expect(USER_ADMINS),
    ("GET", "/admin/users/new"): Expect(USER_ADMINS),
    ("POST", "/admin/users"): Expect(USER_ADMINS, form=_new_user_form),
    ("GET", "/admin/users/{user_id}"): Expect(USER_ADMINS),
    ("POST", "/admin/users/{user_id}"): Expect(USER_ADMINS, form=_edit_user),
    ("POST", "/admin/users/{user_id}/active"): Expect(
        USER_ADMINS, form=lambda w, r: {"active": "1"}
    ),
    ("POST", "/admin/users/{user_id}/password"): Expect(
        USER_ADMINS, form=lambda w, r: {"password": PASSWORD, "password_repeat": PASSWORD}
    ),
    ("GET", "/admin/audit"): Expect(USER_ADMINS),
    ("GET", "/account"): Expect(EVERYONE),
    ("POST", "/account/password"): Expect(
        EVERYONE, form=lambda w, r: {"current": PASSWORD, "new": PASSWORD, "repeat": PASSWORD}
    ),
    ("POST", "/account/tokens"): Expect(EVERYONE, form=lambda w, r: {"name": "matrise"}),
    ("POST", "/account/tokens/{token_id}/revoke"): Expect(EVERYONE),
    ("GET", "/admin/inbox"): Expect(USER_ADMINS),
    ("POST", "/admin/inbox/hours"): Expect(
        USER_ADMINS, form=lambda w, r: {"district": "Oslo", "always": "1"}
    ),
    ("POST", "/admin/inbox/journal/retry"): Expect(USER_ADMINS),
    ("POST", "/admin/inbox/pages"): Expect(
        USER_ADMINS,
        form=lambda w, r: {
            "page_id": "4242",
            "platform": "messenger",
            "name": "Oslo politidistrikt",
            "district": "Oslo",
            "token": "page-token",
            "active": "1",
        },
    ),
    ("GET", CANNED): Expect(USER_ADMINS),  # district leaders see the list, read-only
    ("GET", f"{CANNED}/new"): Expect(NATIONAL_ADMINS),
    ("POST", CANNED): Expect(
        NATIONAL_ADMINS,
        form=lambda w, r: {"key": f"matrise-{r}", "lang": "nb", "title": "M", "body": "Tekst"},
    ),
    ("GET", f"{CANNED}/{{key}}/{{lang}}"): Expect(NATIONAL_ADMINS, url=f"{CANNED}/matrise/nb"),
    ("POST", f"{CANNED}/{{key}}/{{lang}}"): Expect(
        NATIONAL_ADMINS,
        url=f"{CANNED}/matrise/nb",
        form=lambda w, r: {"title": "Matrise", "body": f"Tekst fra {r}"},
    ),
    # the confirmation before the deletion (the admin's deletion happens once, last)
    ("GET", f"{CANNED}/{{key}}/{{lang}}/delete"): Expect(
        NATIONAL_ADMINS, url=f"{CANNED}/matrise/en/delete"
    ),
    ("POST", f"{CANNED}/{{key}}/{{lang}}/delete"): Expect(
        NATIONAL_ADMINS, url=f"{CANNED}/matrise/en/delete"
    ),
    ("GET", f"{CANNED}/{{key}}/delete"): Expect(
        NATIONAL_ADMINS, url=f"{CANNED}/matrise-helt/delete"
    ),
    ("POST", f"{CANNED}/{{key}}/delete"): Expect(
        NATIONAL_ADMINS, url=f"{CANNED}/matrise-helt/delete"
    ),
    ("GET", "/inbox"): Expect(INBOX_READERS),
    ("GET", "/inbox/queue"): Expect(INBOX_READERS),
    ("GET", "/inbox/alerts"): Expect(INBOX_READERS),
    ("GET", "/reports/inbox"): Expect(INBOX_READERS),
    ("GET", "/inbox/{conversation_id}"): Expect(INBOX_READERS),
    ("GET", "/inbox/{conversation_id}/thread"): Expect(INBOX_READERS),
    ("GET", "/inbox/{conversation_id}/canned"): Expect(
        INBOX_WORKERS, url="/inbox/{conversation_id}/canned?key=greeting"
    ),
    ("POST", "/inbox/{conversation_id}/reply"): Expect(
        INBOX_WORKERS, form=lambda w, r: {"text": f"Svar fra {r}"}
    ),
    ("POST", "/inbox/{conversation_id}/notes"): Expect(
        INBOX_WORKERS, form=lambda w, r: {"text": f"Notat fra {r}"}
    ),
    ("POST", "/inbox/{conversation_id}/assign"): Expect(
        INBOX_WORKERS, form=lambda w, r: {"user_id": ""}
    ),
    ("POST", "/inbox/{conversation_id}/transfer"): Expect(
        INBOX_WORKERS, form=lambda w, r: {"district": "Oslo"}
    ),
    ("POST", "/inbox/{conversation_id}/status"): Expect(
        INBOX_WORKERS, form=lambda w, r: {"status": "open"}
    ),
    ("POST", "/inbox/messages/{message_id}/triage"): Expect(
        INBOX_WORKERS, form=lambda w, r: {"category": "tip"}
    ),
    ("POST", "/inbox/messages/{message_id}/retry"): Expect(
        INBOX_WORKERS, url="/inbox/messages/{out_message_id}/retry"
    ),
    ("POST", "/inbox/messages/{message_id}/original"): Expect(INBOX_WORKERS),
    ("GET", "/healthz"): Expect(PUBLIC),
    ("GET", "/readyz"): Expect(PUBLIC),
    ("GET", "/static"): Expect(PUBLIC, url="/static/vendor/htmx.min.js"),
    ("GET", "/chat"): Expect(PUBLIC),  # the citizens' web chat
    ("GET", "/chat/widget.js"): Expect(PUBLIC),
}

API: dict[tuple[str, str], Expect] = {
    ("GET", "/api/v1/openapi.json"): Expect(PUBLIC),
    ("GET", "/api/v1/me"): Expect(EVERYONE),
    ("POST", "/api/v1/me/tokens"): Expect(EVERYONE, json=lambda w, r: {"name": "matrise"}),
    ("GET", "/api/v1/users"): Expect(USER_ADMINS),
    ("POST", "/api/v1/users"): Expect(USER_ADMINS, json=_new_user_json),
    ("GET", "/api/v1/users/{user_id}"): Expect(USER_ADMINS),
    ("PUT", "/api/v1/users/{user_id}"): Expect(
        USER_ADMINS, json=lambda w, r: {"role": "operator", "districts": ["Oslo"]}
    ),
    ("POST", "/api/v1/users/{user_id}/disable"): Expect(USER_ADMINS),
    ("POST", "/api/v1/users/{user_id}/enable"): Expect(USER_ADMINS),
    ("GET", "/api/v1/audit"): Expect(USER_ADMINS),
    ("GET", "/api/v1/audit/verify"): Expect(frozenset({"admin"})),
    ("GET", "/api/v1/geo/districts"): Expect(EVERYONE),
    ("GET", "/api/v1/geo/kommuner"): Expect(EVERYONE, url="/api/v1/geo/kommuner?name=oslo"),
    ("GET", "/api/v1/geo/kommuner/{number}"): Expect(EVERYONE, url="/api/v1/geo/kommuner/0301"),
    ("GET", "/api/v1/geo/postcodes/{postcode}"): Expect(EVERYONE, url="/api/v1/geo/postcodes/0150"),
    ("GET", "/api/v1/conversations"): Expect(INBOX_READERS),
    ("GET", "/api/v1/conversations/{conversation_id}"): Expect(
        INBOX_READERS, url="/api/v1/conversations/{conversation_id}"
    ),
    ("POST", "/api/v1/messages/{message_id}/triage"): Expect(
        INBOX_WORKERS,
        url="/api/v1/messages/{message_id}/triage",
        json=lambda w, r: {"category": "tip", "urgent": False},
    ),
    ("GET", "/api/v1/messages/{message_id}/original"): Expect(
        INBOX_WORKERS, url="/api/v1/messages/{message_id}/original"
    ),
    ("POST", "/api/v1/conversations/{conversation_id}/replies"): Expect(
        INBOX_WORKERS, json=lambda w, r: {"text": f"Svar fra {r}"}
    ),
    ("POST", "/api/v1/conversations/{conversation_id}/notes"): Expect(
        INBOX_WORKERS, json=lambda w, r: {"text": f"Notat fra {r}"}
    ),
    ("PUT", "/api/v1/conversations/{conversation_id}/assignment"): Expect(
        INBOX_WORKERS, json=lambda w, r: {"user_id": None}
    ),
    ("POST", "/api/v1/conversations/{conversation_id}/transfer"): Expect(
        INBOX_WORKERS, json=lambda w, r: {"district": "Oslo"}
    ),
    ("PUT", "/api/v1/conversations/{conversation_id}/status"): Expect(
        INBOX_WORKERS, json=lambda w, r: {"status": "open"}
    ),
    ("POST", "/api/v1/messages/{message_id}/retry"): Expect(
        INBOX_WORKERS, url="/api/v1/messages/{out_message_id}/retry"
    ),
    ("GET", "/api/v1/canned-replies"): Expect(INBOX_READERS),
    ("POST", "/api/v1/canned-replies"): Expect(
        NATIONAL_ADMINS,
        json=lambda w, r: {"key": f"matrise-api-{r}", "lang": "nb", "title": "M", "body": "T"},
    ),
    ("PUT", "/api/v1/canned-replies/{key}/{lang}"): Expect(
        NATIONAL_ADMINS,
        url="/api/v1/canned-replies/matrise/nb",
        json=lambda w, r: {"title": "Matrise", "body": f"Tekst fra {r}"},
    ),
    ("DELETE", "/api/v1/canned-replies/{key}/{lang}"): Expect(
        NATIONAL_ADMINS, url="/api/v1/canned-replies/matrise/sv"
    ),
    ("GET", "/api/v1/inbox/sla"): Expect(INBOX_READERS),
    ("GET", "/api/v1/inbox/feedback"): Expect(INBOX_READERS),
}

EXPECTATIONS: dict[tuple[str, str], Expect] = {**HTML, **API}

# Machine endpoints authenticated by a channel's signature, not by a role: a browser session
# or an API token opens nothing (their own tests are in tests/channels and tests/inbox).
SIGNED: dict[tuple[str, str], int] = {
    ("GET", "/channels/meta/webhook"): 403,
    ("POST", "/channels/meta/webhook"): 401,
    # E-mail relay and platform bridge: HMAC-signed (tests/channels/test_email.py and
    # test_bridge.py). The bridge path is called with "{source}" literally: no such source.
    ("POST", "/channels/email/inbound"): 401,
    ("POST", "/channels/bridge/{source}"): 404,
    # The web chat's API answers the browser token of an anonymous chat, never a role: an
    # operator's session or API token is just an unknown chat (401). Anyone may start a chat;
    # the matrix's body is not a valid start (422). Tests: tests/channels/test_webchat.py.
    ("POST", "/chat/api/sessions"): 422,
    ("GET", "/chat/api/messages"): 401,
    ("POST", "/chat/api/messages"): 401,
    ("GET", "/chat/api/stream"): 401,
    ("POST", "/chat/api/feedback"): 401,
    ("DELETE", "/chat/api/session"): 401,
}


# --- the routes of the app -------------------------------------------------------------------


def _flattened(routes: list[BaseRoute]) -> Iterator[tuple[BaseRoute, str, set[str] | None]]:
    """(route, effective path, methods); newer FastAPI keeps included routers unflattened."""
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    if iterate is None:
        for route in routes:
            yield route, getattr(route, "path", repr(route)), getattr(route, "methods", None)
        return
    for context in iterate(routes):
        yield context.original_route, context.path or repr(context.route), context.methods


def app_routes(routes: list[BaseRoute], prefix: str = "") -> dict[tuple[str, str], str]:
    """(method, path) -> "html" or "api" for every route, descending into mounted apps."""
    found: dict[tuple[str, str], str] = {}
    for route, path, methods in _flattened(routes):
        if isinstance(route, Mount):
            if isinstance(route.app, FastAPI):
                for key in app_routes(route.app.routes, prefix + path):
                    found[key] = "api"
            elif route.routes:
                found.update(app_routes(route.routes, prefix + path))
            else:  # static files and other plain ASGI apps: GET only
                found[("GET", prefix + path)] = "html"
        elif isinstance(route, Route):
            for method in sorted(methods or {"GET"}):
                if method != "HEAD":
                    found[(method, prefix + path)] = "html"
        else:
            found[("?", prefix + path)] = "html"
    return found


# --- one database, one server, one user and client per role -----------------------------------


@dataclass
class World:
    server: LiveServer
    users: dict[str, User]
    target: User  # an Oslo operator whose id goes into {user_id}
    api_tokens: dict[str, str]
    web_token_ids: dict[str, int]  # a token per role, for the revoke route
    clients: dict[str, WebClient] = field(default_factory=dict)
    extra: list[WebClient] = field(default_factory=list)
    conversation_id: int = 0  # an Oslo conversation with one message (the inbox routes)
    message_id: int = 0
    out_message_id: int = 0  # a reply in it that could not be delivered

    def web_client(self, role: str, *, fresh: bool) -> WebClient:
        if not fresh:
            return self.clients[role]
        web = WebClient(self.server.url)
        self.extra.append(web)
        if role != ANONYMOUS:
            web.login(self.users[role].email)
        return web


@pytest.fixture(scope="module")
def matrix_settings(
    template_database: URL, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    with copied_database(template_database, tmp_path_factory.mktemp("matrix")) as url:
        yield load_settings(
            database_url=url.render_as_string(hide_password=False),
            secret_key="test-secret-key-not-for-production",
            environment="test",
            log_level="WARNING",
            encryption_keys=TEST_ENCRYPTION_KEY,
        )


@pytest.fixture(scope="module")
def world(matrix_settings: Settings) -> Iterator[World]:
    engine = make_engine(matrix_settings.url)
    sessions = make_session_factory(engine)
    cli = command_line_principal("test")
    users: dict[str, User] = {}
    api_tokens: dict[str, str] = {}
    web_token_ids: dict[str, int] = {}
    with sessions() as session, session.begin():
        for role in ROLES:
            districts = () if role == "admin" else ("Oslo",)
            data = service.UserInput(f"{role}@matrix.stemme.no", role, districts, role)
            user = service.create_user(session, cli, data, PASSWORD)
            users[role] = user
            principal = service.principal_of(user)
            api_tokens[role] = service.create_token(session, principal, user, "api")[1]
            web_token_ids[role] = service.create_token(session, principal, user, "web")[0].id
        data = service.UserInput("target@matrix.stemme.no", "operator", ("Oslo",), "Target")
        target = service.create_user(session, cli, data, PASSWORD)
        keyring = Keyring.from_setting(TEST_ENCRYPTION_KEY)
        received = inbox.receive(
            session,
            keyring,
            InboundMessage("webchat", "matrix", "matrix-1", "Hei", utcnow(), "Oslo"),
        )
        conversation = session.get(Conversation, received.conversation_id)
        assert conversation is not None
        failed = outbound.queue_outbound(session, keyring, conversation, "Svar", "reply")
        failed.delivery = "failed"
        failed_id = failed.id
        # canned replies the admin may delete: one language per interface, and a whole key
        versions = [("matrise", "nb"), ("matrise", "en"), ("matrise", "sv"), ("matrise-helt", "nb")]
        session.add_all(
            CannedReply(key=key, lang=lang, title="Matrise", body="Tekst") for key, lang in versions
        )
    engine.dispose()
    with LiveServer(matrix_settings) as server:
        built = World(server, users, target, api_tokens, web_token_ids)
        built.conversation_id, built.message_id = received.conversation_id, received.message_id
        built.out_message_id = failed_id
        for role in ROLES:
            built.clients[role] = built.web_client(role, fresh=True)
        anonymous = WebClient(server.url)
        anonymous.get("/login")
        built.clients[ANONYMOUS] = anonymous
        yield built
        for web in [*built.clients.values(), *built.extra]:
            web.http.close()


# --- calling a route and judging the answer ---------------------------------------------------


def _url(world: World, key: tuple[str, str], expect: Expect, role: str) -> str:
    template = expect.url or key[1]
    owner = role if role != ANONYMOUS else "admin"
    return template.format(
        user_id=world.target.id,
        token_id=world.web_token_ids[owner],
        conversation_id=world.conversation_id,
        message_id=world.message_id,
        out_message_id=world.out_message_id,
    )


def _call_html(world: World, key: tuple[str, str], expect: Expect, role: str) -> httpx.Response:
    web = world.web_client(role, fresh=expect.own_client)
    url = _url(world, key, expect, role)
    if key[0] == "GET":
        return web.get(url)
    if web.csrf is None:
        web.get("/login")
    form = expect.form(world, role) if expect.form else {}
    return web.post(url, form)


def _call_api(world: World, key: tuple[str, str], expect: Expect, role: str) -> httpx.Response:
    headers = api_headers(world.api_tokens[role]) if role != ANONYMOUS else {}
    body = expect.json(world, role) if expect.json else None
    with httpx.Client(base_url=world.server.url, timeout=30) as http:
        return http.request(key[0], _url(world, key, expect, role), headers=headers, json=body)


def _is_problem(response: httpx.Response, status: int) -> bool:
    if response.status_code != status:
        return False
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return False
    body = response.json()
    return (
        all(k in body for k in ("type", "title", "status", "detail")) and body["status"] == status
    )


def _judge(kind: str, expect: Expect, role: str, response: httpx.Response) -> str | None:
    """None when the response is as expected, else what was expected."""
    status = response.status_code
    location = response.headers.get("location", "")
    is_html = response.headers.get("content-type", "").startswith("text/html")
    allowed = expect.allowed is None or role in expect.allowed
    if allowed:
        if kind == "api":
            return None if 200 <= status < 300 else "allowed (2xx)"
        if 200 <= status < 300 or (300 <= status < 400 and not location.startswith("/login?")):
            return None
        return "allowed (2xx or 3xx to a page)"
    if role == ANONYMOUS:
        if kind == "api":
            if _is_problem(response, 401) and response.headers.get("www-authenticate") == "Bearer":
                return None
            return "401 problem+json with WWW-Authenticate: Bearer"
        if status == 303 and location.startswith("/login?next="):
            return None
        return "303 to /login?next=…"
    if kind == "api":
        return None if _is_problem(response, 403) else "403 problem+json"
    return None if status == 403 and is_html else "403 HTML page"


def _describe(response: httpx.Response) -> str:
    where = response.headers.get("location")
    kind = response.headers.get("content-type", "-").split(";")[0]
    return f"{response.status_code} {kind}" + (f" → {where}" if where else "")


# --- the tests -------------------------------------------------------------------------------


def test_every_route_has_an_expectation(world: World) -> None:
    app = world.server.server.config.app
    assert isinstance(app, FastAPI)
    routes = app_routes(app.routes)
    for middleware in app.user_middleware:  # endpoints served in front of the router
        for endpoint in getattr(middleware.cls, "endpoints", ()):
            routes[endpoint] = "html"
    missing = sorted(set(routes) - set(EXPECTATIONS) - set(SIGNED))
    stale = sorted((set(EXPECTATIONS) | set(SIGNED)) - set(routes))
    assert not missing, f"routes without an access expectation in {__name__}: {missing}"
    assert not stale, f"expectations for routes that do not exist: {stale}"
    wrong_kind = [k for k, kind in routes.items() if (k in API) != (kind == "api")]
    assert not wrong_kind, f"listed in the wrong table (HTML vs API): {wrong_kind}"


@pytest.mark.parametrize("role", [*ROLES, ANONYMOUS])
def test_signed_endpoints_refuse_every_role(world: World, role: str) -> None:
    web = world.web_client(role, fresh=False)
    headers = {} if role == ANONYMOUS else api_headers(world.api_tokens[role])
    for (method, path), status in SIGNED.items():
        response = web.request(method, path, headers=headers, json={"object": "page"})
        assert response.status_code == status, (method, path, role, response.text[:200])


@pytest.mark.parametrize("role", [*ROLES, ANONYMOUS])
def test_access_matrix(world: World, role: str) -> None:
    mismatches: list[str] = []
    for key, expect in EXPECTATIONS.items():
        kind = "api" if key in API else "html"
        call = _call_api if kind == "api" else _call_html
        response = call(world, key, expect, role)
        wanted = _judge(kind, expect, role, response)
        if wanted:
            mismatches.append(
                f"  {key[0]:5} {key[1]:40} as {role}: expected {wanted}, got {_describe(response)}"
            )
    assert not mismatches, f"{len(mismatches)} access mismatch(es):\n" + "\n".join(mismatches)


def test_matrix_covers_all_permissions(world: World) -> None:
    """The table exercises every role with at least one allowed and (but admin) one denied route."""
    for role in ROLES:
        allowed = [k for k, e in EXPECTATIONS.items() if e.allowed is None or role in e.allowed]
        denied = [
            k for k, e in EXPECTATIONS.items() if e.allowed is not None and role not in e.allowed
        ]
        assert allowed, role
        assert denied or role == "admin", role
